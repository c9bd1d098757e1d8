package ingest_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
)

func newReconciler(store *memStore, queue *memQueue, batch int) *ingest.Reconciler {
	return ingest.NewReconciler(store, queue, ingest.ReconcilerConfig{
		Grace: time.Minute, Batch: batch, Interval: time.Millisecond,
		Now:    func() time.Time { return t0 },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
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
	go func() { done <- newReconciler(store, queue, 10).Run(ctx) }()

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
