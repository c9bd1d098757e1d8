// Package dispatcher takes accepted orders off the ingest queue and puts them on the bus: it moves a
// PENDING order into VALIDATING and emits OrderCreated, the event the choreography starts from.
package dispatcher

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// Service dispatches queued orders.
type Service struct {
	pipeline.Deps
}

// Handle consumes one message of the ingest queue. A redelivered message (or one re-queued by the
// reconciler) for an order that is already on its way re-emits OrderCreated, which consumers deduplicate;
// one for an order cancelled while it waited is ignored.
//
// A cancel's follow-up (m.FollowUp) publishes the order's OrderCancelled again if the order is
// cancelled, and does nothing otherwise (the cancel was refused, or never written).
func (s *Service) Handle(ctx context.Context, m contracts.OrderMessage) error {
	if m.FollowUp == contracts.FollowUpCancel {
		return s.followUpCancel(ctx, m.OrderID)
	}
	return pipeline.Advance(ctx, s.Orders, s.Publisher, m.OrderID, pipeline.Stage{
		Name:   "dispatcher",
		Expect: order.Pending,
		Work: func(context.Context, *order.Order) (func(*order.Order) error, error) {
			now := s.Now()
			return func(o *order.Order) error { return o.StartValidation(now) }, nil
		},
		Result: s.result,
	})
}

func (s *Service) result(o *order.Order) (contracts.Event, bool, error) {
	if !o.Reached(order.Validating) {
		return contracts.Event{}, false, nil
	}
	at := pipeline.EnteredAt(o, order.Validating).At
	ev, err := s.Envelope.Event(o, contracts.SourceOrders, contracts.DetailOrderCreated, contracts.OrderCreatedDetail{
		DetailMeta: pipeline.Meta(o), CustomerID: o.CustomerID(), CustomerEmail: o.CustomerEmail(),
		CustomerPhone: o.CustomerPhone(), Items: pipeline.LineItems(o), TotalAmount: o.Total(),
		Currency: o.Currency(), ShippingAddress: o.ShippingAddress(), CreatedAt: o.CreatedAt(),
	}, at)
	return ev, err == nil, err
}

func (s *Service) followUpCancel(ctx context.Context, orderID string) error {
	o, err := s.Orders.Get(ctx, orderID)
	if fault.Is(err, fault.NotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dispatcher: follow up the cancel of order %s: %w", orderID, err)
	}
	ev, ok, err := s.Envelope.Cancelled(o)
	if err != nil || !ok {
		return err
	}
	if err := s.Publisher.Publish(ctx, ev); err != nil {
		return fmt.Errorf("dispatcher: re-publish OrderCancelled of order %s: %w", orderID, err)
	}
	return nil
}
