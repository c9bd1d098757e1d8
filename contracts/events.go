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
const SchemaVersion = "1.2"

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
	// EventID is the event's deterministic id (the same as the envelope's id locally): the id to
	// deduplicate by. On AWS, EventBridge stamps a fresh envelope id on every put, so consumers there
	// must deduplicate by this field, not by the envelope's. Always set since contract version 1.1;
	// optional in the schema so that 1.0 events stay valid.
	EventID string `json:"eventId,omitempty"`
	// OrderID is the id of the order the event is about (a UUIDv7).
	OrderID string `json:"orderId"`
	// Reference is the short reference of the order for people, e.g. 7K3M-Q9TX (8 Crockford base32
	// symbols, unique across all orders): what the customer's texts show. Set on every event since
	// contract version 1.2; optional in the schema so that earlier events stay valid.
	Reference string `json:"reference,omitempty" jsonschema:"pattern=^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"`
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
	// Street is the street and house number.
	Street string `json:"street"`
	// City is the city or town.
	City string `json:"city"`
	// State is the state, province or region.
	State string `json:"state"`
	// ZipCode is the postal code.
	ZipCode string `json:"zipCode"`
	// Country is the country, e.g. US.
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
	// CustomerID is the customer who placed the order.
	CustomerID string `json:"customerId"`
	// CustomerEmail is where the customer gets mail.
	CustomerEmail string `json:"customerEmail"`
	// CustomerPhone is the customer's E.164 number for SMS; absent when the customer gave none.
	CustomerPhone string `json:"customerPhone,omitempty"`
	// Items are the lines of the order.
	Items []LineItem `json:"items"`
	// TotalAmount is the sum of quantity × price over the items.
	TotalAmount Amount `json:"totalAmount"`
	// Currency is the ISO 4217 code of every amount of the order, e.g. USD.
	Currency string `json:"currency"`
	// ShippingAddress is where the order is shipped.
	ShippingAddress Address `json:"shippingAddress"`
	// CreatedAt is when the API accepted the order, in UTC.
	CreatedAt time.Time `json:"createdAt"`
}

// OrderValidatedDetail is emitted by orderflow.validation when every item matches the catalog and the
// order is within limits.
type OrderValidatedDetail struct {
	DetailMeta
	// CustomerID is the customer who placed the order.
	CustomerID string `json:"customerId"`
	// Items are the lines of the order, as checked against the catalog.
	Items []LineItem `json:"items"`
	// TotalAmount is the sum of quantity × price over the items.
	TotalAmount Amount `json:"totalAmount"`
	// Currency is the ISO 4217 code of every amount of the order, e.g. USD.
	Currency string `json:"currency"`
	// ValidatedAt is when validation passed, in UTC.
	ValidatedAt time.Time `json:"validatedAt"`
}

// ReservedItem is a quantity of one product held for an order.
type ReservedItem struct {
	// ProductID is the catalog id of the product, e.g. LAPTOP001.
	ProductID string `json:"productId"`
	// Quantity is how many units are held.
	Quantity int `json:"quantity"`
}

// InventoryReservedDetail is emitted by orderflow.inventory when stock for every item has been reserved.
type InventoryReservedDetail struct {
	DetailMeta
	// CustomerID is the customer who placed the order.
	CustomerID string `json:"customerId"`
	// Items are the quantities reserved, one entry per product.
	Items []ReservedItem `json:"items"`
	// TotalAmount is the amount the payment stage will authorize.
	TotalAmount Amount `json:"totalAmount"`
	// Currency is the ISO 4217 code of TotalAmount, e.g. USD.
	Currency string `json:"currency"`
	// ReservedAt is when the stock was reserved, in UTC.
	ReservedAt time.Time `json:"reservedAt"`
}

// PaymentAuthorizedDetail is emitted by orderflow.payment when the payment was authorized; it is
// captured at fulfillment.
type PaymentAuthorizedDetail struct {
	DetailMeta
	// CustomerID is the customer who placed the order.
	CustomerID string `json:"customerId"`
	// AuthorizationID is the payment gateway's id of the authorization.
	AuthorizationID string `json:"authorizationId"`
	// Amount is the authorized amount: the order total.
	Amount Amount `json:"amount"`
	// Currency is the ISO 4217 code of Amount, e.g. USD.
	Currency string `json:"currency"`
	// AuthorizedAt is when the payment was authorized, in UTC.
	AuthorizedAt time.Time `json:"authorizedAt"`
}

// OrderCompletedDetail is emitted by orderflow.fulfillment when the order is ready for shipping.
type OrderCompletedDetail struct {
	DetailMeta
	// CustomerID is the customer who placed the order.
	CustomerID string `json:"customerId"`
	// CustomerPhone is the customer's E.164 number for SMS; absent when the customer gave none.
	CustomerPhone string `json:"customerPhone,omitempty"`
	// ItemCount is the number of units shipped: the sum of the quantities.
	ItemCount int `json:"itemCount"`
	// TotalAmount is the amount captured.
	TotalAmount Amount `json:"totalAmount"`
	// Currency is the ISO 4217 code of TotalAmount, e.g. USD.
	Currency string `json:"currency"`
	// Shipment is the parcel created for the order.
	Shipment Shipment `json:"shipment"`
	// CompletedAt is when the order was completed, in UTC.
	CompletedAt time.Time `json:"completedAt"`
}

// OrderFailedDetail is emitted by the stage that failed the order.
type OrderFailedDetail struct {
	DetailMeta
	// CustomerID is the customer who placed the order.
	CustomerID string `json:"customerId"`
	// CustomerPhone is the customer's E.164 number for SMS; absent when the customer gave none.
	CustomerPhone string `json:"customerPhone,omitempty"`
	// TotalAmount is the order total; nothing of it is charged.
	TotalAmount Amount `json:"totalAmount"`
	// Currency is the ISO 4217 code of TotalAmount, e.g. USD.
	Currency string `json:"currency"`
	// Failure says at which stage and why the order failed.
	Failure Failure `json:"failure"`
	// FailedAt is when the order failed, in UTC.
	FailedAt time.Time `json:"failedAt"`
}

// OrderCancelledDetail is emitted by orderflow.orders when the customer cancelled the order.
type OrderCancelledDetail struct {
	DetailMeta
	// CustomerID is the customer who placed and cancelled the order.
	CustomerID string `json:"customerId"`
	// PreviousStatus is the status the order had when it was cancelled.
	PreviousStatus string `json:"previousStatus"`
	// CancelledAt is when the order was cancelled, in UTC.
	CancelledAt time.Time `json:"cancelledAt"`
}

// InventoryReleasedDetail is emitted by orderflow.inventory when a reservation was given back because the
// order failed or was cancelled. It is emitted at most once per order.
type InventoryReleasedDetail struct {
	DetailMeta
	// Items are the quantities given back to stock, one entry per product.
	Items []ReservedItem `json:"items"`
	// Reason is OrderFailed or OrderCancelled: the event that caused the release.
	Reason string `json:"reason"`
	// ReleasedAt is when the stock was given back, in UTC.
	ReleasedAt time.Time `json:"releasedAt"`
}

// PaymentVoidedDetail is emitted by orderflow.payment when an authorization was voided because the order
// failed or was cancelled after payment was authorized.
type PaymentVoidedDetail struct {
	DetailMeta
	// AuthorizationID is the payment gateway's id of the voided authorization.
	AuthorizationID string `json:"authorizationId"`
	// Amount is the amount that was authorized and is now released.
	Amount Amount `json:"amount"`
	// Currency is the ISO 4217 code of Amount, e.g. USD.
	Currency string `json:"currency"`
	// Reason is OrderFailed or OrderCancelled: the event that caused the void.
	Reason string `json:"reason"`
	// VoidedAt is when the authorization was voided, in UTC.
	VoidedAt time.Time `json:"voidedAt"`
}

// OrderMessage is the body of a message on the ingest queue: an accepted order waiting to enter the pipeline.
type OrderMessage struct {
	OrderID       string `json:"orderId"`
	CorrelationID string `json:"correlationId"`
	// FollowUp, when FollowUpCancel, is a cancel's follow-up: the dispatcher publishes the order's
	// OrderCancelled again if the order is cancelled (see ingest.Service.Cancel).
	FollowUp string `json:"followUp,omitempty"`
}

// FollowUpCancel marks an OrderMessage as a cancel's follow-up.
const FollowUpCancel = "cancel"
