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

// normalizeOrderRef turns what a person or a model wrote ("#0193A1B2...", " 0193a1b2… ") into an id or
// id prefix.
func normalizeOrderRef(ref string) string {
	ref = strings.ToLower(strings.TrimSpace(ref))
	ref = strings.TrimPrefix(ref, "#")
	ref = strings.TrimRight(ref, ".…")
	return strings.TrimSpace(ref)
}

// resolve finds one of customerID's orders from a full id or an id prefix of at least 8 characters.
// An order that does not exist and an order of another customer are the same fault.NotFound error, so
// that nothing tells one from the other. A prefix that matches several of the customer's orders is a
// fault.Conflict error naming them; a reference that is not an id is a fault.Invalid error.
func (tb *toolbox) resolve(ctx context.Context, customerID, ref string) (*order.Order, error) {
	id := normalizeOrderRef(ref)
	notFound := fault.NotFoundf("order %s was not found among this customer's orders", id)
	switch {
	case fullIDPattern.MatchString(id):
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
		ids := make([]string, len(matches))
		for i, o := range matches {
			ids[i] = o.ID()
		}
		return nil, &fault.Error{Kind: fault.Conflict, Code: "AMBIGUOUS_ORDER_ID",
			Message: fmt.Sprintf("%s matches %d of this customer's orders (%s); ask which one is meant", id, len(ids), strings.Join(ids, ", "))}
	}
	return nil, fault.Invalidf("%q is not an order id: expected the full id or its first %d characters", ref, ShortIDLength)
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
