// Package order is the order aggregate: its data, its invariants and the state machine that moves it
// through the pipeline. It is pure: no storage, no transport. Adapters persist it through Snapshot and
// FromSnapshot; services change it only through its transition methods, which refuse every move the
// state machine does not allow.
package order

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
)

// Status is where an order is in the pipeline.
type Status string

// The statuses, in pipeline order. Each of the middle four means "this stage is working on the order".
const (
	Pending           Status = "PENDING"
	Validating        Status = "VALIDATING"
	InventoryCheck    Status = "INVENTORY_CHECK"
	PaymentProcessing Status = "PAYMENT_PROCESSING"
	Fulfillment       Status = "FULFILLMENT"
	Completed         Status = "COMPLETED"
	Failed            Status = "FAILED"
	Cancelled         Status = "CANCELLED"
)

// Statuses lists every status, pipeline order first.
var Statuses = []Status{Pending, Validating, InventoryCheck, PaymentProcessing, Fulfillment, Completed, Failed, Cancelled}

// transitions is the state machine: the statuses each status may move to.
var transitions = map[Status][]Status{
	Pending:           {Validating, Failed, Cancelled},
	Validating:        {InventoryCheck, Failed, Cancelled},
	InventoryCheck:    {PaymentProcessing, Failed, Cancelled},
	PaymentProcessing: {Fulfillment, Failed, Cancelled},
	Fulfillment:       {Completed, Failed},
}

// CanTransition reports whether the state machine allows from → to.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Terminal reports whether no transition leaves s.
func (s Status) Terminal() bool { return len(transitions[s]) == 0 }

// Limits on an order's shape.
const (
	MaxItems    = 100
	MaxQuantity = 1000
)

// Errors returned by transitions. They are classified as fault.Conflict.
var (
	ErrInvalidTransition = fault.New(fault.Conflict, "INVALID_TRANSITION", "status transition not allowed")
	ErrAlreadyCancelled  = fault.New(fault.Conflict, "ALREADY_CANCELLED", "order is already cancelled")
	ErrNotCancellable    = fault.New(fault.Conflict, "NOT_CANCELLABLE", "order can no longer be cancelled")
)

// Item is one line of an order.
type Item struct {
	ProductID string
	Name      string
	Quantity  int
	Price     contracts.Amount
}

// Change is one entry of an order's history.
type Change struct {
	Status Status
	At     time.Time
}

// Draft is what a new order is made from.
type Draft struct {
	ID string
	// Reference is the order's short reference (see ParseReference); empty draws a fresh one with
	// NewReference.
	Reference       string
	CustomerID      string
	CustomerEmail   string
	CustomerPhone   string
	Items           []Item
	Total           contracts.Amount
	Currency        string
	PaymentToken    string
	ShippingAddress contracts.Address
	CorrelationID   string
}

// Order is the aggregate. Its fields are unexported: it changes only through its methods.
type Order struct {
	s Snapshot
}

// Snapshot is an order's full state, for adapters to store and load. Version counts the writes of the
// order and is what conditional updates check.
type Snapshot struct {
	ID              string              `json:"id"`
	Reference       string              `json:"reference,omitempty"`
	CustomerID      string              `json:"customerId"`
	CustomerEmail   string              `json:"customerEmail"`
	CustomerPhone   string              `json:"customerPhone,omitempty"`
	Items           []Item              `json:"items"`
	Total           contracts.Amount    `json:"total"`
	Currency        string              `json:"currency"`
	PaymentToken    string              `json:"paymentToken"`
	ShippingAddress contracts.Address   `json:"shippingAddress"`
	CorrelationID   string              `json:"correlationId"`
	Status          Status              `json:"status"`
	History         []Change            `json:"history"`
	AuthorizationID string              `json:"authorizationId,omitempty"`
	Shipment        *contracts.Shipment `json:"shipment,omitempty"`
	Failure         *contracts.Failure  `json:"failure,omitempty"`
	CreatedAt       time.Time           `json:"createdAt"`
	UpdatedAt       time.Time           `json:"updatedAt"`
	Version         int64               `json:"version"`
}

// New makes a PENDING order from a draft, checking the aggregate's invariants: an id and a customer, a
// valid reference (kept in its canonical form; a fresh one when the draft has none), 1 to MaxItems items with quantities 1 to MaxQuantity and non-negative prices, and a total equal to the
// sum of quantity × price. It returns a fault.Invalid error listing every violated invariant.
func New(d Draft, now time.Time) (*Order, error) {
	var issues []fault.FieldIssue
	bad := func(field, issue string) { issues = append(issues, fault.FieldIssue{Field: field, Issue: issue}) }
	if strings.TrimSpace(d.ID) == "" {
		bad("orderId", "is required")
	}
	if strings.TrimSpace(d.CustomerID) == "" {
		bad("customerId", "is required")
	}
	ref := NewReference()
	if d.Reference != "" {
		var err error
		if ref, err = ParseReference(d.Reference); err != nil {
			bad("reference", "must be 8 Crockford base32 symbols, e.g. 7K3M-Q9TX")
		}
	}
	if len(d.Items) == 0 || len(d.Items) > MaxItems {
		bad("items", fmt.Sprintf("must have 1 to %d items", MaxItems))
	}
	var sum contracts.Amount
	for i, it := range d.Items {
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			bad(fmt.Sprintf("items[%d].quantity", i), fmt.Sprintf("must be an integer from 1 to %d", MaxQuantity))
		}
		if it.Price < 0 {
			bad(fmt.Sprintf("items[%d].price", i), "must not be negative")
		}
		sum += contracts.Amount(it.Quantity) * it.Price
	}
	if len(issues) == 0 && sum != d.Total {
		bad("totalAmount", fmt.Sprintf("must equal the sum of quantity × price (%s)", sum))
	}
	if len(issues) > 0 {
		return nil, &fault.Error{Kind: fault.Invalid, Code: contracts.CodeValidationFailed, Message: "order is invalid", Fields: issues}
	}
	now = now.UTC()
	items := append([]Item(nil), d.Items...)
	return &Order{s: Snapshot{
		ID: d.ID, Reference: ref, CustomerID: d.CustomerID, CustomerEmail: d.CustomerEmail, CustomerPhone: d.CustomerPhone,
		Items: items, Total: d.Total, Currency: d.Currency, PaymentToken: d.PaymentToken,
		ShippingAddress: d.ShippingAddress, CorrelationID: d.CorrelationID,
		Status: Pending, History: []Change{{Status: Pending, At: now}},
		CreatedAt: now, UpdatedAt: now,
	}}, nil
}

// FromSnapshot rebuilds an order from storage. It trusts the snapshot: it was written by Snapshot.
//
// The order shares s's slices and pointers without copying them, and never writes through them: a
// transition replaces a pointer or appends to the history, whose capacity FromSnapshot clips to its
// length so that the append copies it. So any number of orders may be rebuilt from one snapshot, and
// the snapshot stays as it was, as long as its holder does not change it either.
func FromSnapshot(s Snapshot) *Order {
	s.History = slices.Clip(s.History)
	s.Items = slices.Clip(s.Items)
	return &Order{s: s}
}

// Snapshot returns a copy of the order's state for storage.
func (o *Order) Snapshot() Snapshot {
	s := o.s
	s.Items = append([]Item(nil), o.s.Items...)
	s.History = append([]Change(nil), o.s.History...)
	if o.s.Shipment != nil {
		sh := *o.s.Shipment
		s.Shipment = &sh
	}
	if o.s.Failure != nil {
		f := *o.s.Failure
		s.Failure = &f
	}
	return s
}

// ID is the order id, a UUIDv7.
func (o *Order) ID() string { return o.s.ID }

// Reference is the order's short reference in its canonical form (7K3M-Q9TX), unique across all
// orders; "" only for an order stored before references existed and never given one.
func (o *Order) Reference() string { return o.s.Reference }

// CustomerID is the customer who placed the order.
func (o *Order) CustomerID() string { return o.s.CustomerID }

// CustomerEmail is where the customer gets mail.
func (o *Order) CustomerEmail() string { return o.s.CustomerEmail }

// CustomerPhone is the E.164 number for SMS, or "".
func (o *Order) CustomerPhone() string { return o.s.CustomerPhone }

// Items returns a copy of the order lines.
func (o *Order) Items() []Item { return append([]Item(nil), o.s.Items...) }

// Total is the order total.
func (o *Order) Total() contracts.Amount { return o.s.Total }

// Currency is the ISO 4217 code.
func (o *Order) Currency() string { return o.s.Currency }

// PaymentToken is the token the payment gateway charges.
func (o *Order) PaymentToken() string { return o.s.PaymentToken }

// ShippingAddress is where the parcel goes.
func (o *Order) ShippingAddress() contracts.Address { return o.s.ShippingAddress }

// CorrelationID ties the order's events and logs to the request that created it.
func (o *Order) CorrelationID() string { return o.s.CorrelationID }

// Status is the current status.
func (o *Order) Status() Status { return o.s.Status }

// AuthorizationID is the payment authorization, once authorized.
func (o *Order) AuthorizationID() string { return o.s.AuthorizationID }

// CreatedAt is when the order was accepted.
func (o *Order) CreatedAt() time.Time { return o.s.CreatedAt }

// UpdatedAt is when the order last changed.
func (o *Order) UpdatedAt() time.Time { return o.s.UpdatedAt }

// Version counts the order's stored writes; conditional updates check it.
func (o *Order) Version() int64 { return o.s.Version }

// Shipment returns the shipment once the order is fulfilled, else nil.
func (o *Order) Shipment() *contracts.Shipment {
	if o.s.Shipment == nil {
		return nil
	}
	sh := *o.s.Shipment
	return &sh
}

// Failure returns why the order failed, or nil.
func (o *Order) Failure() *contracts.Failure {
	if o.s.Failure == nil {
		return nil
	}
	f := *o.s.Failure
	return &f
}

// ItemCount is the number of units ordered.
func (o *Order) ItemCount() int {
	n := 0
	for _, it := range o.s.Items {
		n += it.Quantity
	}
	return n
}

// History returns every status the order went through, oldest first.
func (o *Order) History() []Change { return append([]Change(nil), o.s.History...) }

// Entered returns the change that first brought the order into status s, and false if it was never in
// it. Unlike History, it copies nothing.
func (o *Order) Entered(s Status) (Change, bool) {
	for _, c := range o.s.History {
		if c.Status == s {
			return c, true
		}
	}
	return Change{}, false
}

// LastChange returns the latest change of the order's history (its creation, for a new order), and
// false for an order without a history. Unlike History, it copies nothing.
func (o *Order) LastChange() (Change, bool) {
	if len(o.s.History) == 0 {
		return Change{}, false
	}
	return o.s.History[len(o.s.History)-1], true
}

// Reached reports whether the order has ever been in status s.
func (o *Order) Reached(s Status) bool {
	_, ok := o.Entered(s)
	return ok
}

// Cancellable reports whether Cancel would succeed now.
func (o *Order) Cancellable() bool { return CanTransition(o.s.Status, Cancelled) }

func (o *Order) transition(to Status, at time.Time) error {
	if !CanTransition(o.s.Status, to) {
		return fmt.Errorf("order %s: %s → %s: %w", o.s.ID, o.s.Status, to, ErrInvalidTransition)
	}
	at = at.UTC()
	o.s.Status = to
	o.s.History = append(o.s.History, Change{Status: to, At: at})
	o.s.UpdatedAt = at
	return nil
}

// StartValidation moves a PENDING order into VALIDATING: it has entered the pipeline.
func (o *Order) StartValidation(at time.Time) error { return o.expect(Pending, Validating, at) }

// PassValidation moves a VALIDATING order on to INVENTORY_CHECK.
func (o *Order) PassValidation(at time.Time) error { return o.expect(Validating, InventoryCheck, at) }

// ReserveInventory records that stock is held and moves the order on to PAYMENT_PROCESSING.
func (o *Order) ReserveInventory(at time.Time) error {
	return o.expect(InventoryCheck, PaymentProcessing, at)
}

// AuthorizePayment records the payment authorization and moves the order on to FULFILLMENT.
func (o *Order) AuthorizePayment(authorizationID string, at time.Time) error {
	if err := o.expect(PaymentProcessing, Fulfillment, at); err != nil {
		return err
	}
	o.s.AuthorizationID = authorizationID
	return nil
}

// Complete records the shipment and moves a FULFILLMENT order to COMPLETED.
func (o *Order) Complete(sh contracts.Shipment, at time.Time) error {
	if err := o.expect(Fulfillment, Completed, at); err != nil {
		return err
	}
	o.s.Shipment = &sh
	return nil
}

// Fail moves the order to FAILED, remembering the stage (the status it was in), the code and the reason.
// A terminal order cannot fail: ErrInvalidTransition.
func (o *Order) Fail(code, reason string, at time.Time) error {
	stage := o.s.Status
	if err := o.transition(Failed, at); err != nil {
		return err
	}
	o.s.Failure = &contracts.Failure{Stage: string(stage), Code: code, Reason: reason}
	return nil
}

// Cancel moves the order to CANCELLED. It returns ErrAlreadyCancelled for a cancelled order and
// ErrNotCancellable once the order reached FULFILLMENT or failed.
func (o *Order) Cancel(at time.Time) error {
	switch {
	case o.s.Status == Cancelled:
		return fmt.Errorf("order %s: %w", o.s.ID, ErrAlreadyCancelled)
	case !o.Cancellable():
		return fmt.Errorf("order %s is %s: %w", o.s.ID, o.s.Status, ErrNotCancellable)
	}
	return o.transition(Cancelled, at)
}

// expect moves from → to, refusing when the order is not in from.
func (o *Order) expect(from, to Status, at time.Time) error {
	if o.s.Status != from {
		return fmt.Errorf("order %s is %s, not %s: %w", o.s.ID, o.s.Status, from, ErrInvalidTransition)
	}
	return o.transition(to, at)
}

// IsInvalidTransition reports whether err is a refused transition (including cancel refusals).
func IsInvalidTransition(err error) bool {
	return errors.Is(err, ErrInvalidTransition) || errors.Is(err, ErrAlreadyCancelled) || errors.Is(err, ErrNotCancellable)
}

// View is the order as the API shows it.
func (o *Order) View() contracts.Order {
	v := contracts.Order{
		OrderID: o.s.ID, Reference: o.s.Reference, CustomerID: o.s.CustomerID, Status: string(o.s.Status),
		TotalAmount: o.s.Total, Currency: o.s.Currency, CustomerEmail: o.s.CustomerEmail,
		CustomerPhone: o.s.CustomerPhone, ShippingAddress: o.s.ShippingAddress,
		CreatedAt: o.s.CreatedAt, UpdatedAt: o.s.UpdatedAt,
		Items:    make([]contracts.LineItem, len(o.s.Items)),
		History:  make([]contracts.StatusChange, len(o.s.History)),
		Shipment: o.Shipment(), Failure: o.Failure(),
	}
	for i, it := range o.s.Items {
		v.Items[i] = contracts.LineItem{ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity, Price: it.Price}
	}
	for i, c := range o.s.History {
		v.History[i] = contracts.StatusChange{Status: string(c.Status), At: c.At}
	}
	return v
}
