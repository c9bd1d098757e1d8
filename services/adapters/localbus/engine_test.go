package localbus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/pipeline"
)

// harness runs an engine over a real embedded database in a temp dir.
type harness struct {
	db     *sqlite.DB
	engine *localbus.Engine
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, opts localbus.Options, handlers map[string]localbus.MessageHandler) *harness {
	t.Helper()
	var ref atomic.Pointer[localbus.Engine]
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"), sqlite.Options{
		OnMessages: func(m []localbus.Message) {
			if e := ref.Load(); e != nil {
				e.Offer(m)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := localbus.NewEngine(db, opts)
	for target, h := range handlers {
		e.Handle(target, h)
	}
	ref.Store(e)
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{db: db, engine: e, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- e.Run(ctx) }()
	t.Cleanup(func() {
		h.stop()
		db.Close()
	})
	return h
}

func (h *harness) stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
		h.cancel = nil
	}
}

func send(t *testing.T, db *sqlite.DB, id string) {
	t.Helper()
	if err := db.Send(context.Background(), contracts.OrderMessage{OrderID: id}); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeliversEveryMessageOnce(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string]int{}
	h := newHarness(t, localbus.Options{}, map[string]localbus.MessageHandler{
		"dispatcher": localbus.QueueHandler(func(_ context.Context, m contracts.OrderMessage) error {
			mu.Lock()
			got[m.OrderID]++
			mu.Unlock()
			return nil
		}),
	})
	for i := range 200 {
		send(t, h.db, string(rune('a'+i%26))+time.Now().String()+string(rune(i)))
	}
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 200 }, "200 deliveries")
	h.stop()
	for id, n := range got {
		if n != 1 {
			t.Errorf("%q delivered %d times", id, n)
		}
	}
}

func TestRetriesWithBackoffThenSucceeds(t *testing.T) {
	t.Parallel()
	var attempts atomic.Int32
	var times []time.Time
	var mu sync.Mutex
	h := newHarness(t, localbus.Options{BaseBackoff: 20 * time.Millisecond}, map[string]localbus.MessageHandler{
		"dispatcher": func(context.Context, localbus.Message) error {
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
			if attempts.Add(1) <= 2 {
				return fault.Unavailablef("try later")
			}
			return nil
		},
	})
	send(t, h.db, "o1")
	eventually(t, func() bool { return attempts.Load() == 3 }, "three attempts")
	time.Sleep(50 * time.Millisecond)
	if n := attempts.Load(); n != 3 {
		t.Errorf("attempts = %d, want 3 (no delivery after success)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := times[2].Sub(times[1]); gap < 10*time.Millisecond {
		t.Errorf("second retry after %s: want exponential backoff (≥ half of 40ms)", gap)
	}
	if n, _ := h.db.CountDeadLetters(context.Background()); n != 0 {
		t.Errorf("dead letters = %d, want 0", n)
	}
}

func TestDeadLettersAfterMaxAttemptsAndRedrives(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	fail.Store(true)
	var delivered atomic.Int32
	h := newHarness(t, localbus.Options{MaxAttempts: 3, BaseBackoff: time.Millisecond, PollInterval: 20 * time.Millisecond}, map[string]localbus.MessageHandler{
		"dispatcher": func(context.Context, localbus.Message) error {
			if fail.Load() {
				return errors.New("downstream is broken")
			}
			delivered.Add(1)
			return nil
		},
	})
	send(t, h.db, "o1")
	ctx := context.Background()
	eventually(t, func() bool { n, _ := h.db.CountDeadLetters(ctx); return n == 1 }, "a dead letter")
	dl, err := h.db.DeadLetters(ctx, 10)
	if err != nil || len(dl) != 1 || dl[0].Attempts != 3 || dl[0].Error != "downstream is broken" || dl[0].Target != "dispatcher" {
		t.Fatalf("dead letters = %+v, %v; want one after 3 attempts with its error", dl, err)
	}
	fail.Store(false)
	if n, err := h.db.Redrive(ctx); err != nil || n != 1 {
		t.Fatalf("redrive = %d, %v", n, err)
	}
	eventually(t, func() bool { return delivered.Load() == 1 }, "the redriven message delivered")
}

func TestInvalidMessagesAndPanicsAreDeadLetteredNotRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	h := newHarness(t, localbus.Options{MaxAttempts: 5, BaseBackoff: time.Millisecond}, map[string]localbus.MessageHandler{
		"dispatcher": func(context.Context, localbus.Message) error {
			calls.Add(1)
			return fault.Invalidf("this message can never succeed")
		},
	})
	send(t, h.db, "o1")
	ctx := context.Background()
	eventually(t, func() bool { n, _ := h.db.CountDeadLetters(ctx); return n == 1 }, "a dead letter")
	if n := calls.Load(); n != 1 {
		t.Errorf("invalid message attempted %d times, want 1", n)
	}

	var panics atomic.Int32
	p := newHarness(t, localbus.Options{MaxAttempts: 2, BaseBackoff: time.Millisecond}, map[string]localbus.MessageHandler{
		"dispatcher": func(context.Context, localbus.Message) error {
			panics.Add(1)
			panic("boom")
		},
	})
	send(t, p.db, "o2")
	eventually(t, func() bool { n, _ := p.db.CountDeadLetters(ctx); return n == 1 }, "the panicking message dead-lettered")
	if n := panics.Load(); n != 2 {
		t.Errorf("panicking handler called %d times, want 2 (a panic is retried like an error)", n)
	}
}

func TestUndeliveredMessagesSurviveARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "test.db")
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	send(t, db, "o1")
	send(t, db, "o2")
	db.Close()

	var got sync.Map
	db, err = sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := localbus.NewEngine(db, localbus.Options{})
	e.Handle("dispatcher", localbus.QueueHandler(func(_ context.Context, m contracts.OrderMessage) error {
		got.Store(m.OrderID, true)
		return nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	eventually(t, func() bool {
		_, a := got.Load("o1")
		_, b := got.Load("o2")
		return a && b
	}, "both messages delivered after restart")
	cancel()
	<-done
}

// buryFailsOnce is the real mailbox, except that its first Bury fails.
type buryFailsOnce struct {
	*sqlite.DB
	failed atomic.Bool
}

func (b *buryFailsOnce) Bury(ctx context.Context, m localbus.Message, lastError string) error {
	if b.failed.CompareAndSwap(false, true) {
		return errors.New("disk full")
	}
	return b.DB.Bury(ctx, m, lastError)
}

func TestAFailedBuryIsTriedAgainNotStranded(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mb := &buryFailsOnce{DB: db}
	e := localbus.NewEngine(mb, localbus.Options{PollInterval: 10 * time.Millisecond})
	e.Handle("dispatcher", func(context.Context, localbus.Message) error { return fault.Invalidf("never succeeds") })
	send(t, db, "o1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, func() bool { n, _ := db.CountDeadLetters(ctx); return n == 1 }, "the message dead-lettered after the failed bury")
	if !mb.failed.Load() {
		t.Fatal("the first bury never failed: the test proves nothing")
	}
}

// route sends events of type "Fanout" to targets a and b, and every other event to a.
func route(e contracts.Event) []string {
	if e.DetailType == "Fanout" {
		return []string{"a", "b"}
	}
	return []string{"a"}
}

func testEvent(id, detailType string) contracts.Event {
	return contracts.Event{Version: "0", ID: id, DetailType: detailType, Source: contracts.SourceOrders,
		Account: "000000000000", Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Region: "local",
		Resources: []string{"order-" + id}, Detail: []byte(`{"orderId":"order-` + id + `"}`)}
}

// logRun is an engine reading the log of the database at path, with the hand-off wired when handOff is
// set; wrap, when set, stands between the engine and the database.
type logRun struct {
	db     *sqlite.DB
	cancel context.CancelFunc
	done   chan error
}

func startLog(t *testing.T, path string, handOff bool, opts localbus.Options, wrap func(*sqlite.DB) localbus.Mailbox, handlers map[string]localbus.MessageHandler) *logRun {
	t.Helper()
	var ref atomic.Pointer[localbus.Engine]
	dbOpts := sqlite.Options{Router: route}
	if handOff {
		dbOpts.OnMessages = func(m []localbus.Message) {
			if e := ref.Load(); e != nil {
				e.Offer(m)
			}
		}
		dbOpts.OnLog = func(entries []localbus.Entry) {
			if e := ref.Load(); e != nil {
				e.OfferLog(entries)
			}
		}
	}
	db, err := sqlite.Open(path, dbOpts)
	if err != nil {
		t.Fatal(err)
	}
	var mb localbus.Mailbox = db
	if wrap != nil {
		mb = wrap(db)
	}
	e := localbus.NewEngine(mb, opts)
	for target, h := range handlers {
		e.Subscribe(target, h)
	}
	ref.Store(e)
	ctx, cancel := context.WithCancel(context.Background())
	r := &logRun{db: db, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- e.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// stop stops the engine and closes the database (which stores the cursors advanced so far).
func (r *logRun) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
		r.db.Close()
	}
}

func (r *logRun) publish(t *testing.T, events ...contracts.Event) {
	t.Helper()
	if err := r.db.Publish(context.Background(), events...); err != nil {
		t.Fatal(err)
	}
}

// counter counts the events a handler got, by id.
type counter struct {
	mu  sync.Mutex
	got map[string]int
}

func newCounter() *counter { return &counter{got: map[string]int{}} }

func (c *counter) handler() localbus.MessageHandler {
	return func(_ context.Context, m localbus.Message) error {
		var e contracts.Event
		if err := json.Unmarshal(m.Body, &e); err != nil {
			return err
		}
		c.mu.Lock()
		c.got[e.ID]++
		c.mu.Unlock()
		return nil
	}
}

func (c *counter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.got)
}

func ones(ids ...string) map[string]int {
	out := map[string]int{}
	for _, id := range ids {
		out[id] = 1
	}
	return out
}

func TestEveryEventReachesEveryTargetOnceAndTheCursorsFollow(t *testing.T) {
	t.Parallel()
	for _, handOff := range []bool{true, false} {
		t.Run(fmt.Sprintf("hand-off %v", handOff), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "test.db")
			a, b := newCounter(), newCounter()
			r := startLog(t, path, handOff, localbus.Options{PollInterval: 20 * time.Millisecond}, nil,
				map[string]localbus.MessageHandler{"a": a.handler(), "b": b.handler()})
			var all, fanout []string
			for i := range 300 {
				id := fmt.Sprintf("e%03d", i)
				kind := "Plain"
				if i%3 == 0 {
					kind = "Fanout"
					fanout = append(fanout, id)
				}
				all = append(all, id)
				r.publish(t, testEvent(id, kind))
			}
			eventually(t, func() bool { return len(a.counts()) == len(all) && len(b.counts()) == len(fanout) }, "every delivery")
			r.stop()
			if diff := cmp.Diff(ones(all...), a.counts()); diff != "" {
				t.Errorf("deliveries to a (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(ones(fanout...), b.counts()); diff != "" {
				t.Errorf("deliveries to b (-want +got):\n%s", diff)
			}
			// Both cursors reached the end of the log, b's past the events that were not for it.
			db, err := sqlite.Open(path, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			entries, err := db.Log(context.Background(), 0, 1000)
			if err != nil || len(entries) != len(all) {
				t.Fatalf("Log = %d, %v", len(entries), err)
			}
			end := entries[len(entries)-1].Seq
			cursors, err := db.Cursors(context.Background(), []string{"a", "b"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]int64{"a": end, "b": end}, cursors); diff != "" {
				t.Errorf("cursors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestARestartResumesFromTheCursor(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "test.db")
	first := newCounter()
	r := startLog(t, path, true, localbus.Options{}, nil, map[string]localbus.MessageHandler{"a": first.handler()})
	r.publish(t, testEvent("e1", "Plain"), testEvent("e2", "Plain"))
	eventually(t, func() bool { return len(first.counts()) == 2 }, "the first two events")
	r.stop()

	// Published while no engine runs: only the log has them.
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Publish(context.Background(), testEvent("e3", "Plain"), testEvent("e4", "Plain")); err != nil {
		t.Fatal(err)
	}
	db.Close()

	second := newCounter()
	r = startLog(t, path, true, localbus.Options{}, nil, map[string]localbus.MessageHandler{"a": second.handler()})
	eventually(t, func() bool { return len(second.counts()) == 2 }, "the events after the cursor")
	r.publish(t, testEvent("e5", "Plain"))
	eventually(t, func() bool { return len(second.counts()) == 3 }, "a fresh event")
	r.stop()
	if diff := cmp.Diff(ones("e3", "e4", "e5"), second.counts()); diff != "" {
		t.Errorf("deliveries after the restart (-want +got):\n%s", diff)
	}
}

func TestAFailedDeliveryGoesToRetryWithoutHoldingBackLaterEvents(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "test.db")
	ok := newCounter()
	var failures atomic.Int32
	var mu sync.Mutex
	var after []string // what a got after e1 first failed
	r := startLog(t, path, true, localbus.Options{BaseBackoff: 200 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, nil,
		map[string]localbus.MessageHandler{"a": func(ctx context.Context, m localbus.Message) error {
			var e contracts.Event
			if err := json.Unmarshal(m.Body, &e); err != nil {
				return err
			}
			if e.ID == "e1" && failures.Add(1) <= 2 {
				return fault.Unavailablef("downstream is down")
			}
			if failures.Load() > 0 {
				mu.Lock()
				after = append(after, e.ID)
				mu.Unlock()
			}
			return ok.handler()(ctx, m)
		}})
	r.publish(t, testEvent("e1", "Plain"))
	eventually(t, func() bool { return failures.Load() >= 1 }, "the first failure")
	r.publish(t, testEvent("e2", "Plain"), testEvent("e3", "Plain"))
	eventually(t, func() bool { c := ok.counts(); return c["e2"] == 1 && c["e3"] == 1 }, "the later events")
	if c := ok.counts(); c["e1"] != 0 {
		t.Fatalf("e1 succeeded before the later events: the test proves nothing (%v)", c)
	}
	// The failure waits in the mailbox with its attempt and error.
	due, err := r.db.Due(context.Background(), time.Now().Add(time.Hour), 10, nil)
	if err != nil || len(due) != 1 || due[0].Target != "a" || due[0].Attempts < 1 || due[0].LastError != "downstream is down" {
		t.Fatalf("Due = %+v, %v; want e1's retry for a", due, err)
	}
	eventually(t, func() bool { return ok.counts()["e1"] == 1 }, "e1 delivered on its third attempt")
	eventually(t, func() bool {
		due, _ := r.db.Due(context.Background(), time.Now().Add(time.Hour), 10, nil)
		return len(due) == 0
	}, "the retry acknowledged")
	r.stop()
	if n := failures.Load(); n != 3 {
		t.Errorf("e1 attempted %d times, want 3", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(after, "e2") || after[len(after)-1] != "e1" {
		t.Errorf("deliveries after e1 failed = %v, want e2 and e3 first, then e1", after)
	}
}

func TestAnEventThatCannotSucceedIsDeadLetteredFromTheLog(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "test.db")
	r := startLog(t, path, true, localbus.Options{}, nil, map[string]localbus.MessageHandler{
		"a": func(context.Context, localbus.Message) error { return fault.Invalidf("never valid") },
		"b": func(context.Context, localbus.Message) error { return nil },
	})
	r.publish(t, testEvent("e1", "Fanout"))
	ctx := context.Background()
	eventually(t, func() bool { n, _ := r.db.CountDeadLetters(ctx); return n == 1 }, "a dead letter")
	dl, err := r.db.DeadLetters(ctx, 10)
	if err != nil || len(dl) != 1 || dl[0].Target != "a" || dl[0].Attempts != 1 || dl[0].Error != "never valid" {
		t.Fatalf("dead letters = %+v, %v; want e1 for a after one attempt", dl, err)
	}
	var e contracts.Event
	if err := json.Unmarshal(dl[0].Body, &e); err != nil || e.ID != "e1" {
		t.Errorf("dead letter body = %s, want the event e1", dl[0].Body)
	}
}

// noAdvance is the real mailbox, except that cursor moves are lost, as in a crash before they are stored.
type noAdvance struct{ *sqlite.DB }

func (noAdvance) Advance(context.Context, ...localbus.Cursor) error { return nil }

func TestACrashBeforeTheCursorIsStoredRedelivers(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "test.db")
	first := newCounter()
	r := startLog(t, path, true, localbus.Options{}, func(db *sqlite.DB) localbus.Mailbox { return noAdvance{db} },
		map[string]localbus.MessageHandler{"a": first.handler()})
	r.publish(t, testEvent("e1", "Plain"), testEvent("e2", "Plain"))
	eventually(t, func() bool { return len(first.counts()) == 2 }, "both events handled")
	r.stop()

	second := newCounter()
	r = startLog(t, path, true, localbus.Options{}, nil, map[string]localbus.MessageHandler{"a": second.handler()})
	eventually(t, func() bool { return len(second.counts()) == 2 }, "both events delivered again")
	r.stop()
	if diff := cmp.Diff(ones("e1", "e2"), second.counts()); diff != "" {
		t.Errorf("deliveries after the crash (-want +got):\n%s", diff)
	}
}

// An event handed over in process with its commit reaches every target as the event itself: its body is
// not decoded again (here it could not be), the deliveries to its targets get the same event, and they
// are marked as first deliveries. An event read back from the log is decoded, and not so marked.
func TestAnEventHandedOverInProcessIsNotDecodedAgain(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := localbus.NewEngine(db, localbus.Options{PollInterval: 20 * time.Millisecond})
	type delivered struct {
		event contracts.Event
		first bool
	}
	var mu sync.Mutex
	got := map[string]delivered{}
	for _, target := range []string{"a", "b"} {
		e.Subscribe(target, localbus.EventHandler(func(ctx context.Context, ev contracts.Event) error {
			mu.Lock()
			got[target+" "+ev.ID] = delivered{ev, pipeline.FirstDelivery(ctx)}
			mu.Unlock()
			return nil
		}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	handed, read := testEvent("e1", "Fanout"), testEvent("e2", "Plain")
	body, err := json.Marshal(read)
	if err != nil {
		t.Fatal(err)
	}
	e.OfferLog([]localbus.Entry{
		{Seq: 1, Body: []byte("not the event's JSON"), Targets: []string{"a", "b"}, Event: &handed},
		{Seq: 2, Body: body, Targets: []string{"a", "b"}}, // as the log returns it
	})
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 4 }, "every delivery")
	want := map[string]delivered{"a e1": {handed, true}, "b e1": {handed, true}, "a e2": {read, false}, "b e2": {read, false}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(delivered{})); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if n, err := db.CountDeadLetters(ctx); err != nil || n != 0 {
		t.Errorf("dead letters = %d, %v; want none", n, err)
	}
}
