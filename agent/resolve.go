package agent

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
)

var (
	fullIDPattern   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	prefixIDPattern = regexp.MustCompile(`^[0-9a-f]{8}[0-9a-f-]{0,27}$`)
)

// normalizeOrderRef turns what a person or a model wrote ("#0193A1B2...", " 0193a1b2… ", "#7K3M-Q9TX")
// into lower case without decoration: an id, an id prefix or a reference (which order.ParseReference
// reads in any case).
func normalizeOrderRef(ref string) string {
	ref = strings.ToLower(strings.TrimSpace(ref))
	ref = strings.TrimPrefix(ref, "#")
	ref = strings.TrimRight(ref, ".…")
	return strings.TrimSpace(ref)
}

// ambiguousPrefix is the cause of the fault.Conflict error of an id prefix that several of the
// customer's orders start with: the references of those orders, for the answer to ask which one.
type ambiguousPrefix struct {
	prefix     string
	references []string
}

func (a *ambiguousPrefix) Error() string {
	return fmt.Sprintf("%d orders start with %s", len(a.references), a.prefix)
}

// resolve finds one of customerID's orders from what names it: its reference (as order.ParseReference
// reads it: any case, with or without the dash), its full id, or an id prefix of at least 8 characters.
// Text that could be both a reference and an id prefix (8 hex characters) is taken for the reference
// when one of the customer's orders has it, and for a prefix otherwise. An order that does not exist
// and an order of another customer are the same fault.NotFound error, so that nothing tells one from the
// other. A prefix that matches several of the customer's orders is a fault.Conflict error naming them by
// reference; text that is neither is a fault.Invalid error.
func (tb *toolbox) resolve(ctx context.Context, customerID, ref string) (*order.Order, error) {
	id := normalizeOrderRef(ref)
	notFound := fault.NotFoundf("order %s was not found among this customer's orders", id)
	if fullIDPattern.MatchString(id) {
		return tb.byID(ctx, customerID, id, notFound)
	}
	if reference, err := order.ParseReference(id); err == nil {
		o, err := tb.orders.GetByReference(ctx, customerID, reference)
		switch {
		case err == nil && o.CustomerID() == customerID:
			return o, nil
		case err != nil && !fault.Is(err, fault.NotFound):
			return nil, fmt.Errorf("get order %s: %w", reference, err)
		}
		if !prefixIDPattern.MatchString(id) {
			return nil, fault.NotFoundf("order %s was not found among this customer's orders", reference)
		}
	}
	switch {
	case prefixIDPattern.MatchString(id):
		matches, err := tb.matchPrefix(ctx, customerID, id)
		if err != nil {
			return nil, err
		}
		switch len(matches) {
		case 0:
			return nil, notFound
		case 1:
			return matches[0], nil
		}
		amb := &ambiguousPrefix{prefix: id}
		for _, o := range matches {
			amb.references = append(amb.references, referenceOf(o))
		}
		return nil, &fault.Error{Kind: fault.Conflict, Code: "AMBIGUOUS_ORDER_ID", Err: amb,
			Message: fmt.Sprintf("%s matches %d of this customer's orders, with references %s; ask which one is meant",
				id, len(matches), strings.Join(amb.references, ", "))}
	}
	return nil, fault.Invalidf("%q is not an order reference or id: expected the reference from the SMS texts (8 letters and digits, e.g. 7K3M-Q9TX), the full id or its first %d characters", ref, ShortIDLength)
}

// byID returns the customer's order with the full id, or notFound.
func (tb *toolbox) byID(ctx context.Context, customerID, id string, notFound error) (*order.Order, error) {
	o, err := tb.orders.Get(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("get order %s: %w", id, err)
	}
	if o.CustomerID() != customerID {
		return nil, notFound
	}
	return o, nil
}

// matchPrefix lists up to maxPrefixScan of the customer's most recent orders and returns those whose id
// starts with prefix.
func (tb *toolbox) matchPrefix(ctx context.Context, customerID, prefix string) ([]*order.Order, error) {
	var matches []*order.Order
	cursor := ""
	for scanned := 0; scanned < maxPrefixScan; {
		page, next, err := tb.orders.List(ctx, customerID, min(listPageSize, maxPrefixScan-scanned), cursor)
		if err != nil {
			return nil, fmt.Errorf("list orders of customer %s: %w", customerID, err)
		}
		for _, o := range page {
			if o.CustomerID() == customerID && strings.HasPrefix(o.ID(), prefix) {
				matches = append(matches, o)
			}
		}
		scanned += len(page)
		if next == "" || len(page) == 0 {
			break
		}
		cursor = next
	}
	return matches, nil
}
