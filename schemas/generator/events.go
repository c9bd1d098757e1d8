// Package generator makes orderflow's published contracts from the Go types in contracts: one JSON
// Schema (Draft 4, the form the EventBridge schema registry accepts) per event, the OpenAPI 3 document
// of the REST API, and the event catalog for subscribers, docs/events.md. cmd/schemagen writes what it
// makes; tests compare it with the committed files so that they are never stale.
package generator

import (
	"fmt"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// Event is one kind of event orderflow publishes: a source and detail type pair and the Go type of its
// detail. A detail type emitted by several sources (OrderFailed) is one Event per source, so that every
// schema is named, like the schemas EventBridge discovers, after the pair actually seen on the bus.
type Event struct {
	Source     string
	DetailType string
	// Detail is a zero value of the detail's Go type, e.g. contracts.OrderCreatedDetail{}.
	Detail any
}

// Name is the schema name of the event, <source>@<DetailType>, e.g. orderflow.orders@OrderCreated.
func (e Event) Name() string { return SchemaName(e.Source, e.DetailType) }

// SchemaName is the name of the schema of the events with the given source and detail type.
func SchemaName(source, detailType string) string { return source + "@" + detailType }

// Events lists every event orderflow publishes, in pipeline order.
var Events = []Event{
	{contracts.SourceOrders, contracts.DetailOrderCreated, contracts.OrderCreatedDetail{}},
	{contracts.SourceValidation, contracts.DetailOrderValidated, contracts.OrderValidatedDetail{}},
	{contracts.SourceInventory, contracts.DetailInventoryReserved, contracts.InventoryReservedDetail{}},
	{contracts.SourcePayment, contracts.DetailPaymentAuthorized, contracts.PaymentAuthorizedDetail{}},
	{contracts.SourceFulfillment, contracts.DetailOrderCompleted, contracts.OrderCompletedDetail{}},
	{contracts.SourceValidation, contracts.DetailOrderFailed, contracts.OrderFailedDetail{}},
	{contracts.SourceInventory, contracts.DetailOrderFailed, contracts.OrderFailedDetail{}},
	{contracts.SourcePayment, contracts.DetailOrderFailed, contracts.OrderFailedDetail{}},
	{contracts.SourceFulfillment, contracts.DetailOrderFailed, contracts.OrderFailedDetail{}},
	{contracts.SourceOrders, contracts.DetailOrderCancelled, contracts.OrderCancelledDetail{}},
	{contracts.SourceInventory, contracts.DetailInventoryReleased, contracts.InventoryReleasedDetail{}},
	{contracts.SourcePayment, contracts.DetailPaymentVoided, contracts.PaymentVoidedDetail{}},
}

// FailureCodes are the failure codes an OrderFailed event carries, by the stage that fails orders with
// them. Adding a code widens the enum (a minor change); removing one is breaking.
var FailureCodes = []string{
	"UNKNOWN_PRODUCT", "PRICE_MISMATCH", "ORDER_LIMIT_EXCEEDED", // validation
	"OUT_OF_STOCK",                           // inventory
	"PAYMENT_DECLINED", "INSUFFICIENT_FUNDS", // payment
}

// failedStage is the status an order is in when the stage behind a source fails it: the only value
// failure.stage takes in that source's OrderFailed events.
var failedStage = map[string]order.Status{
	contracts.SourceValidation:  order.Validating,
	contracts.SourceInventory:   order.InventoryCheck,
	contracts.SourcePayment:     order.PaymentProcessing,
	contracts.SourceFulfillment: order.Fulfillment,
}

// ExampleEnvelope is the bus that example events are stamped with: an AWS account and region.
var ExampleEnvelope = pipeline.Envelope{Account: "123456789012", Region: "eu-west-1"}

// exampleStart is when the example order was placed; the example events follow a second apart.
var exampleStart = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// ExampleOrder is the order the example events are about, made by order.New like any real order.
func ExampleOrder() (*order.Order, error) {
	o, err := order.New(order.Draft{
		ID:            "01960f3a-7b2c-7d4e-8f90-a1b2c3d4e5f6",
		Reference:     "7K3M-Q9TX",
		CustomerID:    "cust-1001",
		CustomerEmail: "ada@example.com",
		CustomerPhone: "+15555550123",
		Items: []order.Item{
			{ProductID: "LAPTOP001", Name: "Ultrabook 14", Quantity: 1, Price: 129999},
			{ProductID: "MOUSE001", Name: "Wireless Mouse", Quantity: 2, Price: 2550},
		},
		Total:           135099,
		Currency:        "USD",
		PaymentToken:    "tok_visa_4242",
		ShippingAddress: contracts.Address{Street: "1 Main St", City: "Springfield", State: "IL", ZipCode: "62701", Country: "US"},
		CorrelationID:   "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
	}, exampleStart)
	if err != nil {
		return nil, fmt.Errorf("make example order: %w", err)
	}
	return o, nil
}

// Example builds a complete example of the event e, in its envelope, through pipeline.Envelope.Event
// as the services do. Every field of the detail is filled in, optional ones included, so that a field
// of the Go type missing from the schema shows when the example is validated.
func Example(e Event) (contracts.Event, error) {
	o, err := ExampleOrder()
	if err != nil {
		return contracts.Event{}, err
	}
	at := exampleStart
	step := func() time.Time { at = at.Add(time.Second); return at }
	// Drive the order through the state machine up to the point where e is emitted, so that the
	// example carries the status the order really has then.
	var steps []func(time.Time) error
	switch e.Source {
	case contracts.SourceInventory:
		steps = []func(time.Time) error{o.StartValidation, o.PassValidation}
	case contracts.SourcePayment:
		steps = []func(time.Time) error{o.StartValidation, o.PassValidation, o.ReserveInventory}
	case contracts.SourceFulfillment:
		steps = []func(time.Time) error{o.StartValidation, o.PassValidation, o.ReserveInventory,
			func(t time.Time) error { return o.AuthorizePayment("auth-7f3e9c2a", t) }}
	case contracts.SourceValidation:
		steps = []func(time.Time) error{o.StartValidation}
	}
	for _, s := range steps {
		if err := s(step()); err != nil {
			return contracts.Event{}, fmt.Errorf("example %s: advance order: %w", e.Name(), err)
		}
	}
	meta := pipeline.Meta(o)
	var reserved []contracts.ReservedItem
	for _, it := range o.Items() {
		reserved = append(reserved, contracts.ReservedItem{ProductID: it.ProductID, Quantity: it.Quantity})
	}
	now := step()
	var detail any
	switch e.DetailType {
	case contracts.DetailOrderCreated:
		detail = contracts.OrderCreatedDetail{DetailMeta: meta, CustomerID: o.CustomerID(),
			CustomerEmail: o.CustomerEmail(), CustomerPhone: o.CustomerPhone(), Items: pipeline.LineItems(o),
			TotalAmount: o.Total(), Currency: o.Currency(), ShippingAddress: o.ShippingAddress(),
			CreatedAt: o.CreatedAt()}
	case contracts.DetailOrderValidated:
		detail = contracts.OrderValidatedDetail{DetailMeta: meta, CustomerID: o.CustomerID(),
			Items: pipeline.LineItems(o), TotalAmount: o.Total(), Currency: o.Currency(), ValidatedAt: now}
	case contracts.DetailInventoryReserved:
		detail = contracts.InventoryReservedDetail{DetailMeta: meta, CustomerID: o.CustomerID(),
			Items: reserved, TotalAmount: o.Total(), Currency: o.Currency(), ReservedAt: now}
	case contracts.DetailPaymentAuthorized:
		detail = contracts.PaymentAuthorizedDetail{DetailMeta: meta, CustomerID: o.CustomerID(),
			AuthorizationID: "auth-7f3e9c2a", Amount: o.Total(), Currency: o.Currency(), AuthorizedAt: now}
	case contracts.DetailOrderCompleted:
		sh := contracts.Shipment{Carrier: "UPS", TrackingNumber: "1Z999AA10123456784", EstimatedDelivery: "2026-03-18"}
		if err := o.Complete(sh, now); err != nil {
			return contracts.Event{}, fmt.Errorf("example %s: complete order: %w", e.Name(), err)
		}
		detail = contracts.OrderCompletedDetail{DetailMeta: meta, CustomerID: o.CustomerID(),
			CustomerPhone: o.CustomerPhone(), ItemCount: o.ItemCount(), TotalAmount: o.Total(),
			Currency: o.Currency(), Shipment: *o.Shipment(), CompletedAt: now}
	case contracts.DetailOrderFailed:
		code, reason := exampleFailure(e.Source)
		if err := o.Fail(code, reason, now); err != nil {
			return contracts.Event{}, fmt.Errorf("example %s: fail order: %w", e.Name(), err)
		}
		detail = contracts.OrderFailedDetail{DetailMeta: meta, CustomerID: o.CustomerID(),
			CustomerPhone: o.CustomerPhone(), TotalAmount: o.Total(), Currency: o.Currency(),
			Failure: *o.Failure(), FailedAt: now}
	case contracts.DetailOrderCancelled:
		prev := o.Status()
		if err := o.Cancel(now); err != nil {
			return contracts.Event{}, fmt.Errorf("example %s: cancel order: %w", e.Name(), err)
		}
		detail = contracts.OrderCancelledDetail{DetailMeta: meta, CustomerID: o.CustomerID(),
			PreviousStatus: string(prev), CancelledAt: now}
	case contracts.DetailInventoryReleased:
		detail = contracts.InventoryReleasedDetail{DetailMeta: meta, Items: reserved,
			Reason: contracts.DetailOrderCancelled, ReleasedAt: now}
	case contracts.DetailPaymentVoided:
		detail = contracts.PaymentVoidedDetail{DetailMeta: meta, AuthorizationID: "auth-7f3e9c2a",
			Amount: o.Total(), Currency: o.Currency(), Reason: contracts.DetailOrderCancelled, VoidedAt: now}
	default:
		return contracts.Event{}, fmt.Errorf("example %s: no example for detail type %s", e.Name(), e.DetailType)
	}
	ev, err := ExampleEnvelope.Event(o, e.Source, e.DetailType, detail, now)
	if err != nil {
		return contracts.Event{}, fmt.Errorf("example %s: %w", e.Name(), err)
	}
	return ev, nil
}

// exampleFailure is a failure the stage behind source really reports.
func exampleFailure(source string) (code, reason string) {
	switch source {
	case contracts.SourceValidation:
		return "PRICE_MISMATCH", "price of MOUSE001 is 24.99, not 25.50"
	case contracts.SourceInventory:
		return "OUT_OF_STOCK", "LAPTOP001: 0 available, 1 ordered"
	case contracts.SourcePayment:
		return "PAYMENT_DECLINED", "the card issuer declined the payment"
	default:
		return "OUT_OF_STOCK", "the warehouse could not pick LAPTOP001"
	}
}
