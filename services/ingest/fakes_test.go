package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
)

// memStore is an in-memory Store and Orders.
type memStore struct {
	mu     sync.Mutex
	orders map[string]order.Snapshot
	keys   map[string]ingest.IdempotencyRecord
	events []contracts.Event
	// createErr, when set, is returned by Create.
	createErr error
	// beforeCreate, when set, runs at the start of Create (outside the lock), to stage races.
	beforeCreate func()
}

var (
	_ ingest.Store  = (*memStore)(nil)
	_ ingest.Orders = (*memStore)(nil)
)

func newMemStore() *memStore {
	return &memStore{orders: map[string]order.Snapshot{}, keys: map[string]ingest.IdempotencyRecord{}}
}

func (s *memStore) Create(_ context.Context, o *order.Order, rec *ingest.IdempotencyRecord) error {
	if s.beforeCreate != nil {
		s.beforeCreate()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.createErr != nil {
		return s.createErr
	}
	if rec != nil {
		if _, ok := s.keys[rec.Key]; ok {
			return fmt.Errorf("insert key %q: %w", rec.Key, ingest.ErrIdempotencyKeyTaken)
		}
		s.keys[rec.Key] = *rec
	}
	s.orders[o.ID()] = o.Snapshot()
	return nil
}

func (s *memStore) Idempotency(_ context.Context, key string) (ingest.IdempotencyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.keys[key]
	if !ok {
		return ingest.IdempotencyRecord{}, fault.NotFoundf("idempotency key %q not found", key)
	}
	return rec, nil
}

func (s *memStore) PendingBefore(_ context.Context, t time.Time, limit int) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var snaps []order.Snapshot
	for _, o := range s.orders {
		if o.Status == order.Pending && o.CreatedAt.Before(t) {
			snaps = append(snaps, o)
		}
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].CreatedAt.Before(snaps[j].CreatedAt) })
	var ids []string
	for i := 0; i < len(snaps) && i < limit; i++ {
		ids = append(ids, snaps[i].ID)
	}
	return ids, nil
}

func (s *memStore) Update(_ context.Context, id string, fn func(o *order.Order) ([]contracts.Event, error)) (*order.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.orders[id]
	if !ok {
		return nil, fault.NotFoundf("order %s not found", id)
	}
	o := order.FromSnapshot(snap)
	events, err := fn(o)
	if err != nil {
		return nil, err
	}
	next := o.Snapshot()
	next.Version++
	s.orders[id] = next
	s.events = append(s.events, events...)
	return order.FromSnapshot(next), nil
}

func (s *memStore) put(snap order.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[snap.ID] = snap
}

func (s *memStore) get(id string) (order.Snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	return o, ok
}

func (s *memStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.orders)
}

func (s *memStore) published() []contracts.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]contracts.Event(nil), s.events...)
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
