package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/paysim"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
)

// TestMigrationGivesOldOrdersUniqueReferences opens a data file written before order references existed
// (schema version 3) and checks that every order it holds comes out with its own reference, also when
// the backfill draws a reference that is already taken.
func TestMigrationGivesOldOrdersUniqueReferences(t *testing.T) {
	// Not parallel: it replaces the backfill's generator.
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open(driver(), path)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations[:3] {
		if _, err := raw.Exec(m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	if _, err := raw.Exec("PRAGMA user_version = 3"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var old []*order.Order
	for _, customer := range []string{"cust-1", "cust-1", "cust-2"} {
		o := pipelinetest.NewOrder(t, customer, at)
		s := o.Snapshot()
		s.Reference = "" // as a build before references wrote it
		s.Version = 1
		snap, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`INSERT INTO orders (id, customer_id, status, created_at, version, snapshot) VALUES (?, ?, ?, ?, ?, ?)`,
			s.ID, s.CustomerID, string(s.Status), s.CreatedAt.UnixNano(), s.Version, string(snap)); err != nil {
			t.Fatal(err)
		}
		old = append(old, o)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	// The second order draws the first one's reference before getting its own.
	draws := []string{"AAAA-0001", "AAAA-0001", "AAAA-0002", "AAAA-0003"}
	t.Cleanup(func() { newReference = order.NewReference })
	newReference = func() string {
		r := draws[0]
		draws = draws[1:]
		return r
	}

	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open of a version 3 file: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	seen := map[string]string{}
	for _, o := range old {
		got, err := db.Get(t.Context(), o.ID())
		if err != nil {
			t.Fatalf("Get(%s): %v", o.ID(), err)
		}
		ref := got.Reference()
		if canonical, err := order.ParseReference(ref); err != nil || canonical != ref {
			t.Errorf("order %s has reference %q after the migration, want a canonical reference", o.ID(), ref)
		}
		if other, ok := seen[ref]; ok {
			t.Errorf("orders %s and %s share reference %s", other, o.ID(), ref)
		}
		seen[ref] = o.ID()
		byRef, err := db.GetByReference(t.Context(), o.CustomerID(), ref)
		if err != nil || byRef.ID() != o.ID() {
			t.Errorf("GetByReference(%s, %s) = %v, %v; want order %s", o.CustomerID(), ref, byRef, err, o.ID())
		}
	}
	if len(draws) != 0 {
		t.Errorf("%d references left undrawn: %v", len(draws), draws)
	}
	// The unique index holds for orders created after the migration.
	dup, err := order.New(order.Draft{
		ID: "0198aaaa-0000-7000-8000-000000000001", Reference: "aaaa0001", CustomerID: "cust-3",
		Items: []order.Item{{ProductID: "P", Name: "P", Quantity: 1, Price: 100}}, Total: 100,
	}, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Create(t.Context(), dup, nil); !errors.Is(err, ingest.ErrReferenceTaken) {
		t.Errorf("Create with a backfilled reference = %v, want ErrReferenceTaken", err)
	}
	var version int
	if err := db.read.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(migrations) {
		t.Errorf("user_version = %d, %v; want %d", version, err, len(migrations))
	}
}

// TestMigrationKeepsWaitingMessagesAndStartsCursorsAtTheEndOfTheLog opens a data file written when every
// event got one message per target (schema version 6) and checks that the messages still waiting are
// still due, with their events' bodies, and that the targets' cursors start after those events, so that
// they are not delivered a second time from the log.
func TestMigrationKeepsWaitingMessagesAndStartsCursorsAtTheEndOfTheLog(t *testing.T) {
	t.Parallel()
	db := openAfterMigration(t, 6, Options{Router: func(contracts.Event) []string { return []string{"validation"} }},
		`INSERT INTO events (seq, id, order_id, detail_type, body) VALUES
			(1, 'e1', 'o1', 'OrderCreated', '{"id":"e1"}'), (2, 'e2', 'o1', 'OrderValidated', '{"id":"e2"}')`,
		// e1 was delivered to validation (its message acked), e2 is still waiting for inventory.
		`INSERT INTO messages (target, body, event_seq, attempts, next_at, last_error, created_at) VALUES
			('inventory-reserve', '', 2, 0, 0, '', 0)`,
	)
	ctx := t.Context()
	due, err := db.Due(ctx, time.Now(), 10, nil)
	if err != nil || len(due) != 1 || due[0].Target != "inventory-reserve" || string(due[0].Body) != `{"id":"e2"}` {
		t.Fatalf("Due after the migration = %+v, %v; want e2's waiting message", due, err)
	}
	cursors, err := db.Cursors(ctx, []string{"validation", "inventory-reserve"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"validation": 2, "inventory-reserve": 2}, cursors); diff != "" {
		t.Errorf("cursors after the migration (-want +got):\n%s", diff)
	}
	if entries, err := db.Log(ctx, cursors["validation"], 10); err != nil || len(entries) != 0 {
		t.Errorf("Log after the cursors = %+v, %v; want nothing", entries, err)
	}
}

func TestMigrationKeepsTheTextsOfEachOrder(t *testing.T) {
	t.Parallel()
	db := openAfterMigration(t, 7, Options{},
		`INSERT INTO texts (id, order_id, recipient, body, sent_at) VALUES
			('e2', 'o1', '+31629408162', 'completed', 20), ('e1', 'o1', '+31629408162', 'created', 10),
			('e3', 'o2', '', 'failed', 15)`,
	)
	ctx := t.Context()
	got, err := db.Texts(ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	want := []contracts.Text{
		{ID: "e1", OrderID: "o1", To: "+31629408162", Text: "created", SentAt: time.Unix(0, 10).UTC()},
		{ID: "e2", OrderID: "o1", To: "+31629408162", Text: "completed", SentAt: time.Unix(0, 20).UTC()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("texts of o1 after the migration (-want +got):\n%s", diff)
	}
	if ok, err := db.TextRecorded(ctx, "o2", "e3"); err != nil || !ok {
		t.Errorf("TextRecorded(o2, e3) = %v, %v; want true", ok, err)
	}
}

func TestMigrationKeepsReservationsAndPaymentsInTreesOfTheirOwn(t *testing.T) {
	t.Parallel()
	db := openAfterMigration(t, 8, Options{},
		`INSERT INTO reservations (order_id, state, lines) VALUES
			('o1', 'RESERVED', '[{"productId":"A","quantity":2}]'), ('o2', 'RELEASED', '[]')`,
		`INSERT INTO payments (order_id, state, authorization_id, amount, currency, attempts, decline_code) VALUES
			('o1', 'AUTHORIZED', 'auth-1', 2598, 'EUR', 1, '')`,
	)
	ctx := t.Context()

	lines, released, err := db.Release(ctx, "o1")
	if err != nil || !released || len(lines) != 1 || lines[0].ProductID != "A" || lines[0].Quantity != 2 {
		t.Errorf("Release(o1) = %+v, %v, %v; want the reservation of 2 A, released now", lines, released, err)
	}
	if _, released, err := db.Release(ctx, "o2"); err != nil || released {
		t.Errorf("Release(o2) = %v, %v; want it released before the migration", released, err)
	}
	var got paysim.Record
	if err := db.Apply(ctx, "o1", func(r *paysim.Record) error { got = *r; return nil }); err != nil {
		t.Fatal(err)
	}
	want := paysim.Record{OrderID: "o1", State: "AUTHORIZED", AuthorizationID: "auth-1", Amount: 2598, Currency: "EUR", Attempts: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payment of o1 after the migration (-want +got):\n%s", diff)
	}

	for _, table := range []string{"reservations", "payments"} {
		var ddl string
		if err := db.read.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = ?`, table).Scan(&ddl); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ddl, "WITHOUT ROWID") {
			t.Errorf("%s is not a WITHOUT ROWID table: %s", table, ddl)
		}
	}
	if err := db.write(ctx, func(w *writer) error {
		_, err := w.execQuery(`INSERT INTO reservations (order_id, state, lines) VALUES ('o3', 'LOST', '[]')`)
		return err
	}); err == nil {
		t.Errorf("a reservation in state LOST was stored: the check on its state is gone")
	}
}

// openAfterMigration makes a file with the schema of the given version holding what stmts insert, as a
// build of that version left it, and opens it with this build, which migrates it; closed when the test
// ends.
func openAfterMigration(t *testing.T, version int, opts Options, stmts ...string) *DB {
	t.Helper()
	path, raw := fileAtVersion(t, version)
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open of a version %d file: %v", version, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fileAtVersion makes a database file with the schema of the given version, as a build of that version
// left it, and returns its path and a raw connection to it (to be closed before Open).
func fileAtVersion(t *testing.T, version int) (string, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open(driver(), path)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations[:version] {
		if _, err := raw.Exec(m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		t.Fatal(err)
	}
	return path, raw
}
