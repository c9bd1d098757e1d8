package localbus_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/fault"
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
