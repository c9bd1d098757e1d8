// Package validation is the first stage of the pipeline: it checks a new order against the catalog
// (every product exists, every price is the catalog price) and the order limit, then passes it on to
// inventory or fails it.
package validation

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// Failure codes of this stage.
const (
	CodeUnknownProduct     = "UNKNOWN_PRODUCT"
	CodePriceMismatch      = "PRICE_MISMATCH"
	CodeOrderLimitExceeded = "ORDER_LIMIT_EXCEEDED"
)

// DefaultOrderLimit is the largest order total accepted unless configured otherwise: 50,000.00.
const DefaultOrderLimit contracts.Amount = 50_000_00

// Catalog answers what a product is and costs.
type Catalog interface {
	Product(ctx context.Context, id string) (inventory.Product, error)
}

// Service validates orders.
type Service struct {
	pipeline.Deps
	Catalog Catalog
	// OrderLimit is the largest total accepted (DefaultOrderLimit when zero).
	OrderLimit contracts.Amount
}

// Handle reacts to OrderCreated.
func (s *Service) Handle(ctx context.Context, e contracts.Event) error {
	return s.Deps.Handle(ctx, e, s.stage())
}

func (s *Service) stage() pipeline.Stage {
	return pipeline.Stage{
		Name:   "validation",
		Expect: order.Validating,
		Work: func(ctx context.Context, o *order.Order) (func(*order.Order) error, error) {
			code, reason, err := s.check(ctx, o)
			if err != nil {
				return nil, err
			}
			now := s.Now()
			if code != "" {
				return func(o *order.Order) error { return o.Fail(code, reason, now) }, nil
			}
			return func(o *order.Order) error { return o.PassValidation(now) }, nil
		},
		Result: s.result,
	}
}

// check returns the failure code and reason, or "" when the order is valid.
func (s *Service) check(ctx context.Context, o *order.Order) (code, reason string, err error) {
	limit := s.OrderLimit
	if limit == 0 {
		limit = DefaultOrderLimit
	}
	for _, it := range o.Items() {
		p, err := s.Catalog.Product(ctx, it.ProductID)
		if fault.Is(err, fault.NotFound) {
			return CodeUnknownProduct, fmt.Sprintf("Product %s is not in our catalog", it.ProductID), nil
		}
		if err != nil {
			return "", "", fmt.Errorf("look up product %s: %w", it.ProductID, err)
		}
		if p.Price != it.Price {
			return CodePriceMismatch, fmt.Sprintf("Price of %s is %s, not %s", it.ProductID, p.Price, it.Price), nil
		}
	}
	if o.Total() > limit {
		return CodeOrderLimitExceeded, fmt.Sprintf("Order total %s exceeds the limit of %s", o.Total(), limit), nil
	}
	return "", "", nil
}

func (s *Service) result(o *order.Order) (contracts.Event, bool, error) {
	if !o.Reached(order.InventoryCheck) {
		return s.Envelope.Failed(o, contracts.SourceValidation, order.Validating)
	}
	at := pipeline.EnteredAt(o, order.InventoryCheck).At
	ev, err := s.Envelope.Event(o, contracts.SourceValidation, contracts.DetailOrderValidated, contracts.OrderValidatedDetail{
		DetailMeta: pipeline.Meta(o), CustomerID: o.CustomerID(), Items: pipeline.LineItems(o),
		TotalAmount: o.Total(), Currency: o.Currency(), ValidatedAt: at,
	}, at)
	return ev, err == nil, err
}
