package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/order"
)

// Deps are what every stage service needs: the orders, the bus, the envelope and the clock.
type Deps struct {
	Orders    Orders
	Publisher Publisher
	Envelope  Envelope
	Now       func() time.Time
}

// Handle runs st for the order that event e is about (see EventOrderID: the envelope's resource, so the
// detail need not be decoded). An event about no order is malformed: fault.Invalid, dead-lettered rather
// than retried.
func (d Deps) Handle(ctx context.Context, e contracts.Event, st Stage) error {
	id, err := OrderIDOf(e)
	if err != nil {
		return err
	}
	return Advance(ctx, d.Orders, d.Publisher, id, st)
}

// OrderIDOf returns the id of the order e is about (EventOrderID), or a fault.Invalid error for an event
// about no order, which is dead-lettered rather than retried.
func OrderIDOf(e contracts.Event) (string, error) {
	if id := EventOrderID(e); id != "" {
		return id, nil
	}
	return "", invalidEvent(e, "no order id in resources or detail")
}

// Emit publishes an event about an order that is not a transition of it (a release or a void),
// building its detail from the order as stored. Its id is deterministic, so emitting it again after a
// crash publishes the same event.
func (d Deps) Emit(ctx context.Context, orderID, source, detailType string, at time.Time, detail func(o *order.Order) any) error {
	o, err := d.Orders.Get(ctx, orderID)
	if err != nil {
		return fmt.Errorf("emit %s: load order %s: %w", detailType, orderID, err)
	}
	ev, err := d.Envelope.Event(o, source, detailType, detail(o), at)
	if err != nil {
		return err
	}
	if err := d.Publisher.Publish(ctx, ev); err != nil {
		return fmt.Errorf("emit %s for order %s: %w", detailType, orderID, err)
	}
	return nil
}
