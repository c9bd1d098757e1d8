// Package routing is the one table that says which service reacts to which events. The local bus
// evaluates its EventBridge event patterns with Match; the CDK app turns the same table into EventBridge
// rules, so routing cannot drift between one machine and AWS.
package routing

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/orderflow/orderflow/contracts"
)

// Targets: the consumers that routes deliver to. On AWS each is a Lambda function behind an EventBridge
// rule (or, for Dispatcher, the ingest SQS queue).
const (
	Dispatcher       = "dispatcher"
	Validation       = "validation"
	InventoryReserve = "inventory-reserve"
	InventoryRelease = "inventory-release"
	PaymentAuthorize = "payment-authorize"
	PaymentVoid      = "payment-void"
	Fulfillment      = "fulfillment"
	Notifier         = "notifier"
	Metrics          = "metrics"
)

// Route sends the events matching Pattern to Target.
type Route struct {
	// Name is the rule name on EventBridge.
	Name string
	// Target is the consumer, one of the target constants.
	Target string
	// Description says why the target wants these events.
	Description string
	// Pattern is an EventBridge event pattern, as JSON.
	Pattern string
}

func pattern(source string, detailTypes ...string) string {
	b, _ := json.Marshal(map[string][]string{"source": {source}, "detail-type": detailTypes})
	return string(b)
}

// Table is the routing table. Dispatcher is not here: it consumes the ingest queue, not the bus.
var Table = []Route{
	{Name: "validation-on-order-created", Target: Validation,
		Description: "validate every new order against the catalog",
		Pattern:     pattern(contracts.SourceOrders, contracts.DetailOrderCreated)},
	{Name: "inventory-on-order-validated", Target: InventoryReserve,
		Description: "reserve stock for a validated order",
		Pattern:     pattern(contracts.SourceValidation, contracts.DetailOrderValidated)},
	{Name: "inventory-on-order-ended", Target: InventoryRelease,
		Description: "release reserved stock when an order fails or is cancelled",
		Pattern:     `{"detail-type":["OrderFailed","OrderCancelled"],"source":[{"prefix":"orderflow."}]}`},
	{Name: "payment-on-inventory-reserved", Target: PaymentAuthorize,
		Description: "authorize payment once stock is held",
		Pattern:     pattern(contracts.SourceInventory, contracts.DetailInventoryReserved)},
	{Name: "payment-on-order-ended", Target: PaymentVoid,
		Description: "void an authorized payment when an order fails or is cancelled",
		Pattern:     `{"detail-type":["OrderFailed","OrderCancelled"],"source":[{"prefix":"orderflow."}]}`},
	{Name: "fulfillment-on-payment-authorized", Target: Fulfillment,
		Description: "ship a paid order and capture its payment",
		Pattern:     pattern(contracts.SourcePayment, contracts.DetailPaymentAuthorized)},
	{Name: "notifier-on-customer-events", Target: Notifier,
		Description: "text the customer when an order is created, completed or failed",
		Pattern:     `{"detail-type":["OrderCreated","OrderCompleted","OrderFailed"],"source":[{"prefix":"orderflow."}]}`},
	{Name: "metrics-on-all-order-events", Target: Metrics,
		Description: "count and time every order event",
		Pattern:     `{"source":[{"prefix":"orderflow."}]}`},
}

// Router matches events against a routing table.
type Router struct {
	routes   []Route
	patterns []Pattern
	// byHead, when no pattern looks beyond an event's source and detail type, remembers the targets of
	// each pair seen (up to maxHeads of them): routing is then a function of the two, and every event
	// the store publishes is routed on the hot path.
	byHead *sync.Map // headKey → []string
	heads  atomic.Int32
}

type headKey struct{ source, detailType string }

// maxHeads bounds the source and detail-type pairs a Router remembers; events of further pairs are
// matched against every pattern.
const maxHeads = 1024

// NewRouter compiles the patterns of routes. It fails on a pattern that is not valid JSON or uses a
// matcher this package does not implement.
func NewRouter(routes []Route) (*Router, error) {
	r := &Router{routes: routes}
	for _, rt := range routes {
		p, err := ParsePattern(rt.Pattern)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", rt.Name, err)
		}
		r.patterns = append(r.patterns, p)
	}
	if !slices.ContainsFunc(r.patterns, func(p Pattern) bool { return p.needsDetail }) {
		r.byHead = &sync.Map{}
	}
	return r, nil
}

// Targets returns the targets of every route that matches e, each once, in table order.
func (r *Router) Targets(e contracts.Event) []string {
	if r.byHead == nil {
		return r.match(e)
	}
	k := headKey{e.Source, e.DetailType}
	if out, ok := r.byHead.Load(k); ok {
		return slices.Clone(out.([]string))
	}
	out := r.match(e)
	if r.heads.Load() < maxHeads {
		if _, loaded := r.byHead.LoadOrStore(k, slices.Clip(out)); !loaded {
			r.heads.Add(1)
		}
	}
	return slices.Clone(out)
}

// match matches e against every pattern.
func (r *Router) match(e contracts.Event) []string {
	head := map[string]any{"source": e.Source, "detail-type": e.DetailType}
	var view map[string]any // decoded lazily: most patterns look only at source and detail-type
	var out []string
	for i, p := range r.patterns {
		if p.needsDetail && view == nil {
			view = eventView(e)
		}
		v := view
		if v == nil {
			v = head
		}
		if p.match(e, v) && !contains(out, r.routes[i].Target) {
			out = append(out, r.routes[i].Target)
		}
	}
	return out
}

// Routes returns the routing table the router was built from.
func (r *Router) Routes() []Route { return r.routes }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
