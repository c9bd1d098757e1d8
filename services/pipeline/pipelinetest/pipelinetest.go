// Package pipelinetest is the contract test suite of pipeline.Orders and pipeline.Publisher. Every
// adapter of those ports runs it, so that they all keep the promises the pipeline stages rely on:
// conditional updates that never lose a concurrent write, an update and its events stored together,
// and events deduplicated by id.
package pipelinetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// Store is what the suite drives: the ports under test, plus Create to put orders in place and Events
// to read back what was published about an order.
type Store interface {
	pipeline.Orders
	pipeline.Publisher
	// Create stores a new order, as ingest.Store does.
	Create(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord) error
	// Events returns every event published about the order, oldest first.
	Events(ctx context.Context, orderID string) ([]contracts.Event, error)
}

// Run runs the suite. open must return an empty store of its own, cleaned up when the test ends.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("get", func(t *testing.T) { t.Parallel(); testGet(t, open) })
	t.Run("update", func(t *testing.T) { t.Parallel(); testUpdate(t, open) })
	t.Run("concurrent updates", func(t *testing.T) { t.Parallel(); testConcurrentUpdates(t, open) })
	t.Run("publish", func(t *testing.T) { t.Parallel(); testPublish(t, open) })
	t.Run("large orders", func(t *testing.T) { t.Parallel(); testLargeOrders(t, open) })
}

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// NewOrder returns a valid PENDING order with a fresh UUIDv7 id for the customer.
func NewOrder(t testing.TB, customerID string, at time.Time) *order.Order {
	t.Helper()
	o, err := order.New(order.Draft{
		ID:            uuid.Must(uuid.NewV7()).String(),
		CustomerID:    customerID,
		CustomerEmail: customerID + "@example.com",
		CustomerPhone: "+15550100",
		Items: []order.Item{
			{ProductID: "LAPTOP001", Name: "Laptop", Quantity: 1, Price: 129999},
			{ProductID: "MOUSE001", Name: "Mouse", Quantity: 2, Price: 2999},
		},
		Total:           129999 + 2*2999,
		Currency:        "USD",
		PaymentToken:    "tok_visa",
		ShippingAddress: contracts.Address{Street: "1 Main St", City: "Springfield", State: "IL", ZipCode: "62701", Country: "US"},
		CorrelationID:   uuid.NewString(),
	}, at)
	if err != nil {
		t.Fatalf("order.New: %v", err)
	}
	return o
}

// NewLargeOrder returns a valid PENDING order with order.MaxItems lines of distinct products, each
// with a long name, for the customer: the largest order the aggregate allows.
func NewLargeOrder(t testing.TB, customerID string, at time.Time) *order.Order {
	t.Helper()
	items := make([]order.Item, order.MaxItems)
	var total contracts.Amount
	for i := range items {
		items[i] = order.Item{
			ProductID: fmt.Sprintf("PRODUCT%03d", i), Name: fmt.Sprintf("Product %03d ", i) + strings.Repeat("x", 180),
			Quantity: order.MaxQuantity, Price: 99999,
		}
		total += contracts.Amount(items[i].Quantity) * items[i].Price
	}
	o, err := order.New(order.Draft{
		ID: uuid.Must(uuid.NewV7()).String(), CustomerID: customerID, CustomerEmail: customerID + "@example.com",
		Items: items, Total: total, Currency: "USD", PaymentToken: "tok_visa",
		ShippingAddress: contracts.Address{Street: "1 Main St", City: "Springfield", State: "IL", ZipCode: "62701", Country: "US"},
		CorrelationID:   uuid.NewString(),
	}, at)
	if err != nil {
		t.Fatalf("order.New: %v", err)
	}
	return o
}

func create(t *testing.T, s Store) *order.Order {
	t.Helper()
	o := NewOrder(t, "cust-1", start)
	if err := s.Create(t.Context(), o, nil); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return o
}

// event returns an event about o with the given detail type and a deterministic id.
func event(t *testing.T, o *order.Order, detailType string) contracts.Event {
	t.Helper()
	e, err := pipeline.LocalEnvelope.Event(o, contracts.SourceOrders, detailType, struct {
		contracts.DetailMeta
		Note string `json:"note"`
	}{pipeline.Meta(o), detailType}, start)
	if err != nil {
		t.Fatalf("build event: %v", err)
	}
	return e
}

// withID returns a copy of e with another id.
func withID(e contracts.Event, id string) contracts.Event {
	e.ID = id
	return e
}

func events(t *testing.T, s Store, orderID string) []contracts.Event {
	t.Helper()
	got, err := s.Events(t.Context(), orderID)
	if err != nil {
		t.Fatalf("Events(%s): %v", orderID, err)
	}
	return got
}

func ids(events []contracts.Event) []string {
	out := make([]string, 0, len(events))
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

func get(t *testing.T, s Store, id string) *order.Order {
	t.Helper()
	o, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return o
}

func testGet(t *testing.T, open func(t *testing.T) Store) {
	t.Run("returns the created order", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		got := get(t, s, o.ID())
		if diff := cmp.Diff(o.View(), got.View()); diff != "" {
			t.Errorf("Get (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(o.Items(), got.Items()); diff != "" {
			t.Errorf("items (-want +got):\n%s", diff)
		}
		if got.PaymentToken() != o.PaymentToken() || got.CorrelationID() != o.CorrelationID() {
			t.Errorf("Get lost the payment token or correlation id: got %q, %q", got.PaymentToken(), got.CorrelationID())
		}
	})
	t.Run("unknown id is not found", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, err := s.Get(t.Context(), uuid.NewString())
		if !fault.Is(err, fault.NotFound) {
			t.Errorf("Get(unknown) error = %v, want kind not found", err)
		}
	})
}

func testUpdate(t *testing.T, open func(t *testing.T) Store) {
	t.Run("stores the change and its events together", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		before := get(t, s, o.ID()).Version()
		var e contracts.Event
		got, err := s.Update(t.Context(), o.ID(), func(o *order.Order) ([]contracts.Event, error) {
			if err := o.StartValidation(start.Add(time.Second)); err != nil {
				return nil, err
			}
			e = event(t, o, contracts.DetailOrderCreated)
			return []contracts.Event{e}, nil
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if got.Status() != order.Validating || got.Version() != before+1 {
			t.Errorf("Update returned status %s version %d, want %s version %d", got.Status(), got.Version(), order.Validating, before+1)
		}
		stored := get(t, s, o.ID())
		if stored.Status() != order.Validating || stored.Version() != before+1 {
			t.Errorf("stored status %s version %d, want %s version %d", stored.Status(), stored.Version(), order.Validating, before+1)
		}
		if diff := cmp.Diff([]contracts.Event{e}, events(t, s, o.ID())); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("a failing function writes nothing and its error is returned", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		before := get(t, s, o.ID())
		boom := errors.New("boom")
		_, err := s.Update(t.Context(), o.ID(), func(o *order.Order) ([]contracts.Event, error) {
			if err := o.StartValidation(start.Add(time.Second)); err != nil {
				return nil, err
			}
			return []contracts.Event{event(t, o, contracts.DetailOrderCreated)}, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update error = %v, want %v", err, boom)
		}
		after := get(t, s, o.ID())
		if after.Status() != order.Pending || after.Version() != before.Version() {
			t.Errorf("after a failed update: status %s version %d, want %s version %d", after.Status(), after.Version(), order.Pending, before.Version())
		}
		if got := events(t, s, o.ID()); len(got) != 0 {
			t.Errorf("events after a failed update = %v, want none", ids(got))
		}
	})
	t.Run("a transition the state machine refuses comes back as that error", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		_, err := s.Update(t.Context(), o.ID(), func(o *order.Order) ([]contracts.Event, error) {
			return nil, o.Complete(contracts.Shipment{}, start)
		})
		if !order.IsInvalidTransition(err) {
			t.Errorf("Update error = %v, want an invalid transition", err)
		}
	})
	t.Run("unknown id is not found and the function is not called", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		called := false
		_, err := s.Update(t.Context(), uuid.NewString(), func(o *order.Order) ([]contracts.Event, error) {
			called = true
			return nil, nil
		})
		if !fault.Is(err, fault.NotFound) || called {
			t.Errorf("Update(unknown) = %v (function called: %v), want kind not found and no call", err, called)
		}
	})
	t.Run("every update counts one version", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		before := get(t, s, o.ID()).Version()
		for range 3 {
			if _, err := s.Update(t.Context(), o.ID(), func(*order.Order) ([]contracts.Event, error) { return nil, nil }); err != nil {
				t.Fatalf("Update: %v", err)
			}
		}
		if got := get(t, s, o.ID()).Version(); got != before+3 {
			t.Errorf("version after 3 updates = %d, want %d", got, before+3)
		}
	})
}

func testConcurrentUpdates(t *testing.T, open func(t *testing.T) Store) {
	t.Run("a write between the read and the write reruns the function on the new state", func(t *testing.T) {
		// Goroutine races rarely land in the window between an update's read and its write; this forces
		// one there, so an adapter that skips the version check cannot pass by luck.
		t.Parallel()
		s := open(t)
		o := create(t, s)
		before := get(t, s, o.ID()).Version()
		now := time.Now()
		var seen []order.Status
		got, err := s.Update(t.Context(), o.ID(), func(o *order.Order) ([]contracts.Event, error) {
			seen = append(seen, o.Status())
			if len(seen) == 1 {
				if _, err := s.Update(t.Context(), o.ID(), func(o *order.Order) ([]contracts.Event, error) {
					return nil, o.StartValidation(now)
				}); err != nil {
					t.Fatalf("interleaved Update: %v", err)
				}
			}
			return nil, o.Cancel(now)
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if want := []order.Status{order.Pending, order.Validating}; !slices.Equal(want, seen) {
			t.Errorf("the function saw %v, want %v: it must rerun on the state the other write left", seen, want)
		}
		if got.Status() != order.Cancelled || got.Version() != before+2 || len(got.History()) != 3 {
			t.Errorf("order %s at version %d with %d history entries, want CANCELLED at %d with 3", got.Status(), got.Version(), len(got.History()), before+2)
		}
	})
	t.Run("20 goroutines each updating 5 times lose no write", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		before := get(t, s, o.ID()).Version()
		const workers, each = 20, 5
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					id := fmt.Sprintf("%s-%02d-%d", o.ID(), w, i)
					_, err := s.Update(t.Context(), o.ID(), func(o *order.Order) ([]contracts.Event, error) {
						// Each update publishes an event of its own: a lost write would lose it.
						return []contracts.Event{withID(event(t, o, "Tick"), id)}, nil
					})
					if err != nil {
						t.Errorf("Update %s: %v", id, err)
					}
				}
			})
		}
		wg.Wait()
		if got := get(t, s, o.ID()).Version(); got != before+workers*each {
			t.Errorf("version = %d, want %d: concurrent writes were lost", got, before+workers*each)
		}
		if got := events(t, s, o.ID()); len(got) != workers*each {
			t.Errorf("%d events stored, want %d", len(got), workers*each)
		}
	})
	t.Run("20 goroutines racing the same transition: exactly one wins", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		var mu sync.Mutex
		wins, refused := 0, 0
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, err := s.Update(t.Context(), o.ID(), func(o *order.Order) ([]contracts.Event, error) {
					if err := o.StartValidation(start.Add(time.Second)); err != nil {
						return nil, err
					}
					return []contracts.Event{event(t, o, contracts.DetailOrderCreated)}, nil
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case order.IsInvalidTransition(err):
					refused++
				default:
					t.Errorf("Update: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 || refused != 19 {
			t.Errorf("%d updates won and %d were refused, want 1 and 19", wins, refused)
		}
		var validating int
		for _, c := range get(t, s, o.ID()).History() {
			if c.Status == order.Validating {
				validating++
			}
		}
		if validating != 1 {
			t.Errorf("history holds VALIDATING %d times, want once", validating)
		}
		if got := events(t, s, o.ID()); len(got) != 1 {
			t.Errorf("%d events stored, want 1", len(got))
		}
	})
}

func testLargeOrders(t *testing.T, open func(t *testing.T) Store) {
	t.Run("an order with the most lines allowed is stored, updated and read back whole", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := NewLargeOrder(t, "cust-1", start)
		if err := s.Create(t.Context(), o, nil); err != nil {
			t.Fatalf("Create of %d lines: %v", len(o.Items()), err)
		}
		var want []contracts.Event
		// Walk it through every stage, with an event per step, so that its history grows too.
		steps := []func(o *order.Order, at time.Time) error{
			(*order.Order).StartValidation, (*order.Order).PassValidation, (*order.Order).ReserveInventory,
			func(o *order.Order, at time.Time) error { return o.AuthorizePayment("auth-1", at) },
		}
		for i, step := range steps {
			_, err := s.Update(t.Context(), o.ID(), func(o *order.Order) ([]contracts.Event, error) {
				if err := step(o, start.Add(time.Duration(i+1)*time.Second)); err != nil {
					return nil, err
				}
				e := event(t, o, fmt.Sprintf("Step%d", i))
				return []contracts.Event{e}, nil
			})
			if err != nil {
				t.Fatalf("Update %d: %v", i, err)
			}
			want = append(want, event(t, o, fmt.Sprintf("Step%d", i)))
		}
		got := get(t, s, o.ID())
		if diff := cmp.Diff(o.Items(), got.Items()); diff != "" {
			t.Errorf("items (-want +got):\n%s", diff)
		}
		if got.Status() != order.Fulfillment || len(got.History()) != len(steps)+1 {
			t.Errorf("status %s with %d history entries after the steps, want %s with %d", got.Status(), len(got.History()), order.Fulfillment, len(steps)+1)
		}
		if diff := cmp.Diff(ids(want), ids(events(t, s, o.ID()))); diff != "" {
			t.Errorf("event ids (-want +got):\n%s", diff)
		}
	})
}

func testPublish(t *testing.T, open func(t *testing.T) Store) {
	t.Run("events are returned oldest first", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		var want []contracts.Event
		for _, dt := range []string{contracts.DetailOrderCreated, contracts.DetailOrderValidated, contracts.DetailInventoryReserved} {
			e := event(t, o, dt)
			want = append(want, e)
			if err := s.Publish(t.Context(), e); err != nil {
				t.Fatalf("Publish(%s): %v", dt, err)
			}
		}
		if diff := cmp.Diff(want, events(t, s, o.ID())); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("an event id published again stores nothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		first := event(t, o, contracts.DetailOrderCreated)
		again := first
		again.Detail = json.RawMessage(`{"orderId":"` + o.ID() + `","note":"changed"}`)
		for _, e := range []contracts.Event{first, again, first} {
			if err := s.Publish(t.Context(), e); err != nil {
				t.Fatalf("Publish: %v", err)
			}
		}
		if diff := cmp.Diff([]contracts.Event{first}, events(t, s, o.ID())); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("a batch with a known id stores only the new ones", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		a, b := event(t, o, contracts.DetailOrderCreated), event(t, o, contracts.DetailOrderValidated)
		if err := s.Publish(t.Context(), a); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if err := s.Publish(t.Context(), a, b); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if diff := cmp.Diff([]string{a.ID, b.ID}, ids(events(t, s, o.ID()))); diff != "" {
			t.Errorf("event ids (-want +got):\n%s", diff)
		}
	})
	t.Run("an update re-emitting a published event does not duplicate it", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		e := event(t, o, contracts.DetailOrderCreated)
		if err := s.Publish(t.Context(), e); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if _, err := s.Update(t.Context(), o.ID(), func(*order.Order) ([]contracts.Event, error) {
			return []contracts.Event{e}, nil
		}); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if got := events(t, s, o.ID()); len(got) != 1 {
			t.Errorf("events = %v, want just %s", ids(got), e.ID)
		}
	})
	t.Run("concurrent publishers of one event store it once", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := create(t, s)
		e := event(t, o, contracts.DetailOrderCreated)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if err := s.Publish(t.Context(), e); err != nil {
					t.Errorf("Publish: %v", err)
				}
			})
		}
		wg.Wait()
		if got := events(t, s, o.ID()); len(got) != 1 {
			t.Errorf("%d events stored, want 1", len(got))
		}
	})
	t.Run("publishing nothing is fine", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if err := s.Publish(t.Context()); err != nil {
			t.Errorf("Publish() = %v, want nil", err)
		}
	})
}
