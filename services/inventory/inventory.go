package inventory

import (
	"context"
	"errors"
	"fmt"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// Service reserves and releases stock.
type Service struct {
	pipeline.Deps
	Store Store
}

// HandleValidated reacts to OrderValidated: it reserves every item, all or nothing, and moves the order
// on to PAYMENT_PROCESSING, or fails it with OUT_OF_STOCK.
func (s *Service) HandleValidated(ctx context.Context, e contracts.Event) error {
	return s.Deps.Handle(ctx, e, pipeline.Stage{
		Name:   "inventory",
		Expect: order.InventoryCheck,
		Work:   s.reserve,
		Result: s.result,
	})
}

func (s *Service) reserve(ctx context.Context, o *order.Order) (func(*order.Order) error, error) {
	err := s.Store.Reserve(ctx, o.ID(), Lines(o))
	now := s.Now()
	switch {
	case err == nil:
		return func(o *order.Order) error { return o.ReserveInventory(now) }, nil
	case errors.Is(err, ErrOutOfStock):
		reason := "Not enough stock: " + err.Error()
		return func(o *order.Order) error { return o.Fail(ErrOutOfStock.Code, reason, now) }, nil
	case errors.Is(err, ErrReleased):
		return nil, pipeline.ErrSkip // the order was cancelled or failed meanwhile
	default:
		return nil, fmt.Errorf("reserve stock: %w", err)
	}
}

func (s *Service) result(o *order.Order) (contracts.Event, bool, error) {
	if !o.Reached(order.PaymentProcessing) {
		return s.Envelope.Failed(o, contracts.SourceInventory, order.InventoryCheck)
	}
	at := pipeline.EnteredAt(o, order.PaymentProcessing).At
	ev, err := s.Envelope.Event(o, contracts.SourceInventory, contracts.DetailInventoryReserved, contracts.InventoryReservedDetail{
		DetailMeta: pipeline.Meta(o), CustomerID: o.CustomerID(), Items: reservedItems(Lines(o)),
		TotalAmount: o.Total(), Currency: o.Currency(), ReservedAt: at,
	}, at)
	return ev, err == nil, err
}

// HandleEnded reacts to OrderFailed and OrderCancelled: it releases the order's reservation, exactly
// once, and announces it with InventoryReleased. A redelivery after a crash re-announces the release
// (same event id) instead of releasing again.
func (s *Service) HandleEnded(ctx context.Context, e contracts.Event) error {
	orderID, err := pipeline.OrderIDOf(e)
	if err != nil {
		return err
	}
	lines, _, err := s.Store.Release(ctx, orderID)
	if err != nil {
		return fmt.Errorf("release stock of order %s: %w", orderID, err)
	}
	if len(lines) == 0 {
		return nil // nothing was reserved
	}
	return s.Emit(ctx, orderID, contracts.SourceInventory, contracts.DetailInventoryReleased, e.Time, func(o *order.Order) any {
		return contracts.InventoryReleasedDetail{DetailMeta: pipeline.Meta(o), Items: reservedItems(lines), Reason: e.DetailType, ReleasedAt: e.Time}
	})
}

// Lines is what an order needs from stock.
func Lines(o *order.Order) []Line {
	items := o.Items()
	out := make([]Line, len(items))
	for i, it := range items {
		out[i] = Line{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return out
}

func reservedItems(lines []Line) []contracts.ReservedItem {
	out := make([]contracts.ReservedItem, len(lines))
	for i, l := range lines {
		out[i] = contracts.ReservedItem{ProductID: l.ProductID, Quantity: l.Quantity}
	}
	return out
}
