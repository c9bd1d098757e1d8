package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/memory"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/httpapi"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/order"
)

// memOrders is the in-memory order store behind both the order reads of the API and the real ingest
// service, so that the API tests exercise real validation and idempotency. It remembers the limit of
// the last List call.
type memOrders struct {
	*memory.Orders
	mu        sync.Mutex
	lastLimit int
}

var (
	_ httpapi.Orders = (*memOrders)(nil)
	_ ingest.Store   = (*memOrders)(nil)
	_ ingest.Orders  = (*memOrders)(nil)
)

func newMemOrders() *memOrders { return &memOrders{Orders: memory.NewOrders()} }

func (s *memOrders) List(ctx context.Context, customerID string, limit int, cursor string) ([]*order.Order, string, error) {
	s.mu.Lock()
	s.lastLimit = limit
	s.mu.Unlock()
	return s.Orders.List(ctx, customerID, limit, cursor)
}

// listLimit is the limit of the last List call.
func (s *memOrders) listLimit() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastLimit
}

// moveTo takes a PENDING order through the state machine to st, as the pipeline would: to FULFILLMENT,
// or to FAILED in validation.
func (s *memOrders) moveTo(t *testing.T, id string, st order.Status) {
	t.Helper()
	at := time.Now()
	_, err := s.Update(context.Background(), id, func(o *order.Order) ([]contracts.Event, error) {
		err := o.StartValidation(at)
		switch st {
		case order.Fulfillment:
			err = errors.Join(err, o.PassValidation(at), o.ReserveInventory(at), o.AuthorizePayment("auth-"+id, at))
		case order.Failed:
			err = errors.Join(err, o.Fail("INVALID_ORDER", "rejected by validation", at))
		default:
			err = fmt.Errorf("moving an order to %s is not implemented", st)
		}
		return nil, err
	})
	if err != nil {
		t.Fatalf("move order %s to %s: %v", id, st, err)
	}
}

// snapshot returns the stored order's state.
func (s *memOrders) snapshot(id string) order.Snapshot {
	o, err := s.Get(context.Background(), id)
	if err != nil {
		return order.Snapshot{}
	}
	return o.Snapshot()
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

func (m *memInventory) PutProductIf(_ context.Context, p inventory.Product, etag string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.products[p.ID]
	if etag == inventory.Absent {
		ok = !ok
	} else if ok && etag != inventory.Present {
		ok = cur.ETag() == etag
	}
	if !ok {
		return inventory.ErrChanged
	}
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
