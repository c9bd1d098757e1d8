package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/orderflow/orderflow/contracts"
)

// PendingFinder finds orders that are still PENDING: the part of Store the Reconciler needs.
type PendingFinder interface {
	// PendingBefore returns the ids of up to limit PENDING orders created before t, oldest first.
	PendingBefore(ctx context.Context, t time.Time, limit int) ([]string, error)
}

// ReconcilerConfig tunes a Reconciler. The zero value is usable.
type ReconcilerConfig struct {
	// Interval between passes; zero means 30 seconds.
	Interval time.Duration
	// Grace is how long an order may stay PENDING before it is queued again; zero means 1 minute. It
	// should be well above the normal queue-to-dispatch delay, since a re-queued order is delivered twice.
	Grace time.Duration
	// Batch is the most orders queued per pass; zero means 100.
	Batch int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives pass results and errors; nil means slog.Default().
	Logger *slog.Logger
}

// Reconciler re-queues orders that were stored but never reached the pipeline, e.g. because the process
// crashed between storing an order and queueing it. Queueing an order twice is harmless: the dispatcher
// is idempotent.
type Reconciler struct {
	store PendingFinder
	queue Queue
	cfg   ReconcilerConfig
}

// NewReconciler returns a Reconciler that finds stranded orders in store and sends them to queue.
func NewReconciler(store PendingFinder, queue Queue, cfg ReconcilerConfig) *Reconciler {
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = time.Minute
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Reconciler{store: store, queue: queue, cfg: cfg}
}

// RunOnce queues up to Batch orders that have been PENDING for longer than Grace and returns how many
// it queued. A failed send does not stop the pass; the errors of all failed sends are returned joined.
//
// The messages carry no correlation id, because the store returns only ids: the dispatcher takes the
// correlation id from the stored order.
func (r *Reconciler) RunOnce(ctx context.Context) (int, error) {
	ids, err := r.store.PendingBefore(ctx, r.cfg.Now().Add(-r.cfg.Grace), r.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("reconcile: find pending orders: %w", err)
	}
	sent := 0
	var errs []error
	for _, id := range ids {
		if err := r.queue.Send(ctx, contracts.OrderMessage{OrderID: id}); err != nil {
			errs = append(errs, fmt.Errorf("reconcile: queue order %s: %w", id, err))
			continue
		}
		sent++
	}
	return sent, errors.Join(errs...)
}

// Run calls RunOnce at once and then every Interval until ctx is done, logging what each pass did. It
// returns nil when ctx is done.
func (r *Reconciler) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		n, err := r.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.cfg.Logger.ErrorContext(ctx, "reconciler pass failed", "requeued", n, "error", err)
		case n > 0:
			r.cfg.Logger.WarnContext(ctx, "reconciler re-queued stranded pending orders", "requeued", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
