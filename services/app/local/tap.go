package local

import (
	"context"
	"log/slog"
	"sync"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/live"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/routing"
)

// memoryTargets are routing targets whose state lives in process memory (the Prometheus metrics).
// Locally they do not read the log with a cursor: a crash loses their state anyway, so at-least-once
// delivery through the store would buy nothing. They are fed by tappedStore instead, in process, right
// after each commit. On AWS they are ordinary EventBridge rules.
var memoryTargets = map[string]bool{routing.Metrics: true}

// tappedStore is the local store, with every event it commits also handed to the in-memory subscribers,
// and every order it stores and status change it commits told to the console's live board.
type tappedStore struct {
	*sqlite.DB
	tap   *eventTap
	board *live.Board
}

// Create implements ingest.Store, telling the board of the stored order.
func (s tappedStore) Create(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord) error {
	err := s.DB.Create(ctx, o, rec)
	if err == nil {
		s.board.Accepted(o.CreatedAt())
	}
	return err
}

// CreateQueued implements ingest.QueueingStore, telling the board of the stored order.
func (s tappedStore) CreateQueued(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord, m contracts.OrderMessage) error {
	err := s.DB.CreateQueued(ctx, o, rec, m)
	if err == nil {
		s.board.Accepted(o.CreatedAt())
	}
	return err
}

// Update implements pipeline.Orders, tapping the events the update committed and telling the board of
// the status change.
func (s tappedStore) Update(ctx context.Context, id string, fn func(o *order.Order) ([]contracts.Event, error)) (*order.Order, error) {
	var events []contracts.Event
	var from order.Status
	o, err := s.DB.Update(ctx, id, func(o *order.Order) ([]contracts.Event, error) {
		from = o.Status()
		evs, err := fn(o)
		events = evs // the last attempt's events are the ones stored
		return evs, err
	})
	if err == nil {
		s.board.Changed(from, o)
		s.tap.offer(events)
	}
	return o, err
}

// Publish implements pipeline.Publisher, tapping the published events.
func (s tappedStore) Publish(ctx context.Context, events ...contracts.Event) error {
	err := s.DB.Publish(ctx, events...)
	if err == nil {
		s.tap.offer(events)
	}
	return err
}

// eventTap delivers events to in-memory subscribers on its own goroutine, in commit order. It applies
// backpressure rather than dropping when they fall behind.
type eventTap struct {
	ch   chan contracts.Event
	log  *slog.Logger
	mu   sync.Mutex
	subs []pipeline.Handler
	done chan struct{}
}

func newEventTap(log *slog.Logger) *eventTap {
	return &eventTap{ch: make(chan contracts.Event, 1<<16), log: log, done: make(chan struct{})}
}

func (t *eventTap) subscribe(h pipeline.Handler) {
	t.mu.Lock()
	t.subs = append(t.subs, h)
	t.mu.Unlock()
}

func (t *eventTap) offer(events []contracts.Event) {
	for _, e := range events {
		select {
		case t.ch <- e:
		case <-t.done: // stopped: a request outliving the shutdown must not block on a full buffer
			return
		}
	}
}

// run delivers until stop is closed and the buffer is drained.
func (t *eventTap) run(stop <-chan struct{}) {
	defer close(t.done)
	deliver := func(e contracts.Event) {
		t.mu.Lock()
		subs := t.subs
		t.mu.Unlock()
		for _, h := range subs {
			if err := h(context.Background(), e); err != nil {
				t.log.Warn("in-memory subscriber failed", "event", e.ID, "detail_type", e.DetailType, "err", err)
			}
		}
	}
	for {
		select {
		case e := <-t.ch:
			deliver(e)
		case <-stop:
			for {
				select {
				case e := <-t.ch:
					deliver(e)
				default:
					return
				}
			}
		}
	}
}
