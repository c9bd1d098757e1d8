// Package inventory is the inventory service: it reserves stock for validated orders, all items or none,
// and releases a reservation exactly once when its order fails or is cancelled. It also owns the catalog.
package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
)

// Product is a catalog entry with the stock that can still be reserved.
type Product struct {
	ID        string
	Name      string
	Price     contracts.Amount
	Available int
}

// ETag identifies the product's current state, reservations included: it changes whenever its name,
// price or available stock does. The API hands it out with a product and honours it in If-Match, so an
// admin's edit cannot silently undo what happened since they read the product.
func (p Product) ETag() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%d", p.ID, p.Name, int64(p.Price), p.Available))
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// Line is a quantity of one product.
type Line struct {
	ProductID string
	Quantity  int
}

// Errors returned by Store.Reserve.
var (
	// ErrOutOfStock (kind fault.Conflict, code OUT_OF_STOCK): some item has less stock than ordered;
	// nothing was reserved. The wrapping error names the product.
	ErrOutOfStock = fault.New(fault.Conflict, "OUT_OF_STOCK", "not enough stock")
	// ErrReleased (kind fault.Conflict): the order's reservation was already released (or the order was
	// released before anything was reserved); it can never be reserved again.
	ErrReleased = fault.New(fault.Conflict, "RESERVATION_RELEASED", "reservation already released")
	// ErrChanged (kind fault.Conflict, code PRECONDITION_FAILED) is returned by PutProductIf when the
	// product is missing or no longer has the ETag the caller read, or, with the etag Absent, when it
	// exists (with Present, when it is missing).
	ErrChanged = fault.New(fault.Conflict, contracts.CodePreconditionFailed, "product changed since it was read")
)

// Absent is the etag of PutProductIf that creates a product only if there is none with its id: a new
// product never overwrites one someone else created meanwhile.
const Absent = "*"

// Present is the etag of PutProductIf that replaces a product whatever its ETag, but only if it exists
// (HTTP's If-Match: *). Unquoted, it is never a product's ETag.
const Present = "present"

// MergeLines checks the lines of a reservation and adds up those of the same product, sorted by product
// id (a fixed order keeps a store's parts and its error, which product is short, deterministic). An
// empty order id or a quantity below 1 is a fault.Invalid error. Every Store's Reserve starts with it.
func MergeLines(orderID string, lines []Line) ([]Line, error) {
	if strings.TrimSpace(orderID) == "" {
		return nil, fault.Invalidf("reserve stock: order id is required")
	}
	want := map[string]int{}
	for i, l := range lines {
		if l.Quantity < 1 {
			return nil, fault.Invalidf("reserve stock for order %s: line %d (%s): quantity %d must be at least 1", orderID, i, l.ProductID, l.Quantity)
		}
		want[l.ProductID] += l.Quantity
	}
	merged := make([]Line, 0, len(want))
	for id, q := range want {
		merged = append(merged, Line{ProductID: id, Quantity: q})
	}
	slices.SortFunc(merged, func(a, b Line) int { return strings.Compare(a.ProductID, b.ProductID) })
	return merged, nil
}

// Store keeps the catalog, the stock and the reservations.
type Store interface {
	Catalog
	// PutProduct creates or replaces a product. Available must be >= 0.
	PutProduct(ctx context.Context, p Product) error
	// PutProductIf replaces a product on condition that it exists and its ETag is etag, checked and
	// written atomically; otherwise it writes nothing and returns ErrChanged (wrapped). With the etag
	// Absent it creates the product on condition that it does not exist (HTTP's If-None-Match: *), with
	// Present it replaces the product on condition that it exists.
	PutProductIf(ctx context.Context, p Product, etag string) error
	// Products returns every product ordered by id.
	Products(ctx context.Context) ([]Product, error)
	// Reserve takes stock for every line of the order, all or nothing, never letting stock go negative
	// under any concurrency. Reserving again for an order that holds a reservation returns nil and takes
	// nothing. It returns ErrOutOfStock or ErrReleased (wrapped); an unknown product is ErrOutOfStock.
	Reserve(ctx context.Context, orderID string, lines []Line) error
	// Release gives back the order's reservation exactly once: the first call returns the lines released
	// and true; later calls return the same lines and false (so a caller that crashed after releasing can
	// still announce the release). Releasing an order with no reservation records that, so that
	// a later Reserve for it returns ErrReleased, and returns false.
	Release(ctx context.Context, orderID string) ([]Line, bool, error)
}

// Catalog answers what a product is and costs.
type Catalog interface {
	// Product returns the product, or a fault.NotFound error.
	Product(ctx context.Context, id string) (Product, error)
}
