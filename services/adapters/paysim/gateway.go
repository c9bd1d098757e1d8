// Package paysim is a simulated payment gateway for the local runtime and tests. It behaves like a real
// one where it matters: every call is keyed by order id and remembered in a durable Ledger, so an order
// can never be charged twice, and the test tokens produce approvals, declines and transient failures.
package paysim

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/payment"
)

// Test payment tokens.
const (
	TokenVisa              = "tok_visa"               // approves
	TokenDecline           = "tok_decline"            // declines: PAYMENT_DECLINED
	TokenInsufficientFunds = "tok_insufficient_funds" // declines: INSUFFICIENT_FUNDS
	TokenFlaky             = "tok_flaky"              // fails transiently twice, then approves
)

// flakyFailures is how many attempts of tok_flaky fail before one succeeds.
const flakyFailures = 2

// Gateway is the simulated gateway.
type Gateway struct {
	ledger Ledger
}

var _ payment.Gateway = (*Gateway)(nil)

// New returns a gateway that remembers payments in ledger.
func New(ledger Ledger) *Gateway { return &Gateway{ledger: ledger} }

// Authorize implements payment.Gateway. Unknown tokens approve, like tok_visa.
func (g *Gateway) Authorize(ctx context.Context, r payment.AuthorizeRequest) (payment.Authorization, error) {
	var auth payment.Authorization
	var outcome error
	err := g.ledger.Apply(ctx, r.OrderID, func(rec *Record) error {
		switch rec.State {
		case StateAuthorized, StateCaptured:
			auth.ID = rec.AuthorizationID
			return nil
		case StateVoided:
			outcome = fmt.Errorf("authorize order %s: %w", r.OrderID, payment.ErrVoided)
			return nil
		case StateDeclined:
			outcome = decline(rec.DeclineCode)
			return nil
		}
		rec.Attempts++
		rec.Amount, rec.Currency = r.Amount, r.Currency
		switch r.Token {
		case TokenDecline:
			rec.State, rec.DeclineCode = StateDeclined, payment.CodeDeclined
			outcome = decline(rec.DeclineCode)
		case TokenInsufficientFunds:
			rec.State, rec.DeclineCode = StateDeclined, payment.CodeInsufficientFunds
			outcome = decline(rec.DeclineCode)
		case TokenFlaky:
			if rec.Attempts <= flakyFailures {
				outcome = fault.Unavailablef("payment gateway timed out (attempt %d)", rec.Attempts)
				return nil // remember the attempt
			}
			fallthrough
		default:
			rec.State = StateAuthorized
			rec.AuthorizationID = "auth_" + uuid.NewSHA1(uuid.NameSpaceOID, []byte(r.OrderID)).String()[:18]
		}
		auth.ID = rec.AuthorizationID
		return nil
	})
	if err != nil {
		return payment.Authorization{}, fmt.Errorf("authorize order %s: %w", r.OrderID, err)
	}
	if outcome != nil {
		return payment.Authorization{}, outcome
	}
	return auth, nil
}

func decline(code string) error {
	return fault.New(fault.Conflict, code, "payment declined")
}

// Capture implements payment.Gateway.
func (g *Gateway) Capture(ctx context.Context, orderID string) error {
	return g.ledger.Apply(ctx, orderID, func(rec *Record) error {
		switch rec.State {
		case StateCaptured:
			return nil
		case StateAuthorized:
			rec.State = StateCaptured
			return nil
		}
		return fault.Conflictf("capture order %s: payment is %q, not authorized", orderID, rec.State)
	})
}

// Void implements payment.Gateway.
func (g *Gateway) Void(ctx context.Context, orderID string) (payment.Authorization, bool, error) {
	var auth payment.Authorization
	var first bool
	err := g.ledger.Apply(ctx, orderID, func(rec *Record) error {
		switch rec.State {
		case StateCaptured:
			return fault.Conflictf("void order %s: payment already captured", orderID)
		case StateAuthorized:
			first = true
		case StateVoided:
		default: // nothing authorized (or declined): tombstone, so that no later Authorize succeeds
		}
		rec.State = StateVoided
		auth.ID = rec.AuthorizationID
		return nil
	})
	if err != nil {
		return payment.Authorization{}, false, err
	}
	return auth, first, nil
}
