package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/ingest/ingesttest"
	"github.com/orderflow/orderflow/services/order"
)

func TestIngestExpiryContract(t *testing.T) {
	t.Parallel()
	ingesttest.RunExpiry(t, func(t *testing.T, now func() time.Time) ingesttest.Store {
		return open(t, sqlite.Options{IdempotencyRetention: ingesttest.Retention, Now: now, PruneInterval: -1})
	})
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.at }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

// rows counts the rows of a table through a connection of its own.
func rows(t *testing.T, path, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fill stores n orders, each with an idempotency key, and marks n events handled, at the clock's time.
func fill(t *testing.T, db *sqlite.DB, c *clock, prefix string, n int) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%02d", prefix, i)
		o, err := order.New(order.Draft{ID: id, CustomerID: "c1", Items: []order.Item{{ProductID: "P", Name: "p", Quantity: 1, Price: 100}}, Total: 100, Currency: "EUR"}, c.now())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Create(ctx, o, &ingest.IdempotencyRecord{Key: "key-" + id, RequestHash: "h", OrderID: id, CreatedAt: c.now()}); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkSeen(ctx, "notifier", "event-"+id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestPruneForgetsOnlyWhatExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{at: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "orderflow.db")
	db, err := sqlite.Open(path, sqlite.Options{Now: c.now, IdempotencyRetention: time.Hour, ProcessedRetention: 2 * time.Hour, PruneInterval: -1, PruneBatch: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := fill(t, db, c, "old", 10)
	c.advance(90 * time.Minute)
	young := fill(t, db, c, "young", 4)

	// 90 minutes on: the old keys (1 h) expired, the records of handled events (2 h) did not.
	n, err := db.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != (sqlite.Pruned{Idempotency: 10}) {
		t.Errorf("pruned %+v, want the 10 old idempotency records, in batches of 3", n)
	}
	if got := rows(t, path, "idempotency"); got != 4 {
		t.Errorf("%d idempotency records left, want the 4 young ones", got)
	}
	if _, err := db.Idempotency(ctx, "key-"+young[0]); err != nil {
		t.Errorf("a young key is gone: %v", err)
	}
	if seen, err := db.Seen(ctx, "notifier", "event-"+old[0]); err != nil || !seen {
		t.Errorf("an old event that is still within its retention: seen %v, %v", seen, err)
	}
	c.advance(time.Hour) // 150 minutes after the old ones, 60 after the young ones
	if seen, _ := db.Seen(ctx, "notifier", "event-"+old[0]); seen {
		t.Error("an expired record of a handled event still counts before it is pruned")
	}
	if n, err = db.Prune(ctx); err != nil || n != (sqlite.Pruned{Idempotency: 4, Processed: 10}) {
		t.Errorf("second prune %+v, %v; want the young keys and the old events", n, err)
	}
	if got := rows(t, path, "processed"); got != 4 {
		t.Errorf("%d records of handled events left, want 4", got)
	}
	// The orders are kept, whatever their age, with their events.
	for _, id := range append(old, young...) {
		if _, err := db.Get(ctx, id); err != nil {
			t.Errorf("order %s: %v", id, err)
		}
	}
	// A key is free again once expired, and marking an expired event handled again renews it.
	if err := db.MarkSeen(ctx, "notifier", "event-"+old[0]); err != nil {
		t.Fatal(err)
	}
	if seen, _ := db.Seen(ctx, "notifier", "event-"+old[0]); !seen {
		t.Error("an event marked again after its record expired is not seen")
	}
}

func TestThePrunerRunsInTheBackground(t *testing.T) {
	t.Parallel()
	c := &clock{at: time.Now()}
	path := filepath.Join(t.TempDir(), "orderflow.db")
	db, err := sqlite.Open(path, sqlite.Options{Now: c.now, IdempotencyRetention: time.Minute, ProcessedRetention: time.Minute, PruneInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db, c, "o", 5)
	c.advance(time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for rows(t, path, "idempotency") > 0 || rows(t, path, "processed") > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the background pruner did not delete the expired rows within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close with the pruner running: %v", err)
	}
}
