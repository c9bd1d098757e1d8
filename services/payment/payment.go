package payment

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// Service authorizes and voids payments.
type Service struct {
	pipeline.Deps
	Gateway Gateway
}

// HandleReserved reacts to InventoryReserved: it authorizes the order's total and moves the order on to
// FULFILLMENT, or fails it with the gateway's decline code. Transient gateway errors are retried.
func (s *Service) HandleReserved(ctx context.Context, e contracts.Event) error {
	return s.Deps.Handle(ctx, e, pipeline.Stage{
		Name:   "payment",
		Expect: order.PaymentProcessing,
		Work:   s.authorize,
		Result: s.result,
	})
}

func (s *Service) authorize(ctx context.Context, o *order.Order) (func(*order.Order) error, error) {
	auth, err := s.Gateway.Authorize(ctx, AuthorizeRequest{OrderID: o.ID(), Amount: o.Total(), Currency: o.Currency(), Token: o.PaymentToken()})
	now := s.Now()
	switch code := fault.CodeOf(err); {
	case err == nil:
		return func(o *order.Order) error { return o.AuthorizePayment(auth.ID, now) }, nil
	case code == ErrVoided.Code:
		return nil, pipeline.ErrSkip // the order was cancelled or failed meanwhile
	case code == CodeDeclined || code == CodeInsufficientFunds:
		reason := declineReason(code)
		return func(o *order.Order) error { return o.Fail(code, reason, now) }, nil
	default:
		return nil, fmt.Errorf("authorize payment: %w", err)
	}
}

func declineReason(code string) string {
	if code == CodeInsufficientFunds {
		return "Payment declined: insufficient funds"
	}
	return "Payment declined by the card issuer"
}

func (s *Service) result(o *order.Order) (contracts.Event, bool, error) {
	if !o.Reached(order.Fulfillment) {
		return s.Envelope.Failed(o, contracts.SourcePayment, order.PaymentProcessing)
	}
	at := pipeline.EnteredAt(o, order.Fulfillment).At
	ev, err := s.Envelope.Event(o, contracts.SourcePayment, contracts.DetailPaymentAuthorized, contracts.PaymentAuthorizedDetail{
		DetailMeta: pipeline.Meta(o), CustomerID: o.CustomerID(), AuthorizationID: o.AuthorizationID(),
		Amount: o.Total(), Currency: o.Currency(), AuthorizedAt: at,
	}, at)
	return ev, err == nil, err
}

// HandleEnded reacts to OrderFailed and OrderCancelled: it voids an authorized payment exactly once and
// announces it with PaymentVoided (re-announced, same event id, on redelivery).
func (s *Service) HandleEnded(ctx context.Context, e contracts.Event) error {
	orderID, err := pipeline.OrderIDOf(e)
	if err != nil {
		return err
	}
	auth, _, err := s.Gateway.Void(ctx, orderID)
	if err != nil {
		return fmt.Errorf("void payment of order %s: %w", orderID, err)
	}
	if auth.ID == "" {
		return nil // nothing was authorized
	}
	return s.Emit(ctx, orderID, contracts.SourcePayment, contracts.DetailPaymentVoided, e.Time, func(o *order.Order) any {
		return contracts.PaymentVoidedDetail{DetailMeta: pipeline.Meta(o), AuthorizationID: auth.ID, Amount: o.Total(),
			Currency: o.Currency(), Reason: e.DetailType, VoidedAt: e.Time}
	})
}
