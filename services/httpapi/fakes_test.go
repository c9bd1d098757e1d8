package httpapi_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/httpapi"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/order"
)

// memOrders is an in-memory order store: the order reads of the API and the ports of the real ingest
// service, so that the API tests exercise real validation and idempotency.
type memOrders struct {
	mu     sync.Mutex
	orders map[string]order.Snapshot
	keys   map[string]ingest.IdempotencyRecord
	events []contracts.Event
	// lastLimit is the limit of the last List call.
	lastLimit int
}

var (
	_ httpapi.Orders = (*memOrders)(nil)
	_ ingest.Store   = (*memOrders)(nil)
	_ ingest.Orders  = (*memOrders)(nil)
)

func newMemOrders() *memOrders {
	return &memOrders{orders: map[string]order.Snapshot{}, keys: map[string]ingest.IdempotencyRecord{}}
}

func (s *memOrders) Get(_ context.Context, id string) (*order.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.orders[id]
	if !ok {
		return nil, fault.NotFoundf("order %s not found", id)
	}
	return order.FromSnapshot(snap), nil
}

// List pages newest first; the cursor is the id of the last order of the previous page.
func (s *memOrders) List(_ context.Context, customerID string, limit int, cursor string) ([]*order.Order, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastLimit = limit
	var mine []order.Snapshot
	for _, o := range s.orders {
		if o.CustomerID == customerID {
			mine = append(mine, o)
		}
	}
	sort.Slice(mine, func(i, j int) bool {
		if !mine[i].CreatedAt.Equal(mine[j].CreatedAt) {
			return mine[i].CreatedAt.After(mine[j].CreatedAt)
		}
		return mine[i].ID > mine[j].ID
	})
	start := 0
	if cursor != "" {
		start = -1
		for i, o := range mine {
			if o.ID == cursor {
				start = i + 1
			}
		}
		if start < 0 {
			return nil, "", fault.Invalidf("malformed cursor")
		}
	}
	end := min(start+limit, len(mine))
	var page []*order.Order
	for _, o := range mine[start:end] {
		page = append(page, order.FromSnapshot(o))
	}
	next := ""
	if end < len(mine) {
		next = mine[end-1].ID
	}
	return page, next, nil
}

func (s *memOrders) Events(_ context.Context, orderID string) ([]contracts.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []contracts.Event
	for _, e := range s.events {
		if len(e.Resources) > 0 && e.Resources[0] == orderID {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *memOrders) Create(_ context.Context, o *order.Order, rec *ingest.IdempotencyRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec != nil {
		if _, ok := s.keys[rec.Key]; ok {
			return fmt.Errorf("key %s: %w", rec.Key, ingest.ErrIdempotencyKeyTaken)
		}
		s.keys[rec.Key] = *rec
	}
	s.orders[o.ID()] = o.Snapshot()
	return nil
}

func (s *memOrders) Idempotency(_ context.Context, key string) (ingest.IdempotencyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.keys[key]
	if !ok {
		return ingest.IdempotencyRecord{}, fault.NotFoundf("idempotency key not found")
	}
	return rec, nil
}

func (s *memOrders) PendingBefore(context.Context, time.Time, int) ([]string, error) { return nil, nil }

func (s *memOrders) Update(_ context.Context, id string, fn func(o *order.Order) ([]contracts.Event, error)) (*order.Order, error) {
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

// setStatus forces an order's status, as the pipeline would have moved it.
func (s *memOrders) setStatus(id string, st order.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.orders[id]
	snap.Status = st
	snap.History = append(snap.History, order.Change{Status: st, At: snap.UpdatedAt})
	s.orders[id] = snap
}

func (s *memOrders) snapshot(id string) order.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orders[id]
}

func (s *memOrders) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.orders)
}

// nopQueue accepts every message.
type nopQueue struct{}

func (nopQueue) Send(context.Context, contracts.OrderMessage) error { return nil }

// stubIngest returns fixed errors, for the error paths the real service rarely takes.
type stubIngest struct {
	err error
}

func (s stubIngest) Create(context.Context, contracts.CreateOrderRequest, string, string) (contracts.Order, bool, error) {
	return contracts.Order{}, false, s.err
}

func (s stubIngest) Cancel(context.Context, string) (contracts.Order, error) {
	return contracts.Order{}, s.err
}

// memInventory is an in-memory catalog.
type memInventory struct {
	mu       sync.Mutex
	products map[string]inventory.Product
}

func newMemInventory(ps ...inventory.Product) *memInventory {
	m := &memInventory{products: map[string]inventory.Product{}}
	for _, p := range ps {
		m.products[p.ID] = p
	}
	return m
}

func (m *memInventory) Product(_ context.Context, id string) (inventory.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.products[id]
	if !ok {
		return inventory.Product{}, fault.NotFoundf("product %s not found", id)
	}
	return p, nil
}

func (m *memInventory) Products(context.Context) ([]inventory.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]inventory.Product, 0, len(m.products))
	for _, p := range m.products {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (m *memInventory) PutProduct(_ context.Context, p inventory.Product) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.products[p.ID] = p
	return nil
}

// fakeChatbot answers every question the same way, or fails with err.
type fakeChatbot struct {
	mu   sync.Mutex
	got  []contracts.ChatRequest
	err  error
	resp contracts.ChatResponse
}

func (c *fakeChatbot) Answer(_ context.Context, req contracts.ChatRequest) (contracts.ChatResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, req)
	return c.resp, c.err
}

// observation is one ObserveHTTP call.
type observation struct {
	Route  string
	Status int
}

type recordingObserver struct {
	mu  sync.Mutex
	got []observation
}

func (o *recordingObserver) ObserveHTTP(route string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, observation{route, status})
}

func (o *recordingObserver) observations() []observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]observation(nil), o.got...)
}
