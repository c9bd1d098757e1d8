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

// Catalog answers what a product costs.
type Catalog interface {
	// Price returns the product's price, or a fault.NotFound error for a product not in the catalog.
	Price(ctx context.Context, productID string) (contracts.Amount, error)
}

// Products answers prices from a catalog of whole products, for stores that do not answer prices
// themselves.
type Products struct{ inventory.Catalog }

// Price returns the price of the product, or the catalog's fault.NotFound error.
func (p Products) Price(ctx context.Context, productID string) (contracts.Amount, error) {
	prod, err := p.Product(ctx, productID)
	if err != nil {
		return 0, err
	}
	return prod.Price, nil
}

// CatalogOf is the catalog validation reads from store: store itself when it answers prices (the
// local store keeps them in memory), else Products over it.
func CatalogOf(store inventory.Catalog) Catalog {
	if c, ok := store.(Catalog); ok {
		return c
	}
	return Products{store}
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
		price, err := s.Catalog.Price(ctx, it.ProductID)
		if fault.Is(err, fault.NotFound) {
			return CodeUnknownProduct, fmt.Sprintf("Product %s is not in our catalog", it.ProductID), nil
		}
		if err != nil {
			return "", "", fmt.Errorf("look up product %s: %w", it.ProductID, err)
		}
		if price != it.Price {
			return CodePriceMismatch, fmt.Sprintf("Price of %s is %s, not %s", it.ProductID, price, it.Price), nil
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
