package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
)

// Orders is how the agent reads orders. The store adapters satisfy it.
type Orders interface {
	// Get returns the order, or a fault.NotFound error.
	Get(ctx context.Context, id string) (*order.Order, error)
	// List returns up to limit of the customer's orders, newest first, and the cursor of the next page
	// ("" on the last page).
	List(ctx context.Context, customerID string, limit int, cursor string) ([]*order.Order, string, error)
	// GetByReference returns the customer's order with the reference (canonical, as
	// order.ParseReference returns it), or a fault.NotFound error, also for another customer's order.
	GetByReference(ctx context.Context, customerID, reference string) (*order.Order, error)
}

// The tools' names, as the model sees them.
const (
	ToolGetOrderStatus   = "get_order_status"
	ToolListRecentOrders = "list_recent_orders"
	ToolTrackShipment    = "track_shipment"
	ToolExplainFailure   = "explain_failure"
)

// Bounds of the tools.
const (
	defaultListLimit = 5
	maxListLimit     = 20
	// maxPrefixScan bounds how many of a customer's orders a short id is matched against.
	maxPrefixScan = 500
	listPageSize  = 100
	// ShortIDLength is the shortest order id prefix the tools resolve (texts showed the first 8
	// characters of the id before orders had references).
	ShortIDLength = 8
)

// orderInput is the input of the tools about one order. It has no customer id on purpose: the tools
// always run for the customer of the request.
type orderInput struct {
	OrderID string `json:"orderId" jsonschema:"description=The order as the customer named it: its reference as shown in SMS texts (8 letters and digits such as 7K3M-Q9TX) or its full id or the first 8 characters of the id,minLength=8,maxLength=40"`
}

// listInput is the input of list_recent_orders.
type listInput struct {
	Limit int `json:"limit,omitempty" jsonschema:"description=How many of the most recent orders to return; 5 when omitted,minimum=1,maximum=20"`
}

// itemFacts is one order line in a tool result.
type itemFacts struct {
	Name      string `json:"name"`
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
	UnitPrice string `json:"unitPrice"`
}

// failureFacts is why an order failed, in a tool result.
type failureFacts struct {
	Stage       string `json:"stage"`
	Code        string `json:"code"`
	Reason      string `json:"reason"`
	Explanation string `json:"explanation"`
	NextStep    string `json:"nextStep"`
}

// orderDetails is the result of get_order_status.
type orderDetails struct {
	OrderID           string              `json:"orderId"`
	Reference         string              `json:"reference"`
	Status            string              `json:"status"`
	StatusDescription string              `json:"statusDescription"`
	Items             []itemFacts         `json:"items"`
	Total             string              `json:"total"`
	Currency          string              `json:"currency"`
	PlacedAt          time.Time           `json:"placedAt"`
	UpdatedAt         time.Time           `json:"updatedAt"`
	Cancellable       bool                `json:"cancellable"`
	History           []statusFacts       `json:"history"`
	Shipment          *contracts.Shipment `json:"shipment,omitempty"`
	Failure           *failureFacts       `json:"failure,omitempty"`
}

// statusFacts is one entry of an order's history in a tool result.
type statusFacts struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// orderSummary is one order of list_recent_orders.
type orderSummary struct {
	OrderID   string    `json:"orderId"`
	Reference string    `json:"reference"`
	Status    string    `json:"status"`
	ItemCount int       `json:"itemCount"`
	Summary   string    `json:"summary"`
	Total     string    `json:"total"`
	Currency  string    `json:"currency"`
	PlacedAt  time.Time `json:"placedAt"`
}

// orderList is the result of list_recent_orders.
type orderList struct {
	Orders []orderSummary `json:"orders"`
	// More is true when the customer has older orders than these.
	More bool `json:"more"`
}

// trackingInfo is the result of track_shipment.
type trackingInfo struct {
	OrderID           string `json:"orderId"`
	Reference         string `json:"reference"`
	Status            string `json:"status"`
	StatusDescription string `json:"statusDescription"`
	Shipped           bool   `json:"shipped"`
	Carrier           string `json:"carrier,omitempty"`
	TrackingNumber    string `json:"trackingNumber,omitempty"`
	EstimatedDelivery string `json:"estimatedDelivery,omitempty"`
	// Note explains why there is no tracking yet.
	Note string `json:"note,omitempty"`
}

// failureInfo is the result of explain_failure.
type failureInfo struct {
	OrderID           string        `json:"orderId"`
	Reference         string        `json:"reference"`
	Status            string        `json:"status"`
	StatusDescription string        `json:"statusDescription"`
	Failed            bool          `json:"failed"`
	Failure           *failureFacts `json:"failure,omitempty"`
}

// orderName is an order a tool result is about: its id, and the reference the answer calls it by.
type orderName struct {
	ID, Reference string
}

func nameOf(o *order.Order) orderName { return orderName{ID: o.ID(), Reference: referenceOf(o)} }

// referenceOf is what answers call an order: its reference (7K3M-Q9TX), what the customer's texts
// show. An order stored before references existed has none and is called by its id's first 8
// characters, as the texts of that time showed.
func referenceOf(o *order.Order) string {
	if r := o.Reference(); r != "" {
		return r
	}
	return shortID(o.ID())
}

// toolFunc runs a tool for one customer. It returns the result and the orders it is about.
type toolFunc func(ctx context.Context, customerID string, input json.RawMessage) (any, []orderName, error)

// tool is a tool the model may ask for.
type tool struct {
	spec ToolSpec
	run  toolFunc
}

// toolbox holds the tools. Every tool is scoped to the customerID it is run with.
type toolbox struct {
	orders Orders
	tools  map[string]tool
	specs  []ToolSpec
}

func newToolbox(orders Orders) (*toolbox, error) {
	tb := &toolbox{orders: orders, tools: map[string]tool{}}
	type def struct {
		name, description string
		input             any
		run               toolFunc
	}
	defs := []def{
		{ToolGetOrderStatus, "Get the status and details of one of the customer's orders: items, total, " +
			"history, whether it can still be cancelled, its shipment or failure.", orderInput{}, tb.runOrderStatus},
		{ToolListRecentOrders, "List the customer's most recent orders, newest first, with status and total.",
			listInput{}, tb.runRecentOrders},
		{ToolTrackShipment, "Track the shipment of one of the customer's orders: carrier, tracking number and " +
			"estimated delivery date, or why it has not shipped yet.", orderInput{}, tb.runTrackShipment},
		{ToolExplainFailure, "Explain why one of the customer's orders failed: the stage, the reason and what " +
			"the customer can do next.", orderInput{}, tb.runExplainFailure},
	}
	for _, d := range defs {
		schema, err := inputSchema(d.input)
		if err != nil {
			return nil, fmt.Errorf("input schema of tool %s: %w", d.name, err)
		}
		spec := ToolSpec{Name: d.name, Description: d.description, InputSchema: schema}
		tb.tools[d.name] = tool{spec: spec, run: d.run}
		tb.specs = append(tb.specs, spec)
	}
	return tb, nil
}

// inputSchema generates the JSON Schema of a tool's input struct: one self-contained object schema,
// without $schema, $id or $ref, which is what Converse's toolSpec.inputSchema.json expects.
func inputSchema(v any) (json.RawMessage, error) {
	r := jsonschema.Reflector{Anonymous: true, DoNotReference: true, ExpandedStruct: true}
	s := r.Reflect(v)
	s.Version = ""
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("marshal schema: %w", err)
	}
	return b, nil
}

// run runs the named tool for customerID.
func (tb *toolbox) run(ctx context.Context, customerID, name string, input json.RawMessage) (any, []orderName, error) {
	t, ok := tb.tools[name]
	if !ok {
		return nil, nil, fault.Invalidf("there is no tool named %q", name)
	}
	return t.run(ctx, customerID, input)
}

// decodeInput reads a tool input strictly: unknown fields (such as a customerId the model made up) are
// refused, like the schema's additionalProperties: false says.
// orderOf decodes a tool input that names one order and resolves it within the customer's orders.
func (tb *toolbox) orderOf(ctx context.Context, customerID string, input json.RawMessage) (*order.Order, error) {
	var in orderInput
	if err := decodeInput(input, &in); err != nil {
		return nil, err
	}
	return tb.resolve(ctx, customerID, in.OrderID)
}

func decodeInput(input json.RawMessage, v any) error {
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fault.Invalidf("the tool input is not valid: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fault.Invalidf("the tool input must be a single JSON object")
	}
	return nil
}

func (tb *toolbox) runOrderStatus(ctx context.Context, customerID string, input json.RawMessage) (any, []orderName, error) {
	o, err := tb.orderOf(ctx, customerID, input)
	if err != nil {
		return nil, nil, err
	}
	return detailsOf(o), []orderName{nameOf(o)}, nil
}

func (tb *toolbox) runRecentOrders(ctx context.Context, customerID string, input json.RawMessage) (any, []orderName, error) {
	var in listInput
	if err := decodeInput(input, &in); err != nil {
		return nil, nil, err
	}
	limit := in.Limit
	switch {
	case limit <= 0:
		limit = defaultListLimit
	case limit > maxListLimit:
		limit = maxListLimit
	}
	orders, next, err := tb.orders.List(ctx, customerID, limit, "")
	if err != nil {
		return nil, nil, fmt.Errorf("list orders of customer %s: %w", customerID, err)
	}
	res := orderList{Orders: []orderSummary{}, More: next != ""}
	var ids []orderName
	for _, o := range orders {
		if o.CustomerID() != customerID {
			continue // never trust a store to have filtered
		}
		res.Orders = append(res.Orders, orderSummary{
			OrderID: o.ID(), Reference: referenceOf(o), Status: string(o.Status()), ItemCount: o.ItemCount(),
			Summary: itemsSummary(o.Items()), Total: o.Total().String(), Currency: o.Currency(), PlacedAt: o.CreatedAt(),
		})
		ids = append(ids, nameOf(o))
	}
	return res, ids, nil
}

func (tb *toolbox) runTrackShipment(ctx context.Context, customerID string, input json.RawMessage) (any, []orderName, error) {
	o, err := tb.orderOf(ctx, customerID, input)
	if err != nil {
		return nil, nil, err
	}
	res := trackingInfo{OrderID: o.ID(), Reference: referenceOf(o), Status: string(o.Status()), StatusDescription: statusDescription(o.Status())}
	if sh := o.Shipment(); sh != nil {
		res.Shipped, res.Carrier, res.TrackingNumber, res.EstimatedDelivery = true, sh.Carrier, sh.TrackingNumber, sh.EstimatedDelivery
	} else {
		res.Note = notShippedNote(o.Status())
	}
	return res, []orderName{nameOf(o)}, nil
}

func (tb *toolbox) runExplainFailure(ctx context.Context, customerID string, input json.RawMessage) (any, []orderName, error) {
	o, err := tb.orderOf(ctx, customerID, input)
	if err != nil {
		return nil, nil, err
	}
	res := failureInfo{OrderID: o.ID(), Reference: referenceOf(o), Status: string(o.Status()), StatusDescription: statusDescription(o.Status())}
	if f := o.Failure(); f != nil {
		res.Failed, res.Failure = true, failureFactsOf(f)
	}
	return res, []orderName{nameOf(o)}, nil
}

func detailsOf(o *order.Order) orderDetails {
	d := orderDetails{
		OrderID: o.ID(), Reference: referenceOf(o), Status: string(o.Status()), StatusDescription: statusDescription(o.Status()),
		Total: o.Total().String(), Currency: o.Currency(), PlacedAt: o.CreatedAt(), UpdatedAt: o.UpdatedAt(),
		Cancellable: o.Cancellable(), Shipment: o.Shipment(),
	}
	for _, it := range o.Items() {
		d.Items = append(d.Items, itemFacts{Name: it.Name, ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.Price.String()})
	}
	for _, c := range o.History() {
		d.History = append(d.History, statusFacts{Status: string(c.Status), At: c.At})
	}
	if f := o.Failure(); f != nil {
		d.Failure = failureFactsOf(f)
	}
	return d
}

func failureFactsOf(f *contracts.Failure) *failureFacts {
	explanation, next := failureAdvice(f.Code)
	return &failureFacts{Stage: f.Stage, Code: f.Code, Reason: f.Reason, Explanation: explanation, NextStep: next}
}

// shortID is the prefix of an order id that SMS texts show.
func shortID(id string) string {
	if len(id) <= ShortIDLength {
		return id
	}
	return id[:ShortIDLength]
}

func itemsSummary(items []order.Item) string {
	parts := make([]string, 0, len(items))
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%d × %s", it.Quantity, it.Name))
	}
	return strings.Join(parts, ", ")
}

// statusDescription says what a status means to a customer, as a predicate: "Your order 0193a1b2 " +
// statusDescription(s).
func statusDescription(s order.Status) string {
	switch s {
	case order.Pending:
		return "has been received and is waiting to be processed"
	case order.Validating:
		return "is being validated"
	case order.InventoryCheck:
		return "is being checked against our stock"
	case order.PaymentProcessing:
		return "is waiting for the payment to be authorized"
	case order.Fulfillment:
		return "is paid and being prepared for shipping"
	case order.Completed:
		return "is completed and has been handed to the carrier"
	case order.Failed:
		return "has failed and will not be shipped"
	case order.Cancelled:
		return "has been cancelled"
	}
	return "is " + strings.ToLower(string(s))
}

func notShippedNote(s order.Status) string {
	switch s {
	case order.Failed:
		return "the order failed, so it will not ship"
	case order.Cancelled:
		return "the order was cancelled, so it will not ship"
	case order.Fulfillment:
		return "the parcel is being prepared; tracking appears once it is handed to the carrier"
	}
	return "the order has not shipped yet; tracking appears once it is handed to the carrier"
}

// failureAdvice explains a failure code and says what the customer can do.
func failureAdvice(code string) (explanation, next string) {
	switch code {
	case "OUT_OF_STOCK":
		return "one or more items were out of stock", "you were not charged; you can order again when the item is back in stock"
	case "PAYMENT_DECLINED":
		return "the payment was declined", "please check your payment method or use another one, then order again"
	case "INSUFFICIENT_FUNDS":
		return "the payment was declined for insufficient funds", "please use another payment method and order again"
	case "UNKNOWN_PRODUCT":
		return "an item is not in our catalog", "please order again from the current catalog"
	case "PRICE_MISMATCH":
		return "an item's price had changed since you ordered", "please order again at the current price"
	case "ORDER_LIMIT_EXCEEDED":
		return "the order was over our order limits", "please split it into smaller orders"
	}
	return "the order could not be processed", "please contact customer support if you need help"
}
