package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
)

func newReconciler(store *memStore, queue *memQueue, batch int) *ingest.Reconciler {
	return ingest.NewReconciler(store, queue, reconcilerConfig(batch))
}

func reconcilerConfig(batch int) ingest.ReconcilerConfig {
	return ingest.ReconcilerConfig{
		Grace: time.Minute, Batch: batch, Interval: time.Millisecond,
		Now:    func() time.Time { return t0 },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func TestReconcilerRunOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		batch    int
		fail     string
		wantSent []string
		wantErr  bool
	}{
		{name: "queues stale pending orders oldest first", batch: 10, wantSent: []string{"old", "older-than-grace"}},
		{name: "queues at most a batch", batch: 1, wantSent: []string{"old"}},
		{name: "a failed send does not stop the pass", batch: 10, fail: "old", wantSent: []string{"older-than-grace"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newMemStore()
			pendingOrder(t, store, "old", order.Pending, t0.Add(-time.Hour))
			pendingOrder(t, store, "older-than-grace", order.Pending, t0.Add(-2*time.Minute))
			pendingOrder(t, store, "fresh", order.Pending, t0.Add(-30*time.Second))
			pendingOrder(t, store, "moving", order.Validating, t0.Add(-time.Hour))
			queue := &memQueue{fail: func(m contracts.OrderMessage) bool { return m.OrderID == tt.fail }}

			n, err := newReconciler(store, queue, tt.batch).RunOnce(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("RunOnce error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, errQueueDown) {
				t.Errorf("error %v does not wrap the send error", err)
			}
			var sent []string
			for _, m := range queue.messages() {
				sent = append(sent, m.OrderID)
			}
			if diff := cmp.Diff(tt.wantSent, sent); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if n != len(tt.wantSent) {
				t.Errorf("RunOnce = %d, want %d", n, len(tt.wantSent))
			}
		})
	}
}

func TestReconcilerRunQueuesUntilCancelled(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	pendingOrder(t, store, "stranded", order.Pending, t0.Add(-time.Hour))
	queue := &memQueue{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// Without a back-off, every pass queues the order again while it stays PENDING, so that a second
	// message shows a second pass.
	cfg := reconcilerConfig(10)
	cfg.Backoff = -1
	go func() { done <- ingest.NewReconciler(store, queue, cfg).Run(ctx) }()

	deadline := time.After(5 * time.Second)
	for len(queue.messages()) < 2 { // the first pass at once, the next after an interval
		select {
		case <-deadline:
			t.Fatalf("queued %d messages in 5s, want at least 2", len(queue.messages()))
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// clock is a clock that moves only when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// slowQueue is a memQueue whose every Send takes a while on the clock.
type slowQueue struct {
	*memQueue
	clock *clock
	each  time.Duration
}

func (q slowQueue) Send(ctx context.Context, m contracts.OrderMessage) error {
	q.clock.advance(q.each)
	return q.memQueue.Send(ctx, m)
}

// stranded stores n PENDING orders, o-000 the oldest, all long past the grace, and returns their ids
// oldest first.
func stranded(t *testing.T, store *memStore, from, n int) []string {
	t.Helper()
	var ids []string
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("o-%03d", i)
		pendingOrder(t, store, id, order.Pending, t0.Add(-time.Hour+time.Duration(i)*time.Second))
		ids = append(ids, id)
	}
	return ids
}

// sentIDs returns the ids of the messages queue holds from the index from on.
func sentIDs(queue interface {
	messages() []contracts.OrderMessage
}, from int) []string {
	ids := []string{}
	for _, m := range queue.messages()[from:] {
		ids = append(ids, m.OrderID)
	}
	return ids
}

func TestReconcilerPassQueuesEveryStrandedOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		pageSize int
		batches  bool
	}{
		{name: "one Send at a time", batches: false},
		{name: "in batches", batches: true},
		{name: "over many pages", pageSize: 7, batches: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newMemStore()
			want := stranded(t, store, 0, 250)
			pendingOrder(t, store, "fresh", order.Pending, t0.Add(-30*time.Second))
			cfg := reconcilerConfig(0)
			cfg.PageSize = tt.pageSize
			var queue ingest.Queue
			var sent func() []string
			batchQueue := &memBatchQueue{}
			if tt.batches {
				queue, sent = batchQueue, func() []string { return sentIDs(batchQueue, 0) }
			} else {
				q := &memQueue{}
				queue, sent = q, func() []string { return sentIDs(q, 0) }
			}

			n, err := ingest.NewReconciler(store, queue, cfg).RunOnce(context.Background())
			if err != nil {
				t.Fatalf("RunOnce: %v", err)
			}
			if n != len(want) {
				t.Errorf("RunOnce = %d, want all %d stranded orders queued in one pass", n, len(want))
			}
			if diff := cmp.Diff(want, sent()); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if !tt.batches {
				return
			}
			batches := batchQueue.batchIDs()
			if len(batches) != 25 {
				t.Errorf("sent %d batches, want 25 of 10", len(batches))
			}
			for _, b := range batches {
				if len(b) > 10 {
					t.Errorf("a batch of %d messages, want at most 10", len(b))
				}
			}
		})
	}
}

func TestReconcilerLeavesAnOrderItQueuedAloneForTheBackoff(t *testing.T) {
	t.Parallel()
	store, queue, c := newMemStore(), &memQueue{}, &clock{now: t0}
	first := stranded(t, store, 0, 3)
	cfg := reconcilerConfig(0)
	cfg.Now, cfg.Backoff = c.Now, 10*time.Minute
	rec := ingest.NewReconciler(store, queue, cfg)
	pass := func(wantSent []string) {
		t.Helper()
		before := len(queue.messages())
		n, err := rec.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		if diff := cmp.Diff(wantSent, sentIDs(queue, before)); diff != "" {
			t.Errorf("pass at %s sent (-want +got):\n%s", c.Now().Sub(t0), diff)
		}
		if n != len(wantSent) {
			t.Errorf("RunOnce = %d, want %d", n, len(wantSent))
		}
	}

	pass(first)
	later := stranded(t, store, 3, 1)
	c.advance(5 * time.Minute)
	pass(later) // the first three are still within their back-off
	c.advance(5 * time.Minute)
	pass(first) // theirs is over; the later one's is not
	c.advance(5 * time.Minute)
	pass(later)
}

func TestReconcilerReachesTheNewerOrdersBehindABacklog(t *testing.T) {
	t.Parallel()
	// The oldest 100 orders are still waiting in the queue behind a backlog; the newer ones never got
	// there. A pass of at most 100 must not spend every pass on the same oldest 100.
	store, queue := newMemStore(), &memQueue{}
	ids := stranded(t, store, 0, 250)
	rec := newReconciler(store, queue, 100)
	for i, want := range [][]string{ids[:100], ids[100:200], ids[200:], {}} {
		before := len(queue.messages())
		n, err := rec.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("pass %d: %v", i+1, err)
		}
		if diff := cmp.Diff(want, sentIDs(queue, before)); diff != "" {
			t.Errorf("pass %d sent (-want +got):\n%s", i+1, diff)
		}
		if n != len(want) {
			t.Errorf("pass %d: RunOnce = %d, want %d", i+1, n, len(want))
		}
	}
}

func TestReconcilerPassStopsAtItsBudget(t *testing.T) {
	t.Parallel()
	store, c := newMemStore(), &clock{now: t0}
	ids := stranded(t, store, 0, 100)
	queue := slowQueue{memQueue: &memQueue{}, clock: c, each: time.Second}
	cfg := reconcilerConfig(0)
	cfg.Now, cfg.Budget, cfg.SendBatchSize = c.Now, 25*time.Second, 10
	rec := ingest.NewReconciler(store, queue, cfg)

	// Ten sends take ten seconds: the pass starts a fourth ten only if 25s have not passed.
	n, err := rec.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if diff := cmp.Diff(ids[:30], sentIDs(queue, 0)); n != 30 || diff != "" {
		t.Errorf("RunOnce = %d, want 30 sent before the budget ran out; sent (-want +got):\n%s", n, diff)
	}
	// The next pass goes on where this one stopped: the orders it queued are within their back-off.
	n, err = rec.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("second RunOnce: %v", err)
	}
	if diff := cmp.Diff(ids[30:60], sentIDs(queue, 30)); n != 30 || diff != "" {
		t.Errorf("second RunOnce = %d, want the next 30; sent (-want +got):\n%s", n, diff)
	}
}

func TestReconcilerPassStopsAMarginBeforeItsDeadline(t *testing.T) {
	t.Parallel()
	store, queue := newMemStore(), &memQueue{}
	ids := stranded(t, store, 0, 100)
	cfg := reconcilerConfig(0)
	cfg.Margin = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Within the margin already, the pass still reads a page and makes its first send, of ten orders.
	n, err := ingest.NewReconciler(store, queue, cfg).RunOnce(ctx)
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if diff := cmp.Diff(ids[:10], sentIDs(queue, 0)); n != 10 || diff != "" {
		t.Errorf("RunOnce = %d, want the first 10 only; sent (-want +got):\n%s", n, diff)
	}
}

func TestReconcilerCountsWhatABatchLeftUnsent(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	ids := stranded(t, store, 0, 30)
	queue := &memBatchQueue{
		memQueue: memQueue{fail: func(m contracts.OrderMessage) bool { return m.OrderID == "o-003" }},
		failBatch: func(msgs []contracts.OrderMessage) bool {
			return slices.ContainsFunc(msgs, func(m contracts.OrderMessage) bool { return m.OrderID == "o-015" })
		},
	}
	rec := ingest.NewReconciler(store, queue, reconcilerConfig(0))

	// The first batch is sent but for o-003, the second fails as a whole, the third is sent.
	n, err := rec.RunOnce(context.Background())
	if !errors.Is(err, errQueueDown) {
		t.Errorf("RunOnce error = %v, want one wrapping the send error", err)
	}
	want := append(slices.Delete(slices.Clone(ids[:10]), 3, 4), ids[20:]...)
	if diff := cmp.Diff(want, sentIDs(queue, 0)); n != len(want) || diff != "" {
		t.Errorf("RunOnce = %d, want %d; sent (-want +got):\n%s", n, len(want), diff)
	}

	// Those not sent are sent by the next pass, and only those.
	queue.mu.Lock()
	queue.fail, queue.failBatch = nil, nil
	queue.mu.Unlock()
	n, err = rec.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("second RunOnce: %v", err)
	}
	want = append([]string{"o-003"}, ids[10:20]...)
	if diff := cmp.Diff(want, sentIDs(queue, 19)); n != len(want) || diff != "" {
		t.Errorf("second RunOnce = %d, want %d; sent (-want +got):\n%s", n, len(want), diff)
	}
}

func TestReconcilerForgetsTheLongestRememberedPastItsBound(t *testing.T) {
	t.Parallel()
	store, queue := newMemStore(), &memQueue{}
	ids := stranded(t, store, 0, 10)
	cfg := reconcilerConfig(0)
	cfg.Remember = 5
	rec := ingest.NewReconciler(store, queue, cfg)
	if n, err := rec.RunOnce(context.Background()); n != 10 || err != nil {
		t.Fatalf("RunOnce = %d, %v; want 10", n, err)
	}
	n, err := rec.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("second RunOnce: %v", err)
	}
	if diff := cmp.Diff(ids[:5], sentIDs(queue, 10)); n != 5 || diff != "" {
		t.Errorf("second RunOnce = %d, want the 5 forgotten; sent (-want +got):\n%s", n, diff)
	}
}

func TestReconcilerReturnsTheFirstErrorsOfAPassAndCountsTheRest(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	stranded(t, store, 0, 30)
	queue := &memQueue{fail: func(contracts.OrderMessage) bool { return true }}
	n, err := newReconciler(store, queue, 0).RunOnce(context.Background())
	if n != 0 || !errors.Is(err, errQueueDown) {
		t.Fatalf("RunOnce = %d, %v; want 0 and the send errors", n, err)
	}
	if got := len(err.(interface{ Unwrap() []error }).Unwrap()); got != 11 {
		t.Errorf("RunOnce joined %d errors, want the first 10 and a count of the rest", got)
	}
	if !strings.Contains(err.Error(), "and 20 more errors") {
		t.Errorf("RunOnce error %q does not count the 20 left out", err)
	}
}

// TestAPassGoesOnWhereTheLastStopped: 101 orders stay PENDING (their messages wait behind a backlog, or
// keep failing); a pass has time for 25 sends and the back-off lasts three passes. A pass that runs out
// of time mid-page leaves the next one to start after what it sent, so that every order is queued within
// a few passes, the newest too, instead of each pass re-sending the oldest whose back-off has ended.
func TestAPassGoesOnWhereTheLastStopped(t *testing.T) {
	store, c := newMemStore(), &clock{now: t0}
	ids := stranded(t, store, 0, 101)
	queue := slowQueue{memQueue: &memQueue{}, clock: c, each: time.Second}
	cfg := reconcilerConfig(0)
	cfg.Now, cfg.Budget, cfg.SendBatchSize, cfg.Backoff = c.Now, 25*time.Second, 10, 3*time.Minute
	rec := ingest.NewReconciler(store, queue, cfg)
	for range 5 {
		if _, err := rec.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.advance(time.Minute)
	}
	sent := sentIDs(queue, 0)
	for _, id := range ids {
		if !slices.Contains(sent, id) {
			t.Errorf("after 5 passes (%d sends), order %s was never queued", len(sent), id)
		}
	}
}
