// Package fulfillment is the last stage: it creates the shipment of a paid order, captures the payment
// and completes the order ("ready for shipping").
package fulfillment

import (
	"context"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// ShipmentRequest is what a carrier needs to ship an order.
type ShipmentRequest struct {
	OrderID   string
	Address   contracts.Address
	ItemCount int
	Now       time.Time
}

// Carrier books shipments. Booking is keyed by order id: booking the same order again returns the same
// shipment.
type Carrier interface {
	Book(ctx context.Context, r ShipmentRequest) (contracts.Shipment, error)
}

// Capturer captures authorized payments (the payment gateway).
type Capturer interface {
	Capture(ctx context.Context, orderID string) error
}

// Service fulfills orders.
type Service struct {
	pipeline.Deps
	Carrier  Carrier
	Payments Capturer
}

// Handle reacts to PaymentAuthorized.
func (s *Service) Handle(ctx context.Context, e contracts.Event) error {
	return s.Deps.Handle(ctx, e, pipeline.Stage{
		Name:   "fulfillment",
		Expect: order.Fulfillment,
		Work:   s.fulfill,
		Result: s.result,
	})
}

func (s *Service) fulfill(ctx context.Context, o *order.Order) (func(*order.Order) error, error) {
	now := s.Now()
	sh, err := s.Carrier.Book(ctx, ShipmentRequest{OrderID: o.ID(), Address: o.ShippingAddress(), ItemCount: o.ItemCount(), Now: now})
	if err != nil {
		return nil, fmt.Errorf("book shipment: %w", err)
	}
	if err := s.Payments.Capture(ctx, o.ID()); err != nil {
		return nil, fmt.Errorf("capture payment: %w", err)
	}
	return func(o *order.Order) error { return o.Complete(sh, now) }, nil
}

func (s *Service) result(o *order.Order) (contracts.Event, bool, error) {
	if !o.Reached(order.Completed) {
		return s.Envelope.Failed(o, contracts.SourceFulfillment, order.Fulfillment)
	}
	at := pipeline.EnteredAt(o, order.Completed).At
	ev, err := s.Envelope.Event(o, contracts.SourceFulfillment, contracts.DetailOrderCompleted, contracts.OrderCompletedDetail{
		DetailMeta: pipeline.Meta(o), CustomerID: o.CustomerID(), CustomerPhone: o.CustomerPhone(),
		ItemCount: o.ItemCount(), TotalAmount: o.Total(), Currency: o.Currency(), Shipment: *o.Shipment(), CompletedAt: at,
	}, at)
	return ev, err == nil, err
}
