package contracts

import (
	"encoding/json"
	"time"
)

// CreateOrderRequest is the body of POST /orders. Numbers are kept as json.Number so that every problem in
// them can be reported field by field instead of failing the whole decode.
type CreateOrderRequest struct {
	CustomerID      string           `json:"customerId"`
	Items           []OrderItemInput `json:"items"`
	TotalAmount     json.Number      `json:"totalAmount"`
	Currency        string           `json:"currency,omitempty"`
	CustomerEmail   string           `json:"customerEmail"`
	CustomerPhone   string           `json:"customerPhone,omitempty"`
	PaymentToken    string           `json:"paymentToken,omitempty"`
	ShippingAddress Address          `json:"shippingAddress"`
}

// OrderItemInput is one line of a CreateOrderRequest.
type OrderItemInput struct {
	ProductID string      `json:"productId"`
	Name      string      `json:"name"`
	Quantity  json.Number `json:"quantity"`
	Price     json.Number `json:"price"`
}

// StatusChange is one entry of an order's history.
type StatusChange struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// Order is an order as the API returns it.
type Order struct {
	OrderID         string         `json:"orderId"`
	CustomerID      string         `json:"customerId"`
	Status          string         `json:"status"`
	Items           []LineItem     `json:"items"`
	TotalAmount     Amount         `json:"totalAmount"`
	Currency        string         `json:"currency"`
	CustomerEmail   string         `json:"customerEmail"`
	CustomerPhone   string         `json:"customerPhone,omitempty"`
	ShippingAddress Address        `json:"shippingAddress"`
	CreatedAt       time.Time      `json:"createdAt"`
	UpdatedAt       time.Time      `json:"updatedAt"`
	History         []StatusChange `json:"history"`
	Shipment        *Shipment      `json:"shipment,omitempty"`
	Failure         *Failure       `json:"failure,omitempty"`
}

// OrderList is the body of GET /orders: a page of a customer's orders, newest first.
type OrderList struct {
	Orders []Order `json:"orders"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor"`
}

// EventList is the body of GET /orders/{orderId}/events, oldest first.
type EventList struct {
	Events []Event `json:"events"`
}

// InventoryItem is a catalog product with the stock that can still be reserved.
type InventoryItem struct {
	ProductID string `json:"productId"`
	Name      string `json:"name"`
	Price     Amount `json:"price"`
	Available int    `json:"available"`
}

// InventoryList is the body of GET /inventory.
type InventoryList struct {
	Items []InventoryItem `json:"items"`
}

// PutInventoryRequest is the body of PUT /inventory/{productId}.
type PutInventoryRequest struct {
	Name      string      `json:"name"`
	Price     json.Number `json:"price"`
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
	CodeRateLimited          = "RATE_LIMITED"
	CodeInternal             = "INTERNAL"
	CodeUnavailable          = "UNAVAILABLE"
)

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong.
type ErrorDetail struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Details []FieldIssue `json:"details,omitempty"`
}

// FieldIssue is one problem with one field of a request, e.g. {"field":"items[0].quantity","issue":"must be an integer from 1 to 1000"}.
type FieldIssue struct {
	Field string `json:"field"`
	Issue string `json:"issue"`
}

// ChatRequest is the body of POST /chatbot.
type ChatRequest struct {
	Query      string `json:"query"`
	CustomerID string `json:"customerId"`
	SessionID  string `json:"sessionId,omitempty"`
}

// Answer sources of a ChatResponse.
const (
	ChatSourceModel    = "model"
	ChatSourceFallback = "fallback"
)

// ChatResponse is the chatbot's answer.
type ChatResponse struct {
	Answer    string   `json:"answer"`
	SessionID string   `json:"sessionId"`
	OrderIDs  []string `json:"orderIds"`
	// Source is "model" when the model answered, "fallback" when the offline responder did.
	Source string `json:"source"`
}

// Health is the body of GET /healthz.
type Health struct {
	Status string `json:"status"`
}
