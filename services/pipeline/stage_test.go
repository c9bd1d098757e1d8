package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/memory"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// memOrders is the in-memory order store with two faults injected into Update. With loseEvents set,
// an update's events are dropped: that simulates a crash after the state write and before the publish
// (the AWS adapter's window, which the stage must survive by re-emitting).
type memOrders struct {
	*memory.Orders
	loseEvents bool
	// beforeWrite, if set, changes the order once at the start of the next Update, as a concurrent writer
	// would while the stage does its work.
	beforeWrite func(o *order.Order)
}

func (m *memOrders) Update(ctx context.Context, id string, fn func(*order.Order) ([]contracts.Event, error)) (*order.Order, error) {
	if change := m.beforeWrite; change != nil {
		m.beforeWrite = nil
		if _, err := m.Orders.Update(ctx, id, func(o *order.Order) ([]contracts.Event, error) {
			change(o)
			return nil, nil
		}); err != nil {
			return nil, err
		}
	}
	return m.Orders.Update(ctx, id, func(o *order.Order) ([]contracts.Event, error) {
		evs, err := fn(o)
		if m.loseEvents {
			evs = nil
		}
		return evs, err
	})
}

// published returns the events published about the test's order.
func (m *memOrders) published() []contracts.Event {
	evs, _ := m.Events(context.Background(), "o1")
	return evs
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
	store := &memOrders{Orders: memory.NewOrders()}
	if err := store.Create(context.Background(), o, nil); err != nil {
		t.Fatal(err)
	}
	return store
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
	if len(store.published()) != 0 {
		t.Fatalf("published %v before redelivery", ids(store.published()))
	}
	store.loseEvents = false
	if err := pipeline.Advance(ctx, store, store, "o1", validationLike(&work)); err != nil {
		t.Fatal(err)
	}
	want := []string{contracts.DetailOrderValidated + "/" + pipeline.EventID("o1", contracts.DetailOrderValidated)}
	if diff := cmp.Diff(want, ids(store.published())); diff != "" {
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
	if work != 0 || len(store.published()) != 0 {
		t.Errorf("stale event did work %d times and published %v", work, ids(store.published()))
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
	if o.Status() != order.Cancelled || len(store.published()) != 0 {
		t.Errorf("order %s, published %v; want CANCELLED and nothing published", o.Status(), ids(store.published()))
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

// TestEventIDsAreTheSHA1UUIDsOfOrderAndType pins the ids to the name-based UUIDs they have always been
// (stored and published ids must not change between releases), for names longer than the stack buffer
// too.
func TestEventIDsAreTheSHA1UUIDsOfOrderAndType(t *testing.T) {
	t.Parallel()
	ns := uuid.MustParse("5b0e7a7e-1c2f-4f57-9a5e-0f3d7c1a2b44")
	for _, id := range []string{"", "o1", "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", strings.Repeat("x", 200)} {
		for _, dt := range []string{contracts.DetailOrderCreated, contracts.DetailInventoryReleased, ""} {
			if got, want := pipeline.EventID(id, dt), uuid.NewSHA1(ns, []byte(id+"/"+dt)).String(); got != want {
				t.Errorf("EventID(%q, %q) = %s, want %s", id, dt, got, want)
			}
		}
	}
}
