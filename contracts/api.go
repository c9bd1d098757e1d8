package contracts

import (
	"encoding/json"
	"time"
)

// CreateOrderRequest is the body of POST /orders. Numbers are kept as json.Number so that every problem in
// them can be reported field by field instead of failing the whole decode.
type CreateOrderRequest struct {
	// CustomerID is the customer placing the order.
	CustomerID string `json:"customerId"`
	// Items are the lines of the order, 1 to 100.
	Items []OrderItemInput `json:"items"`
	// TotalAmount must equal the sum of quantity × price, with at most 2 decimals.
	TotalAmount json.Number `json:"totalAmount"`
	// Currency is an ISO 4217 code; USD when absent.
	Currency string `json:"currency,omitempty"`
	// CustomerEmail is where the customer gets mail.
	CustomerEmail string `json:"customerEmail"`
	// CustomerPhone is an E.164 number for SMS notifications, optional.
	CustomerPhone string `json:"customerPhone,omitempty"`
	// PaymentToken identifies the customer's payment method at the payment gateway, optional.
	PaymentToken string `json:"paymentToken,omitempty"`
	// ShippingAddress is where the order is shipped.
	ShippingAddress Address `json:"shippingAddress"`
}

// OrderItemInput is one line of a CreateOrderRequest.
type OrderItemInput struct {
	// ProductID is the catalog id of the product, e.g. LAPTOP001.
	ProductID string `json:"productId"`
	// Name is the product's name as the customer saw it.
	Name string `json:"name"`
	// Quantity is an integer from 1 to 1000.
	Quantity json.Number `json:"quantity"`
	// Price is the unit price the customer saw, with at most 2 decimals; it must match the catalog.
	Price json.Number `json:"price"`
}

// StatusChange is one entry of an order's history.
type StatusChange struct {
	// Status is the status the order moved to.
	Status string `json:"status"`
	// At is when it moved, in UTC.
	At time.Time `json:"at"`
}

// Order is an order as the API returns it.
type Order struct {
	// OrderID is the order's id, a UUIDv7.
	OrderID string `json:"orderId"`
	// Reference is the order's short reference for people, e.g. 7K3M-Q9TX: 8 Crockford base32 symbols
	// (40 random bits), unique across all orders, shown in the SMS texts. Case-insensitive, with or
	// without the dash (O reads as 0, I and L as 1). Set on every order since contract version 1.2.
	Reference string `json:"reference,omitempty" jsonschema:"pattern=^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"`
	// CustomerID is the customer who placed the order.
	CustomerID string `json:"customerId"`
	// Status is where the order is in the pipeline.
	Status string `json:"status"`
	// Items are the lines of the order.
	Items []LineItem `json:"items"`
	// TotalAmount is the sum of quantity × price over the items.
	TotalAmount Amount `json:"totalAmount"`
	// Currency is the ISO 4217 code of every amount of the order, e.g. USD.
	Currency string `json:"currency"`
	// CustomerEmail is where the customer gets mail.
	CustomerEmail string `json:"customerEmail"`
	// CustomerPhone is the customer's E.164 number for SMS; absent when the customer gave none.
	CustomerPhone string `json:"customerPhone,omitempty"`
	// ShippingAddress is where the order is shipped.
	ShippingAddress Address `json:"shippingAddress"`
	// CreatedAt is when the order was accepted, in UTC.
	CreatedAt time.Time `json:"createdAt"`
	// UpdatedAt is when the order last changed, in UTC.
	UpdatedAt time.Time `json:"updatedAt"`
	// History lists every status the order went through, oldest first.
	History []StatusChange `json:"history"`
	// Shipment is present once the order is COMPLETED.
	Shipment *Shipment `json:"shipment,omitempty"`
	// Failure is present when the order FAILED.
	Failure *Failure `json:"failure,omitempty"`
}

// OrderList is the body of GET /orders: a page of a customer's orders, newest first.
type OrderList struct {
	// Orders is the page, newest first.
	Orders []Order `json:"orders"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor" jsonschema:"nullable"`
}

// EventList is the body of GET /orders/{orderId}/events, oldest first.
type EventList struct {
	// Events are the events published about the order, oldest first.
	Events []Event `json:"events"`
}

// InventoryItem is a catalog product with the stock that can still be reserved.
type InventoryItem struct {
	// ProductID is the catalog id of the product, e.g. LAPTOP001.
	ProductID string `json:"productId"`
	// Name is the product's name.
	Name string `json:"name"`
	// Price is the unit price.
	Price Amount `json:"price"`
	// Available is the stock that can still be reserved.
	Available int `json:"available"`
}

// InventoryList is the body of GET /inventory: a page of the catalog, by product id.
type InventoryList struct {
	// Items are the page's products, by product id.
	Items []InventoryItem `json:"items"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor" jsonschema:"nullable"`
}

// PutInventoryRequest is the body of PUT /inventory/{productId}.
type PutInventoryRequest struct {
	// Name is the product's name.
	Name string `json:"name"`
	// Price is the unit price, with at most 2 decimals.
	Price json.Number `json:"price"`
	// Available is the stock that can be reserved, a non-negative integer.
	Available json.Number `json:"available"`
}

// Error codes of the API's error body.
const (
	CodeValidationFailed     = "VALIDATION_FAILED"
	CodeInvalidJSON          = "INVALID_JSON"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeForbidden            = "FORBIDDEN"
	CodeNotFound             = "NOT_FOUND"
	CodeConflict             = "CONFLICT"
	CodeIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodePreconditionFailed   = "PRECONDITION_FAILED"
	CodeRateLimited          = "RATE_LIMITED"
	CodeInternal             = "INTERNAL"
	CodeUnavailable          = "UNAVAILABLE"
)

// ErrorBody is the body of every error response.
type ErrorBody struct {
	// Error says what went wrong.
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong.
type ErrorDetail struct {
	// Code is machine-readable, one of the Code constants, e.g. VALIDATION_FAILED.
	Code string `json:"code"`
	// Message is a sentence a person can read.
	Message string `json:"message"`
	// Details lists the problems field by field, for VALIDATION_FAILED.
	Details []FieldIssue `json:"details,omitempty"`
}

// FieldIssue is one problem with one field of a request, e.g. {"field":"items[0].quantity","issue":"must be an integer from 1 to 1000"}.
type FieldIssue struct {
	// Field is the path of the field in the request body, e.g. items[0].quantity.
	Field string `json:"field"`
	// Issue says what is wrong with it.
	Issue string `json:"issue"`
}

// ChatRequest is the body of POST /chatbot.
type ChatRequest struct {
	// Query is the customer's question.
	Query string `json:"query"`
	// CustomerID is the customer asking; the chatbot sees only this customer's orders.
	CustomerID string `json:"customerId"`
	// SessionID continues an earlier conversation; absent to start a new one.
	SessionID string `json:"sessionId,omitempty"`
}

// Answer sources of a ChatResponse.
const (
	ChatSourceModel    = "model"
	ChatSourceFallback = "fallback"
)

// ChatResponse is the chatbot's answer.
type ChatResponse struct {
	// Answer is the chatbot's reply.
	Answer string `json:"answer"`
	// SessionID continues the conversation when sent with the next ChatRequest.
	SessionID string `json:"sessionId"`
	// OrderIDs are the orders the answer is about.
	OrderIDs []string `json:"orderIds"`
	// Source is "model" when the model answered, "fallback" when the offline responder did.
	Source string `json:"source"`
}

// Health is the body of GET /healthz.
type Health struct {
	// Status says whether the service is healthy.
	Status string `json:"status"`
}
