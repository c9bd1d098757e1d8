// Package agenttest holds what the agent's tests share: the in-memory order store serving the agent's
// Orders port, and a builder of seeded orders, in every status, from a JSON description.
package agenttest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/memory"
	"github.com/orderflow/orderflow/services/order"
)

// Orders is the in-memory order store, serving agent.Orders, with a switch to make every read fail.
type Orders struct {
	*memory.Orders
	// Err, when not nil, is returned by every Get, GetByReference and List call.
	Err error
}

// NewOrders returns a store holding orders. It returns an error if two of them share an id.
func NewOrders(orders ...*order.Order) (*Orders, error) {
	f := &Orders{Orders: memory.NewOrders()}
	for _, o := range orders {
		if err := f.Create(context.Background(), o, nil); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Get returns Err when it is set, and otherwise the order, or a fault.NotFound error.
func (f *Orders) Get(ctx context.Context, id string) (*order.Order, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	return f.Orders.Get(ctx, id)
}

// List returns Err when it is set, and otherwise a page of the customer's orders, newest first, and
// the cursor of the next page ("" on the last).
func (f *Orders) List(ctx context.Context, customerID string, limit int, cursor string) ([]*order.Order, string, error) {
	if f.Err != nil {
		return nil, "", f.Err
	}
	return f.Orders.List(ctx, customerID, limit, cursor)
}

// GetByReference returns Err when it is set, and otherwise the customer's order with the reference, or
// a fault.NotFound error.
func (f *Orders) GetByReference(ctx context.Context, customerID, reference string) (*order.Order, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	return f.Orders.GetByReference(ctx, customerID, reference)
}

// Seed describes one order to build: it is made with order.New and moved to Status through the
// aggregate's transitions, as the pipeline would.
type Seed struct {
	ID string `json:"id"`
	// Reference is the order's reference; empty draws a fresh one.
	Reference  string              `json:"reference,omitempty"`
	CustomerID string              `json:"customerId"`
	CreatedAt  time.Time           `json:"createdAt"`
	Currency   string              `json:"currency"`
	Items      []SeedItem          `json:"items"`
	Status     order.Status        `json:"status"`
	Shipment   *contracts.Shipment `json:"shipment,omitempty"`
	// Failure says, for a FAILED order, at which stage it failed and why.
	Failure *contracts.Failure `json:"failure,omitempty"`
	// CancelledFrom is the status a CANCELLED order was cancelled in (PENDING when empty).
	CancelledFrom order.Status `json:"cancelledFrom,omitempty"`
}

// SeedItem is one line of a Seed.
type SeedItem struct {
	ProductID string           `json:"productId"`
	Name      string           `json:"name"`
	Quantity  int              `json:"quantity"`
	Price     contracts.Amount `json:"price"`
}

// Build makes the order a seed describes.
func Build(s Seed) (*order.Order, error) {
	d := order.Draft{
		ID: s.ID, Reference: s.Reference, CustomerID: s.CustomerID, CustomerEmail: s.CustomerID + "@example.com", Currency: s.Currency,
		PaymentToken: "tok_test", ShippingAddress: contracts.Address{Street: "1 Main St", City: "Springfield", State: "IL", ZipCode: "62701", Country: "USA"},
	}
	for _, it := range s.Items {
		d.Items = append(d.Items, order.Item{ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity, Price: it.Price})
		d.Total += contracts.Amount(it.Quantity) * it.Price
	}
	o, err := order.New(d, s.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("seed %s: %w", s.ID, err)
	}
	at := s.CreatedAt
	tick := func() time.Time { at = at.Add(time.Minute); return at }
	target := s.Status
	switch s.Status {
	case order.Failed:
		if s.Failure == nil {
			return nil, fmt.Errorf("seed %s: a FAILED order needs a failure", s.ID)
		}
		target = order.Status(s.Failure.Stage)
	case order.Cancelled:
		target = s.CancelledFrom
		if target == "" {
			target = order.Pending
		}
	}
	steps := []struct {
		to order.Status
		do func() error
	}{
		{order.Validating, func() error { return o.StartValidation(tick()) }},
		{order.InventoryCheck, func() error { return o.PassValidation(tick()) }},
		{order.PaymentProcessing, func() error { return o.ReserveInventory(tick()) }},
		{order.Fulfillment, func() error { return o.AuthorizePayment("auth-"+s.ID, tick()) }},
		{order.Completed, func() error {
			if s.Shipment == nil {
				return fmt.Errorf("a COMPLETED order needs a shipment")
			}
			return o.Complete(*s.Shipment, tick())
		}},
	}
	for _, st := range steps {
		if o.Status() == target {
			break
		}
		if err := st.do(); err != nil {
			return nil, fmt.Errorf("seed %s: move to %s: %w", s.ID, st.to, err)
		}
	}
	if o.Status() != target {
		return nil, fmt.Errorf("seed %s: cannot reach %s", s.ID, target)
	}
	switch s.Status {
	case order.Failed:
		if err := o.Fail(s.Failure.Code, s.Failure.Reason, tick()); err != nil {
			return nil, fmt.Errorf("seed %s: fail: %w", s.ID, err)
		}
	case order.Cancelled:
		if err := o.Cancel(tick()); err != nil {
			return nil, fmt.Errorf("seed %s: cancel: %w", s.ID, err)
		}
	}
	return o, nil
}

// Fixture is the content of an evaluation file: the seeded orders and the questions about them.
type Fixture struct {
	Orders []Seed `json:"orders"`
	Cases  []Case `json:"cases"`
}

// Case is one question of the evaluation set and what its answer must carry.
type Case struct {
	Name       string `json:"name"`
	CustomerID string `json:"customerId"`
	// Session, when set, names a conversation: cases with the same session share a session id, in
	// file order.
	Session string `json:"session,omitempty"`
	Query   string `json:"query"`
	// Facts must all appear in the answer (case-insensitively).
	Facts []string `json:"facts"`
	// Forbidden must not appear in the answer: another customer's data.
	Forbidden []string `json:"forbidden,omitempty"`
	// OrderIDs, when not nil, is the exact set of order ids the answer must say it is about.
	OrderIDs []string `json:"orderIds,omitempty"`
}

// LoadFixture reads an evaluation file and builds its orders into a fake.
func LoadFixture(path string) (Fixture, *Orders, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Fixture{}, nil, fmt.Errorf("read fixture: %w", err)
	}
	var fx Fixture
	if err := json.Unmarshal(b, &fx); err != nil {
		return Fixture{}, nil, fmt.Errorf("decode fixture %s: %w", path, err)
	}
	var orders []*order.Order
	for _, s := range fx.Orders {
		o, err := Build(s)
		if err != nil {
			return Fixture{}, nil, err
		}
		orders = append(orders, o)
	}
	store, err := NewOrders(orders...)
	if err != nil {
		return Fixture{}, nil, fmt.Errorf("fixture %s: %w", path, err)
	}
	return fx, store, nil
}
