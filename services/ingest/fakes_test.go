package ingest_test

import (
	"context"
	"errors"
	"sync"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/memory"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
)

// memStore is the in-memory order store with two faults the tests inject into Create.
type memStore struct {
	*memory.Orders
	// createErr, when set, is returned by Create.
	createErr error
	// beforeCreate, when set, runs at the start of Create, to stage races.
	beforeCreate func()
}

var (
	_ ingest.Store  = (*memStore)(nil)
	_ ingest.Orders = (*memStore)(nil)
)

func newMemStore() *memStore { return &memStore{Orders: memory.NewOrders()} }

func (s *memStore) Create(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord) error {
	if s.beforeCreate != nil {
		s.beforeCreate()
	}
	if s.createErr != nil {
		return s.createErr
	}
	return s.Orders.Create(ctx, o, rec)
}

// get returns the stored order's snapshot, if there is one.
func (s *memStore) get(id string) (order.Snapshot, bool) {
	o, err := s.Get(context.Background(), id)
	if err != nil {
		return order.Snapshot{}, false
	}
	return o.Snapshot(), true
}

// published returns the events published about the order.
func (s *memStore) published(id string) []contracts.Event {
	events, _ := s.Events(context.Background(), id)
	return events
}

// memQueue is an in-memory Queue that can be told to fail.
type memQueue struct {
	mu   sync.Mutex
	sent []contracts.OrderMessage
	// fail, when set, decides per message whether Send fails.
	fail func(contracts.OrderMessage) bool
}

var _ ingest.Queue = (*memQueue)(nil)

var errQueueDown = errors.New("queue down")

func (q *memQueue) Send(ctx context.Context, m contracts.OrderMessage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil && q.fail(m) {
		return errQueueDown
	}
	q.sent = append(q.sent, m)
	return nil
}

func (q *memQueue) messages() []contracts.OrderMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]contracts.OrderMessage(nil), q.sent...)
}
