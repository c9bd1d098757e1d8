package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/adapters/paysim"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
	"github.com/orderflow/orderflow/services/routing"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// collector records what OnMessages hands over.
type collector struct {
	mu   sync.Mutex
	msgs []localbus.Message
	more chan struct{}
}

func newCollector() *collector { return &collector{more: make(chan struct{}, 1)} }

func (c *collector) onMessages(msgs []localbus.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, msgs...)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// wait returns the messages handed over once there are at least n of them.
func (c *collector) wait(t *testing.T, n int) []localbus.Message {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		got := slices.Clone(c.msgs)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.more:
		case <-timeout:
			t.Fatalf("OnMessages handed over %d messages, want %d", len(got), n)
		}
	}
}

func (c *collector) reset() {
	c.mu.Lock()
	c.msgs = nil
	c.mu.Unlock()
}

func router(t testing.TB) func(contracts.Event) []string {
	t.Helper()
	r, err := routing.NewRouter(routing.Table)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return r.Targets
}

func targetsOf(msgs []localbus.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Target)
	}
	slices.Sort(out)
	return out
}

// logCollector records what OnLog hands over.
type logCollector struct {
	mu      sync.Mutex
	entries []localbus.Entry
	more    chan struct{}
}

func newLogCollector() *logCollector { return &logCollector{more: make(chan struct{}, 1)} }

func (c *logCollector) onLog(entries []localbus.Entry) {
	c.mu.Lock()
	c.entries = append(c.entries, entries...)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
}

func (c *logCollector) get() []localbus.Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.entries)
}

// wait returns the entries handed over once there are at least n of them.
func (c *logCollector) wait(t *testing.T, n int) []localbus.Entry {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		if got := c.get(); len(got) >= n {
			return got
		}
		select {
		case <-c.more:
		case <-timeout:
			t.Fatalf("OnLog handed over %d entries, want %d", len(c.get()), n)
		}
	}
}

func TestHandOffGivesWhatEachCommitStored(t *testing.T) {
	t.Parallel()
	c, lc := newCollector(), newLogCollector()
	db := open(t, sqlite.Options{Router: router(t), OnMessages: c.onMessages, OnLog: lc.onLog, Now: func() time.Time { return now }})
	ctx := t.Context()
	o := pipelinetest.NewOrder(t, "cust-1", now)
	if err := db.Create(ctx, o, nil); err != nil {
		t.Fatalf("Create: %v", err)
	}

	// The ingest queue: one message for the dispatcher.
	if err := db.Send(ctx, contracts.OrderMessage{OrderID: o.ID()}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff([]string{routing.Dispatcher}, targetsOf(c.wait(t, 1))); diff != "" {
		t.Errorf("targets after Send (-want +got):\n%s", diff)
	}

	// An update's event: one entry of the log, with the routes of OrderCreated, and no message.
	c.reset()
	var created contracts.Event
	if _, err := db.Update(ctx, o.ID(), func(o *order.Order) ([]contracts.Event, error) {
		if err := o.StartValidation(now); err != nil {
			return nil, err
		}
		var err error
		created, err = pipeline.LocalEnvelope.Event(o, contracts.SourceOrders, contracts.DetailOrderCreated, contracts.OrderCreatedDetail{DetailMeta: pipeline.Meta(o)}, now)
		return []contracts.Event{created}, err
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got := lc.wait(t, 1)
	wantTargets := []string{routing.Metrics, routing.Notifier, routing.Validation}
	if len(got) != 1 {
		t.Fatalf("OnLog handed over %d entries, want 1", len(got))
	}
	if diff := cmp.Diff(wantTargets, slices.Sorted(slices.Values(got[0].Targets))); diff != "" {
		t.Errorf("targets after Update (-want +got):\n%s", diff)
	}
	// What was handed over is exactly what is stored, positions included, with the event itself besides,
	// which is what its body decodes to.
	stored, err := db.Log(ctx, 0, 100)
	if err != nil {
		t.Fatalf("Log: %v", err)
	}
	if diff := cmp.Diff(stored, got, cmpopts.IgnoreFields(localbus.Entry{}, "Event")); diff != "" {
		t.Errorf("handed-over entries differ from the stored ones (-stored +handed over):\n%s", diff)
	}
	var decoded contracts.Event
	if err := json.Unmarshal(got[0].Body, &decoded); err != nil {
		t.Fatalf("decode the handed-over body: %v", err)
	}
	if got[0].Event == nil {
		t.Fatal("the handed-over entry carries no event")
	}
	if diff := cmp.Diff(decoded, *got[0].Event); diff != "" {
		t.Errorf("handed-over event differs from its body (-body +event):\n%s", diff)
	}
	if due, err := db.Due(ctx, now, 100, nil); err != nil || len(due) != 1 {
		t.Errorf("Due = %d messages, %v; want only the dispatcher's: events are not copied to the mailbox", len(due), err)
	}

	// Publishing the same event id again stores nothing, so hands over nothing.
	if err := db.Publish(ctx, created); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := db.Send(ctx, contracts.OrderMessage{OrderID: "marker"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff([]string{routing.Dispatcher}, targetsOf(c.wait(t, 1))); diff != "" {
		t.Errorf("targets after re-publishing (-want +got):\n%s", diff)
	}
	if n := len(lc.get()); n != 1 {
		t.Errorf("OnLog handed over %d entries after re-publishing, want still 1", n)
	}

	// Deferred deliveries are the caller's, not handed over; redriven dead letters are, like new messages.
	c.reset()
	for _, target := range got[0].Targets {
		if _, err := db.Defer(ctx, target, got[0].Seq, 1, now, "boom"); err != nil {
			t.Fatalf("Defer: %v", err)
		}
	}
	due, err := db.Due(ctx, now, 100, nil)
	if err != nil || len(due) != 5 {
		t.Fatalf("Due = %d, %v; want the 2 queue messages and 3 deferred deliveries", len(due), err)
	}
	for _, m := range due[2:] {
		if err := db.Bury(ctx, m, "boom"); err != nil {
			t.Fatalf("Bury: %v", err)
		}
	}
	if n, err := db.Redrive(ctx); err != nil || n != 3 {
		t.Fatalf("Redrive = %d, %v; want 3", n, err)
	}
	if diff := cmp.Diff(wantTargets, targetsOf(c.wait(t, 3))); diff != "" {
		t.Errorf("targets after Redrive (-want +got):\n%s", diff)
	}
}

func TestAckedMessagesAreNotDueEvenBeforeTheDeleteCommits(t *testing.T) {
	t.Parallel()
	db := open(t, sqlite.Options{})
	ctx := t.Context()
	for i := range 50 {
		if err := db.Send(ctx, contracts.OrderMessage{OrderID: string(rune('a' + i))}); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	msgs, err := db.Due(ctx, time.Now(), 100, nil)
	if err != nil || len(msgs) != 50 {
		t.Fatalf("Due = %d, %v; want 50", len(msgs), err)
	}
	for _, m := range msgs[:40] {
		if err := db.Ack(ctx, m.ID); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		// Straight after Ack, whether or not its delete has committed.
		left, err := db.Due(ctx, time.Now(), 100, nil)
		if err != nil {
			t.Fatalf("Due: %v", err)
		}
		for _, l := range left {
			if l.ID == m.ID {
				t.Fatalf("message %d is due again right after its Ack", m.ID)
			}
		}
	}
}

func TestTwoHandlesOnOneFileShareTheData(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	c := newCollector()
	server, err := sqlite.Open(path, sqlite.Options{OnMessages: c.onMessages})
	if err != nil {
		t.Fatalf("Open server: %v", err)
	}
	defer server.Close()
	// The dlq command opens the same file while the server runs.
	tool, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open tool: %v", err)
	}
	defer tool.Close()
	ctx := t.Context()

	if err := server.Send(ctx, contracts.OrderMessage{OrderID: "o1"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := c.wait(t, 1)[0]
	if err := server.Bury(ctx, m, "boom"); err != nil {
		t.Fatalf("Bury: %v", err)
	}
	if n, err := tool.CountDeadLetters(ctx); err != nil || n != 1 {
		t.Fatalf("tool CountDeadLetters = %d, %v; want 1", n, err)
	}

	// Both write at once: the file lock and the busy timeout serialize them without errors.
	var wg sync.WaitGroup
	for i, db := range []*sqlite.DB{server, tool, server, tool} {
		wg.Go(func() {
			for j := range 50 {
				id := string(rune('A'+i)) + string(rune('a'+j%26)) + string(rune('0'+j/26))
				if err := db.MarkSeen(ctx, "test", id); err != nil {
					t.Errorf("MarkSeen: %v", err)
				}
			}
		})
	}
	if n, err := tool.Redrive(ctx); err != nil || n != 1 {
		t.Errorf("tool Redrive = %d, %v; want 1", n, err)
	}
	wg.Wait()
	// The server sees the redriven message when it scans (OnMessages fires only in the writing process).
	due, err := server.Due(ctx, time.Now().Add(time.Minute), 10, nil)
	if err != nil || len(due) != 1 || string(due[0].Body) != string(m.Body) {
		t.Errorf("server Due after the tool's redrive = %+v, %v; want the redriven message", due, err)
	}
	if seen, err := server.Seen(ctx, "test", "Da0"); err != nil || !seen {
		t.Errorf("server Seen(a mark written by the tool) = %v, %v", seen, err)
	}
}

func TestReopenKeepsDataAndSchemaVersion(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "reopen.db")
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := db.PutProduct(t.Context(), inventory.Product{ID: "A", Name: "A", Price: 100, Available: 3}); err != nil {
		t.Fatalf("PutProduct: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db, err = sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if p, err := db.Product(t.Context(), "A"); err != nil || p.Available != 3 {
		t.Errorf("Product after reopen = %+v, %v", p, err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var version int
	if err := raw.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version < 1 {
		t.Fatalf("user_version = %d, %v; want the schema version", version, err)
	}
	if _, err := raw.Exec("PRAGMA user_version = 9999"); err != nil {
		t.Fatal(err)
	}
	if db, err := sqlite.Open(path, sqlite.Options{}); err == nil {
		db.Close()
		t.Errorf("Open of a file from a newer build = nil error, want a refusal")
	}
}

func TestClosedDBRefusesWork(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "closed.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	err = db.MarkSeen(context.Background(), "c", "e")
	if !errors.Is(err, sqlite.ErrClosed) || !fault.Is(err, fault.Unavailable) {
		t.Errorf("MarkSeen after Close = %v, want ErrClosed", err)
	}
}

func TestOpenRefusesAPathWithQueryCharacters(t *testing.T) {
	t.Parallel()
	_, err := sqlite.Open(filepath.Join(t.TempDir(), "x.db?mode=memory"), sqlite.Options{})
	if !fault.Is(err, fault.Invalid) {
		t.Errorf("Open error = %v, want kind invalid", err)
	}
}

func TestAPanickingWriteFailsAloneAndTheWriterSurvives(t *testing.T) {
	t.Parallel()
	db := open(t, sqlite.Options{})
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			err := db.Apply(ctx, "order-1", func(r *paysim.Record) error {
				if i%2 == 0 {
					panic("simulated bug")
				}
				r.Attempts++
				return nil
			})
			if (i%2 == 0) != (err != nil) {
				t.Errorf("Apply #%d error = %v", i, err)
			}
		})
	}
	wg.Wait()
	var got paysim.Record
	if err := db.Apply(ctx, "order-1", func(r *paysim.Record) error { got = *r; return nil }); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got.Attempts != 10 {
		t.Errorf("attempts = %d, want 10: only the panicking writes may fail", got.Attempts)
	}
}

func TestGetReturnsTheCreatedSnapshotAtVersionOne(t *testing.T) {
	t.Parallel()
	db := open(t, sqlite.Options{})
	o := pipelinetest.NewOrder(t, "cust-1", now)
	if err := db.Create(t.Context(), o, nil); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, err := db.Get(t.Context(), o.ID())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := o.Snapshot()
	want.Version = 1
	if diff := cmp.Diff(want, got.Snapshot()); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
}

// An event whose detail is not JSON is refused, and the log stays as it was: its deliveries could only
// be dead-lettered. An event without a detail is stored, with a null one.
func TestPublishRefusesADetailThatIsNotJSON(t *testing.T) {
	t.Parallel()
	db := open(t, sqlite.Options{Router: router(t)})
	ctx := t.Context()
	event := func(id, detail string) contracts.Event {
		return contracts.Event{Version: "0", ID: id, DetailType: contracts.DetailOrderCreated, Source: contracts.SourceOrders,
			Resources: []string{"o1"}, Detail: json.RawMessage(detail)}
	}
	for _, detail := range []string{`{"orderId":01}`, `{"orderId":"o1"`, `{"orderId":"o1"}x`} {
		if err := db.Publish(ctx, event("e1", detail)); err == nil {
			t.Errorf("Publish with detail %s: no error", detail)
		}
	}
	if entries, err := db.Log(ctx, 0, 10); err != nil || len(entries) != 0 {
		t.Errorf("Log = %d entries, %v; want none", len(entries), err)
	}
	none := event("e2", "")
	none.Detail = nil
	if err := db.Publish(ctx, none); err != nil {
		t.Fatalf("Publish without a detail: %v", err)
	}
	if entries, err := db.Log(ctx, 0, 10); err != nil || len(entries) != 1 || !strings.Contains(string(entries[0].Body), `"detail":null`) {
		t.Errorf("Log = %v, %v; want the event with a null detail", entries, err)
	}
}

// The event handed over with its commit is the event as published, whatever its publisher does next with
// the bytes it published: the handlers read it later, on other goroutines.
func TestTheHandedOverEventIsTheOnePublished(t *testing.T) {
	t.Parallel()
	lc := newLogCollector()
	db := open(t, sqlite.Options{Router: router(t), OnLog: lc.onLog})
	e := contracts.Event{Version: "0", ID: "e1", DetailType: contracts.DetailOrderCreated, Source: contracts.SourceOrders,
		Resources: []string{"o1"}, Detail: json.RawMessage(`{"orderId":"o1"}`)}
	want := e
	want.Detail, want.Resources = slices.Clone(e.Detail), slices.Clone(e.Resources)
	if err := db.Publish(t.Context(), e); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	copy(e.Detail, `{"orderId":"XX"}`)
	e.Resources[0] = "changed"
	got := lc.wait(t, 1)
	if got[0].Event == nil {
		t.Fatal("the handed-over entry carries no event")
	}
	if diff := cmp.Diff(want, *got[0].Event); diff != "" {
		t.Errorf("handed-over event (-published +handed over):\n%s", diff)
	}
}
