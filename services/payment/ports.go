// Package payment is the payment service: it authorizes an order's payment once its stock is reserved,
// and voids the authorization if the order then fails or is cancelled. Capture happens at fulfillment.
package payment

import (
	"context"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
)

// AuthorizeRequest asks the gateway to hold an amount on a payment token.
type AuthorizeRequest struct {
	OrderID  string
	Amount   contracts.Amount
	Currency string
	Token    string
}

// Authorization is a successful authorization.
type Authorization struct {
	ID string
}

// Decline codes that a gateway reports, kind fault.Conflict: retrying will not help.
const (
	CodeDeclined          = "PAYMENT_DECLINED"
	CodeInsufficientFunds = "INSUFFICIENT_FUNDS"
)

// ErrVoided (kind fault.Conflict) is returned by Authorize for an order whose payment was already voided.
var ErrVoided = fault.New(fault.Conflict, "PAYMENT_VOIDED", "payment already voided")

// Gateway is a payment gateway. Every call is keyed by order id, so that it can never charge twice.
type Gateway interface {
	// Authorize holds the amount. Authorizing an order that is already authorized returns the same
	// authorization. A decline is a fault.Conflict error with CodeDeclined or CodeInsufficientFunds; a
	// transient failure is fault.Unavailable.
	Authorize(ctx context.Context, r AuthorizeRequest) (Authorization, error)
	// Capture takes the authorized amount. Capturing twice is a no-op. Capturing an order that has no
	// authorization is a fault.Conflict error.
	Capture(ctx context.Context, orderID string) error
	// Void cancels the authorization exactly once: it returns the voided authorization and true the first
	// time, and the same authorization and false afterwards. Voiding an order with nothing authorized records that, so that a later
	// Authorize returns ErrVoided, and returns false. A captured payment cannot be voided (fault.Conflict).
	Void(ctx context.Context, orderID string) (Authorization, bool, error)
}
