package pipeline_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// memOrders is a hand-written in-memory pipeline.Orders. Its events go to published, unless
// loseEvents is set: that simulates a crash after the state write and before the publish (the AWS
// adapter's window, which the stage must survive by re-emitting).
type memOrders struct {
	mu         sync.Mutex
	orders     map[string]order.Snapshot
	published  []contracts.Event
	loseEvents bool
	// beforeWrite, if set, runs inside Update after fn, to interleave a concurrent change.
	beforeWrite func(o *order.Order)
}

func (m *memOrders) Get(_ context.Context, id string) (*order.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.orders[id]
	if !ok {
		return nil, fault.NotFoundf("order %s", id)
	}
	return order.FromSnapshot(s), nil
}

func (m *memOrders) Update(ctx context.Context, id string, fn func(*order.Order) ([]contracts.Event, error)) (*order.Order, error) {
	if m.beforeWrite != nil {
		o, _ := m.Get(ctx, id)
		m.beforeWrite(o)
		m.mu.Lock()
		m.orders[id] = o.Snapshot()
		m.beforeWrite = nil
		m.mu.Unlock()
	}
	o, err := m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	evs, err := fn(o)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.orders[id] = o.Snapshot()
	if !m.loseEvents {
		m.published = append(m.published, evs...)
	}
	return o, nil
}

func (m *memOrders) Publish(_ context.Context, evs ...contracts.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.published = append(m.published, evs...)
	return nil
}

var now = time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)

func newStore(t *testing.T, status order.Status) *memOrders {
	t.Helper()
	o, err := order.New(order.Draft{ID: "o1", CustomerID: "c1", Items: []order.Item{{ProductID: "P", Name: "p", Quantity: 1, Price: 100}}, Total: 100, Currency: "EUR"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if status == order.Validating {
		if err := o.StartValidation(now); err != nil {
			t.Fatal(err)
		}
	}
	return &memOrders{orders: map[string]order.Snapshot{"o1": o.Snapshot()}}
}

// validationLike is a stage that moves VALIDATING → INVENTORY_CHECK and counts its side effects.
func validationLike(work *int) pipeline.Stage {
	env := pipeline.LocalEnvelope
	return pipeline.Stage{
		Name: "test", Expect: order.Validating,
		Work: func(context.Context, *order.Order) (func(*order.Order) error, error) {
			*work++
			return func(o *order.Order) error { return o.PassValidation(now) }, nil
		},
		Result: func(o *order.Order) (contracts.Event, bool, error) {
			if !o.Reached(order.InventoryCheck) {
				return contracts.Event{}, false, nil
			}
			ev, err := env.Event(o, contracts.SourceValidation, contracts.DetailOrderValidated, contracts.OrderValidatedDetail{DetailMeta: pipeline.Meta(o)}, now)
			return ev, err == nil, err
		},
	}
}

func ids(evs []contracts.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.DetailType + "/" + e.ID
	}
	return out
}

func TestRedeliveryAfterLostPublishReEmitsTheSameEvent(t *testing.T) {
	t.Parallel()
	store := newStore(t, order.Validating)
	store.loseEvents = true // the first delivery's write lands, its event is lost
	work := 0
	ctx := context.Background()
	if err := pipeline.Advance(ctx, store, store, "o1", validationLike(&work)); err != nil {
		t.Fatal(err)
	}
	if len(store.published) != 0 {
		t.Fatalf("published %v before redelivery", ids(store.published))
	}
	store.loseEvents = false
	if err := pipeline.Advance(ctx, store, store, "o1", validationLike(&work)); err != nil {
		t.Fatal(err)
	}
	want := []string{contracts.DetailOrderValidated + "/" + pipeline.EventID("o1", contracts.DetailOrderValidated)}
	if diff := cmp.Diff(want, ids(store.published)); diff != "" {
		t.Errorf("re-emitted events (-want +got):\n%s", diff)
	}
	if work != 1 {
		t.Errorf("side effects ran %d times, want once", work)
	}
	o, _ := store.Get(ctx, "o1")
	if o.Status() != order.InventoryCheck || len(o.History()) != 3 {
		t.Errorf("order %s with %d history entries, want INVENTORY_CHECK with 3", o.Status(), len(o.History()))
	}
}

func TestStaleEventIsAcknowledgedAndIgnored(t *testing.T) {
	t.Parallel()
	store := newStore(t, order.Pending) // the stage expects VALIDATING; the order has not got there
	work := 0
	if err := pipeline.Advance(context.Background(), store, store, "o1", validationLike(&work)); err != nil {
		t.Fatalf("stale event: %v, want nil (acknowledged)", err)
	}
	if work != 0 || len(store.published) != 0 {
		t.Errorf("stale event did work %d times and published %v", work, ids(store.published))
	}
}

func TestOrderCancelledDuringWorkIsNotMovedOn(t *testing.T) {
	t.Parallel()
	store := newStore(t, order.Validating)
	store.beforeWrite = func(o *order.Order) {
		if err := o.Cancel(now); err != nil {
			t.Error(err)
		}
	}
	work := 0
	if err := pipeline.Advance(context.Background(), store, store, "o1", validationLike(&work)); err != nil {
		t.Fatal(err)
	}
	o, _ := store.Get(context.Background(), "o1")
	if o.Status() != order.Cancelled || len(store.published) != 0 {
		t.Errorf("order %s, published %v; want CANCELLED and nothing published", o.Status(), ids(store.published))
	}
}

func TestWorkErrorsAreReturnedForRetry(t *testing.T) {
	t.Parallel()
	store := newStore(t, order.Validating)
	st := validationLike(new(int))
	st.Work = func(context.Context, *order.Order) (func(*order.Order) error, error) {
		return nil, fault.Unavailablef("gateway timeout")
	}
	err := pipeline.Advance(context.Background(), store, store, "o1", st)
	if !fault.Retryable(err) || fault.KindOf(err) != fault.Unavailable {
		t.Errorf("err = %v, want a retryable unavailable error", err)
	}
	if err := pipeline.Advance(context.Background(), store, store, "missing", st); !fault.Is(err, fault.NotFound) {
		t.Errorf("unknown order: %v, want not found", err)
	}
	st.Work = func(context.Context, *order.Order) (func(*order.Order) error, error) { return nil, pipeline.ErrSkip }
	if err := pipeline.Advance(context.Background(), store, store, "o1", st); err != nil || errors.Is(err, pipeline.ErrSkip) {
		t.Errorf("skip: %v, want nil", err)
	}
}

func TestEventIDsAreDeterministic(t *testing.T) {
	t.Parallel()
	a, b := pipeline.EventID("o1", "OrderCreated"), pipeline.EventID("o1", "OrderCreated")
	if a != b || a == pipeline.EventID("o1", "OrderValidated") || a == pipeline.EventID("o2", "OrderCreated") {
		t.Errorf("event ids not deterministic per (order, type): %s %s", a, b)
	}
}
