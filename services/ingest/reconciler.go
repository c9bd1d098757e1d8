package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/orderflow/orderflow/contracts"
)

// PendingFinder finds orders that are still PENDING: the part of Store the Reconciler needs.
type PendingFinder interface {
	// PendingPage returns the ids of up to limit PENDING orders created before t, oldest first, after
	// the position of cursor ("" for the first page), and the cursor of the next page ("" on the last).
	PendingPage(ctx context.Context, t time.Time, limit int, cursor string) ([]string, string, error)
}

// BatchQueue is a Queue that can send many messages in one call, as SQS's SendMessageBatch does. The
// Reconciler sends through SendBatch when its queue implements it, and one Send at a time otherwise.
type BatchQueue interface {
	// SendBatch sends msgs durably, like Send each. It returns nil when every message was sent. An error
	// may leave some sent and others not: when it wraps an error with a method
	// NotSent() []contracts.OrderMessage, the messages that method returns are those not sent and every
	// other one was; when it does not, the Reconciler counts none of msgs as sent.
	SendBatch(ctx context.Context, msgs []contracts.OrderMessage) error
}

// notSent is the method of an error of BatchQueue.SendBatch that names the messages it did not send.
type notSent interface {
	NotSent() []contracts.OrderMessage
}

// ReconcilerConfig tunes a Reconciler. The zero value is usable.
type ReconcilerConfig struct {
	// Interval between passes; zero means 30 seconds.
	Interval time.Duration
	// Grace is how long an order may stay PENDING before it is queued again; zero means 1 minute. It
	// should be well above the normal queue-to-dispatch delay, since a re-queued order is delivered twice.
	Grace time.Duration
	// Batch is the most orders one pass tries to queue; zero means no limit but Budget's.
	Batch int
	// PageSize is how many PENDING orders one read of the store returns; zero means 500.
	PageSize int
	// SendBatchSize is the most messages given to one call of BatchQueue.SendBatch; zero means 10, what
	// SQS takes in one SendMessageBatch call, so that a call that fails as a whole leaves at most that
	// many orders in doubt (they are not remembered as queued, and the next pass sends them again).
	SendBatchSize int
	// Budget is how long one pass may go on reading and queueing, by Now; zero means 1 minute. A pass
	// that runs out of time stops between two steps and leaves the rest to the next pass.
	Budget time.Duration
	// Margin is how long before ctx's deadline, when it has one, a pass stops, whatever its Budget (as a
	// function's invocation must return before its timeout); zero means 15 seconds. Whatever the time, a
	// pass reads one page and makes one send.
	Margin time.Duration
	// Backoff is how long an order this Reconciler queued is left alone while it stays PENDING, as its
	// message is then most likely still in the queue (behind a backlog, or being retried); zero means 15
	// minutes, a little longer than SQS takes to hand a message that keeps failing to the dead-letter
	// queue. A negative Backoff queues an order again on every pass that finds it still PENDING.
	Backoff time.Duration
	// Remember is the most queued orders kept in memory for Backoff; zero means 50,000 (a few MB). Past
	// it the longest remembered are forgotten first, and may be queued again before their Backoff ends.
	Remember int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives pass results and errors; nil means slog.Default().
	Logger *slog.Logger
}

// Reconciler re-queues orders that were stored but never reached the pipeline, e.g. because the process
// crashed between storing an order and queueing it, or the queue refused the send. Queueing an order
// twice is harmless: the dispatcher is idempotent.
//
// A pass pages through every order PENDING for longer than Grace, oldest first, from where the pass
// before it stopped (after the last page, from the oldest again), until there are no more or its time
// is up, and queues those it has not itself queued within Backoff, in batches when the
// queue is a BatchQueue. What it has queued, and when, it remembers in memory, so what holds depends on
// where it runs: locally, one process runs every pass and remembers across all of them until it
// restarts; on AWS the function builds its Reconciler at init, so a warm container remembers across its
// invocations, while a cold start (a new container, or a second one running at the same time) begins
// with nothing remembered and queues the orders still PENDING once more.
type Reconciler struct {
	store   PendingFinder
	queue   Queue
	cfg     ReconcilerConfig
	queued  *queuedOrders
	batches BatchQueue // queue, when it is a BatchQueue

	mu     sync.Mutex
	resume string // the PendingPage cursor the next pass starts at ("" for the oldest)
}

// NewReconciler returns a Reconciler that finds stranded orders in store and sends them to queue.
func NewReconciler(store PendingFinder, queue Queue, cfg ReconcilerConfig) *Reconciler {
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = time.Minute
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 500
	}
	if cfg.SendBatchSize <= 0 {
		cfg.SendBatchSize = 10
	}
	if cfg.Budget <= 0 {
		cfg.Budget = time.Minute
	}
	if cfg.Margin <= 0 {
		cfg.Margin = 15 * time.Second
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 15 * time.Minute
	}
	if cfg.Remember <= 0 {
		cfg.Remember = 50_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Reconciler{store: store, queue: queue, cfg: cfg, queued: newQueuedOrders(cfg.Backoff, cfg.Remember)}
	r.batches, _ = queue.(BatchQueue)
	return r
}

// RunOnce makes one pass and returns how many orders it queued. It reads the orders PENDING for longer
// than Grace a page at a time, oldest first from where the last pass stopped (the cursor is kept in
// memory, like what was queued), and queues those it has not itself queued within Backoff, until no page
// is left, Batch orders have been tried or the pass's time is up (Budget and Margin). A
// failed send does not stop the pass; a failed read of the store does. It returns its first errors
// joined, and how many more there were.
//
// The messages carry no correlation id, because the store returns only ids: the dispatcher takes the
// correlation id from the stored order.
func (r *Reconciler) RunOnce(ctx context.Context) (int, error) {
	began := r.cfg.Now()
	before := began.Add(-r.cfg.Grace)
	sent, tried := 0, 0
	var errs passErrors
	// more reports whether the pass may take another step: it is asked before every read of the store
	// but the first and every send but the first, so that a pass always makes some progress.
	more := func() bool {
		if ctx.Err() != nil {
			errs.add(fmt.Errorf("reconcile: %w", ctx.Err()))
			return false
		}
		if r.outOfTime(ctx, began) {
			r.cfg.Logger.WarnContext(ctx, "reconciler pass ran out of time; the next pass goes on",
				"requeued", sent, "budget", r.cfg.Budget)
			return false
		}
		return true
	}
	// Orders due are sent SendBatchSize at a time, across page boundaries; the last few at the end. A
	// pass starts where the one before it stopped, so that a pass that runs out of time behind a long
	// queue of older PENDING orders does not leave the newer ones for ever; one that reads the last page
	// has the next start from the oldest again.
	var due, ids []string // ids: the page last read, at idsCursor
	cursor, sends := r.resumeCursor(), 0
	idsCursor := cursor
	unsentFrom := cursor // the page the oldest order of due came from
	resume := ""         // where the next pass starts
	// at is where the next pass starts when this one stops with due not sent: at the oldest of them.
	at := func() string {
		if len(due) == 0 {
			return cursor
		}
		i := slices.Index(ids, due[0])
		if i <= 0 {
			return unsentFrom
		}
		// After the orders of its page before it: the cursor of a page of just those.
		if _, after, err := r.store.PendingPage(ctx, before, i, idsCursor); err == nil && after != "" {
			return after
		}
		return idsCursor
	}
	for first := true; ; first = false {
		if len(due) == 0 {
			unsentFrom = cursor
		}
		if !first && !more() {
			resume = at()
			break
		}
		var next string
		var err error
		idsCursor = cursor
		if ids, next, err = r.store.PendingPage(ctx, before, r.cfg.PageSize, cursor); err != nil {
			errs.add(fmt.Errorf("reconcile: find pending orders: %w", err))
			ids, resume = nil, unsentFrom
			break
		}
		due = append(due, r.queued.due(ids, r.cfg.Now())...)
		last := next == ""
		// allowed is how many of due this pass may still try (Batch); once it is used up the pass stops
		// as when its time is up.
		allowed := len(due)
		capped := r.cfg.Batch > 0 && tried+len(due) >= r.cfg.Batch
		if capped {
			allowed = r.cfg.Batch - tried
		}
		stopped := false
		for allowed >= r.cfg.SendBatchSize || ((last || capped) && allowed > 0) {
			if sends++; sends > 1 && !more() {
				stopped = true
				break
			}
			group := due[:min(r.cfg.SendBatchSize, allowed)]
			done := r.send(ctx, group, &errs)
			r.queued.add(done, r.cfg.Now())
			tried, sent, due, allowed = tried+len(group), sent+len(done), due[len(group):], allowed-len(group)
		}
		if stopped || (capped && len(due) > 0) {
			resume = at()
			break
		}
		if last || capped {
			resume = next // after the last page, "": the oldest again
			break
		}
		cursor = next
	}
	r.setResume(resume)
	return sent, errs.err()
}

// resumeCursor is where a pass starts: where the pass before it stopped, or "" (the oldest order).
func (r *Reconciler) resumeCursor() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resume
}

func (r *Reconciler) setResume(cursor string) {
	r.mu.Lock()
	r.resume = cursor
	r.mu.Unlock()
}

// maxPassErrors is how many errors a pass returns; of the others it says how many there were.
const maxPassErrors = 10

// passErrors collects the errors of a pass: the first maxPassErrors and how many more, so that a pass
// whose every send fails does not return (and log) an error per order.
type passErrors struct {
	errs []error
	more int
}

func (e *passErrors) add(err error) {
	switch {
	case err == nil:
	case len(e.errs) < maxPassErrors:
		e.errs = append(e.errs, err)
	default:
		e.more++
	}
}

func (e *passErrors) err() error {
	if e.more > 0 {
		return errors.Join(append(e.errs, fmt.Errorf("reconcile: and %d more errors", e.more))...)
	}
	return errors.Join(e.errs...)
}

// outOfTime reports whether a pass that began at began has used its Budget, or is within Margin of
// ctx's deadline. The deadline is on the real clock, the Budget on Now.
func (r *Reconciler) outOfTime(ctx context.Context, began time.Time) bool {
	if r.cfg.Now().Sub(began) >= r.cfg.Budget {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < r.cfg.Margin
}

// send queues the orders of ids, in one SendBatch call when the queue is a BatchQueue and one Send each
// otherwise, adds the errors to errs and returns the ids it knows to have been sent.
func (r *Reconciler) send(ctx context.Context, ids []string, errs *passErrors) []string {
	if r.batches == nil {
		var sent []string
		for _, id := range ids {
			if err := r.queue.Send(ctx, contracts.OrderMessage{OrderID: id}); err != nil {
				errs.add(fmt.Errorf("reconcile: queue order %s: %w", id, err))
				continue
			}
			sent = append(sent, id)
		}
		return sent
	}
	msgs := make([]contracts.OrderMessage, len(ids))
	for i, id := range ids {
		msgs[i] = contracts.OrderMessage{OrderID: id}
	}
	err := r.batches.SendBatch(ctx, msgs)
	if err == nil {
		return ids
	}
	errs.add(fmt.Errorf("reconcile: queue %d orders from %s: %w", len(ids), ids[0], err))
	var partial notSent
	if !errors.As(err, &partial) {
		return nil
	}
	failed := map[string]bool{}
	for _, m := range partial.NotSent() {
		failed[m.OrderID] = true
	}
	var sent []string
	for _, id := range ids {
		if !failed[id] {
			sent = append(sent, id)
		}
	}
	return sent
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

// queuedOrders remembers when the Reconciler queued each order, for backoff, and at most max orders:
// the longest remembered are forgotten first. It is safe for concurrent use.
type queuedOrders struct {
	backoff time.Duration
	max     int

	mu sync.Mutex
	at map[string]time.Time
	// fifo holds the queued orders in the order they were queued (when first remembered or queued again);
	// an entry whose time is no longer the order's in at is stale and is dropped when it comes out.
	fifo []queuedOrder
}

type queuedOrder struct {
	id string
	at time.Time
}

func newQueuedOrders(backoff time.Duration, max int) *queuedOrders {
	return &queuedOrders{backoff: backoff, max: max, at: map[string]time.Time{}}
}

// due returns the ids that were not queued within backoff of now, in their order.
func (q *queuedOrders) due(ids []string, now time.Time) []string {
	if q.backoff < 0 {
		return ids
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.forget(now)
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, recent := q.at[id]; !recent {
			out = append(out, id)
		}
	}
	return out
}

// add remembers that ids were queued at now.
func (q *queuedOrders) add(ids []string, now time.Time) {
	if q.backoff < 0 || len(ids) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range ids {
		q.at[id] = now
		q.fifo = append(q.fifo, queuedOrder{id: id, at: now})
	}
	q.forget(now)
}

// forget drops the orders queued backoff or longer before now, then the longest remembered until at most
// max are left.
func (q *queuedOrders) forget(now time.Time) {
	for len(q.fifo) > 0 && (len(q.fifo) > q.max || now.Sub(q.fifo[0].at) >= q.backoff) {
		if e := q.fifo[0]; q.at[e.id].Equal(e.at) {
			delete(q.at, e.id)
		}
		q.fifo[0] = queuedOrder{}
		q.fifo = q.fifo[1:]
	}
}
