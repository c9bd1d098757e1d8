package contracts

import (
	"encoding/json"
	"time"
)

// Event sources: which service emitted an event.
const (
	SourceOrders      = "orderflow.orders"
	SourceValidation  = "orderflow.validation"
	SourceInventory   = "orderflow.inventory"
	SourcePayment     = "orderflow.payment"
	SourceFulfillment = "orderflow.fulfillment"
)

// Detail types of the events orderflow publishes.
const (
	DetailOrderCreated      = "OrderCreated"
	DetailOrderValidated    = "OrderValidated"
	DetailInventoryReserved = "InventoryReserved"
	DetailPaymentAuthorized = "PaymentAuthorized"
	DetailOrderCompleted    = "OrderCompleted"
	DetailOrderFailed       = "OrderFailed"
	DetailOrderCancelled    = "OrderCancelled"
	DetailInventoryReleased = "InventoryReleased"
	DetailPaymentVoided     = "PaymentVoided"
)

// SchemaVersion is the version of the event contracts that this build emits, carried by every event
// detail as schemaVersion. The major part changes only with a breaking change.
const SchemaVersion = "1.0"

// Event is an event on the bus in the EventBridge envelope, exactly as EventBridge delivers it to a rule
// target. Detail holds one of the *Detail types of this package, as JSON.
type Event struct {
	// Version of the envelope format; always "0".
	Version string `json:"version"`
	// ID is deterministic per order and detail type, so consumers can deduplicate redeliveries.
	ID string `json:"id"`
	// DetailType names the event, e.g. OrderCreated.
	DetailType string `json:"detail-type"`
	// Source names the emitting service, e.g. orderflow.orders.
	Source string `json:"source"`
	// Account is the AWS account id of the bus ("000000000000" locally).
	Account string `json:"account"`
	// Time is when the event happened, in UTC.
	Time time.Time `json:"time"`
	// Region is the AWS region of the bus ("local" locally).
	Region string `json:"region"`
	// Resources lists the ARNs or ids the event is about: the order id.
	Resources []string `json:"resources"`
	// Detail is the event's payload.
	Detail json.RawMessage `json:"detail"`
}

// DetailMeta is carried by every event detail.
type DetailMeta struct {
	// OrderID is the id of the order the event is about (a UUIDv7).
	OrderID string `json:"orderId"`
	// CorrelationID ties together every event and log line caused by one API request.
	CorrelationID string `json:"correlationId"`
	// SchemaVersion is the contract version of this detail, major.minor.
	SchemaVersion string `json:"schemaVersion"`
}

// LineItem is one line of an order.
type LineItem struct {
	// ProductID is the catalog id of the product, e.g. LAPTOP001.
	ProductID string `json:"productId"`
	// Name is the product's name as the customer saw it.
	Name string `json:"name"`
	// Quantity is how many units were ordered, 1 to 1000.
	Quantity int `json:"quantity"`
	// Price is the unit price.
	Price Amount `json:"price"`
}

// Address is a postal address.
type Address struct {
	Street  string `json:"street"`
	City    string `json:"city"`
	State   string `json:"state"`
	ZipCode string `json:"zipCode"`
	Country string `json:"country"`
}

// Shipment is what fulfillment created for an order.
type Shipment struct {
	// Carrier that will deliver the parcel.
	Carrier string `json:"carrier"`
	// TrackingNumber of the parcel at the carrier.
	TrackingNumber string `json:"trackingNumber"`
	// EstimatedDelivery is the expected delivery date, YYYY-MM-DD.
	EstimatedDelivery string `json:"estimatedDelivery"`
}

// Failure says why an order failed.
type Failure struct {
	// Stage is the status the order was in when it failed, e.g. PAYMENT_PROCESSING.
	Stage string `json:"stage"`
	// Code is machine-readable, e.g. OUT_OF_STOCK or PAYMENT_DECLINED.
	Code string `json:"code"`
	// Reason is a sentence a person can read.
	Reason string `json:"reason"`
}

// OrderCreatedDetail is emitted by orderflow.orders once an accepted order has been taken off the
// ingest queue and enters the pipeline.
type OrderCreatedDetail struct {
	DetailMeta
	CustomerID      string     `json:"customerId"`
	CustomerEmail   string     `json:"customerEmail"`
	CustomerPhone   string     `json:"customerPhone,omitempty"`
	Items           []LineItem `json:"items"`
	TotalAmount     Amount     `json:"totalAmount"`
	Currency        string     `json:"currency"`
	ShippingAddress Address    `json:"shippingAddress"`
	CreatedAt       time.Time  `json:"createdAt"`
}

// OrderValidatedDetail is emitted by orderflow.validation when every item matches the catalog and the
// order is within limits.
type OrderValidatedDetail struct {
	DetailMeta
	CustomerID  string     `json:"customerId"`
	Items       []LineItem `json:"items"`
	TotalAmount Amount     `json:"totalAmount"`
	Currency    string     `json:"currency"`
	ValidatedAt time.Time  `json:"validatedAt"`
}

// ReservedItem is a quantity of one product held for an order.
type ReservedItem struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

// InventoryReservedDetail is emitted by orderflow.inventory when stock for every item has been reserved.
type InventoryReservedDetail struct {
	DetailMeta
	CustomerID  string         `json:"customerId"`
	Items       []ReservedItem `json:"items"`
	TotalAmount Amount         `json:"totalAmount"`
	Currency    string         `json:"currency"`
	ReservedAt  time.Time      `json:"reservedAt"`
}

// PaymentAuthorizedDetail is emitted by orderflow.payment when the payment was authorized; it is
// captured at fulfillment.
type PaymentAuthorizedDetail struct {
	DetailMeta
	CustomerID      string    `json:"customerId"`
	AuthorizationID string    `json:"authorizationId"`
	Amount          Amount    `json:"amount"`
	Currency        string    `json:"currency"`
	AuthorizedAt    time.Time `json:"authorizedAt"`
}

// OrderCompletedDetail is emitted by orderflow.fulfillment when the order is ready for shipping.
type OrderCompletedDetail struct {
	DetailMeta
	CustomerID    string    `json:"customerId"`
	CustomerPhone string    `json:"customerPhone,omitempty"`
	ItemCount     int       `json:"itemCount"`
	TotalAmount   Amount    `json:"totalAmount"`
	Currency      string    `json:"currency"`
	Shipment      Shipment  `json:"shipment"`
	CompletedAt   time.Time `json:"completedAt"`
}

// OrderFailedDetail is emitted by the stage that failed the order.
type OrderFailedDetail struct {
	DetailMeta
	CustomerID    string    `json:"customerId"`
	CustomerPhone string    `json:"customerPhone,omitempty"`
	TotalAmount   Amount    `json:"totalAmount"`
	Currency      string    `json:"currency"`
	Failure       Failure   `json:"failure"`
	FailedAt      time.Time `json:"failedAt"`
}

// OrderCancelledDetail is emitted by orderflow.orders when the customer cancelled the order.
type OrderCancelledDetail struct {
	DetailMeta
	CustomerID string `json:"customerId"`
	// PreviousStatus is the status the order had when it was cancelled.
	PreviousStatus string    `json:"previousStatus"`
	CancelledAt    time.Time `json:"cancelledAt"`
}

// InventoryReleasedDetail is emitted by orderflow.inventory when a reservation was given back because the
// order failed or was cancelled. It is emitted at most once per order.
type InventoryReleasedDetail struct {
	DetailMeta
	Items []ReservedItem `json:"items"`
	// Reason is OrderFailed or OrderCancelled: the event that caused the release.
	Reason     string    `json:"reason"`
	ReleasedAt time.Time `json:"releasedAt"`
}

// PaymentVoidedDetail is emitted by orderflow.payment when an authorization was voided because the order
// failed or was cancelled after payment was authorized.
type PaymentVoidedDetail struct {
	DetailMeta
	AuthorizationID string    `json:"authorizationId"`
	Amount          Amount    `json:"amount"`
	Currency        string    `json:"currency"`
	Reason          string    `json:"reason"`
	VoidedAt        time.Time `json:"voidedAt"`
}

// OrderMessage is the body of a message on the ingest queue: an accepted order waiting to enter the pipeline.
type OrderMessage struct {
	OrderID       string `json:"orderId"`
	CorrelationID string `json:"correlationId"`
}
