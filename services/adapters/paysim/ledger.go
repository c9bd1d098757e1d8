package paysim

import (
	"context"

	"github.com/orderflow/orderflow/contracts"
)

// State is where an order's payment is.
type State string

// Payment states.
const (
	StateNone       State = ""
	StateAuthorized State = "AUTHORIZED"
	StateCaptured   State = "CAPTURED"
	StateVoided     State = "VOIDED"
	StateDeclined   State = "DECLINED"
)

// Record is the gateway's memory of one order's payment.
type Record struct {
	OrderID         string
	State           State
	AuthorizationID string
	Amount          contracts.Amount
	Currency        string
	// Attempts counts authorization attempts, which is how tok_flaky knows when to succeed.
	Attempts int
	// DeclineCode is set when State is StateDeclined.
	DeclineCode string
}

// Ledger stores the simulated gateway's records durably.
type Ledger interface {
	// Apply loads the record of orderID (a zero Record with OrderID set if there is none), calls fn, and
	// stores the record atomically with respect to other Apply calls for the same order. If fn returns an
	// error, nothing is stored and that error is returned.
	Apply(ctx context.Context, orderID string, fn func(r *Record) error) error
}
