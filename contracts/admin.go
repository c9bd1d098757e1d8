package contracts

import (
	"encoding/json"
	"time"
)

// The bodies of the admin endpoints (/admin/...), which the operations console uses. They need an admin
// key.

// Text is one SMS text message sent about an order.
type Text struct {
	// ID is unique per message, derived from the event that caused it.
	ID string `json:"id"`
	// OrderID is the order the text is about.
	OrderID string `json:"orderId"`
	// To is the E.164 number the text went to; empty when it went to the operations channel unaddressed.
	To string `json:"to"`
	// Text is the message as sent.
	Text string `json:"text"`
	// SentAt is when it was handed to the SMS provider, in UTC.
	SentAt time.Time `json:"sentAt"`
}

// TextList is the body of GET /admin/orders/{orderId}/texts, oldest first.
type TextList struct {
	// Texts are the texts sent about the order, oldest first.
	Texts []Text `json:"texts"`
}

// DeadLetter is a message that exhausted its deliveries.
type DeadLetter struct {
	// ID identifies the dead letter for a redrive.
	ID int64 `json:"id"`
	// Target is the consumer it was for: a routing target such as payment-authorize, dispatcher (the
	// ingest queue) or webhook:<subscription>.
	Target string `json:"target"`
	// DetailType is the event's detail type, or OrderMessage for an ingest queue message.
	DetailType string `json:"detailType"`
	// OrderID is the order the message is about, when known.
	OrderID string `json:"orderId,omitempty"`
	// Error is the last delivery's error.
	Error string `json:"error"`
	// Attempts is how many deliveries were made.
	Attempts int `json:"attempts"`
	// FailedAt is when it was dead-lettered, in UTC.
	FailedAt time.Time `json:"failedAt"`
}

// DeadLetterList is the body of GET /admin/dead-letters, oldest first.
type DeadLetterList struct {
	// DeadLetters are the oldest dead letters, at most limit of them.
	DeadLetters []DeadLetter `json:"deadLetters"`
	// Total is how many dead letters there are in all.
	Total int `json:"total"`
}

// RedriveRequest is the body of POST /admin/dead-letters/redrive: either ids, or all.
type RedriveRequest struct {
	// IDs are the dead letters to redrive.
	IDs []int64 `json:"ids,omitempty"`
	// All redrives every dead letter; it cannot be combined with ids.
	All bool `json:"all,omitempty"`
}

// RedriveResult is the answer of POST /admin/dead-letters/redrive.
type RedriveResult struct {
	// Redriven is how many dead letters went back to delivery (ids that were not dead letters are
	// ignored).
	Redriven int `json:"redriven"`
}

// StatusCount is how many orders are in one status.
type StatusCount struct {
	// Status is an order status, e.g. PAYMENT_PROCESSING.
	Status string `json:"status"`
	// Count is how many orders are in it.
	Count int64 `json:"count"`
}

// FailureCount is how many orders failed at one stage with one code since the server started.
type FailureCount struct {
	// Stage is the status the orders failed in, e.g. INVENTORY_CHECK.
	Stage string `json:"stage"`
	// Code is the failure code, e.g. OUT_OF_STOCK.
	Code string `json:"code"`
	// Count is how many orders failed so.
	Count int64 `json:"count"`
}

// LiveSecond is one second of the live series.
type LiveSecond struct {
	// At is the start of the second, in UTC.
	At time.Time `json:"at"`
	// Created is how many orders the API accepted in that second.
	Created int `json:"created"`
	// Completed is how many orders reached COMPLETED in that second.
	Completed int `json:"completed"`
	// Failed is how many orders FAILED in that second.
	Failed int `json:"failed"`
	// LatencyP50Ms and LatencyP99Ms are the create→COMPLETED times of the orders completed in that
	// second, in milliseconds; absent when none completed.
	LatencyP50Ms *float64 `json:"latencyP50Ms,omitempty"`
	LatencyP99Ms *float64 `json:"latencyP99Ms,omitempty"`
}

// LiveSnapshot is the body of GET /admin/live and of every "snapshot" event of GET /admin/live/stream:
// the state of the pipeline right now.
type LiveSnapshot struct {
	// At is when the snapshot was taken, in UTC.
	At time.Time `json:"at"`
	// Statuses are the orders per status right now, in pipeline order, every status listed.
	Statuses []StatusCount `json:"statuses"`
	// Failures are the orders failed since the server started, by stage and code, most first.
	Failures []FailureCount `json:"failures"`
	// DeadLetters is the number of dead letters.
	DeadLetters int `json:"deadLetters"`
	// Series is the last minutes, one entry per second, oldest first, up to the second of At.
	Series []LiveSecond `json:"series"`
}

// LiveEvent is the data of an "event" event of GET /admin/live/stream: one event the server published.
type LiveEvent struct {
	// ID is the event's id.
	ID string `json:"id"`
	// DetailType is the event's detail type, e.g. OrderCompleted.
	DetailType string `json:"detailType"`
	// Source is the emitting service, e.g. orderflow.payment.
	Source string `json:"source"`
	// OrderID is the order the event is about.
	OrderID string `json:"orderId"`
	// Reference is the order's reference, e.g. 7K3M-Q9TX.
	Reference string `json:"reference,omitempty"`
	// Time is when the event happened, in UTC.
	Time time.Time `json:"time"`
}

// ToolCall is one tool the chatbot called while answering.
type ToolCall struct {
	// Name is the tool's name, e.g. get_order.
	Name string `json:"name"`
	// Input is the tool's input, as the model (or the offline responder) gave it.
	Input json.RawMessage `json:"input"`
	// Output is the tool's result; absent when it failed.
	Output json.RawMessage `json:"output,omitempty"`
	// Error says why the tool failed; absent when it succeeded.
	Error string `json:"error,omitempty"`
}

// ChatTrace is the answer of POST /admin/chatbot: the chatbot's answer with how it was reached.
type ChatTrace struct {
	ChatResponse
	// ToolCalls are the tools called, in order.
	ToolCalls []ToolCall `json:"toolCalls"`
}

// Delivery is one delivery attempt of an event to a webhook subscription.
type Delivery struct {
	// EventID is the event's id.
	EventID string `json:"eventId"`
	// DetailType is the event's detail type.
	DetailType string `json:"detailType"`
	// OrderID is the order the event is about.
	OrderID string `json:"orderId,omitempty"`
	// At is when the attempt started, in UTC.
	At time.Time `json:"at"`
	// StatusCode is the endpoint's HTTP status; 0 when it could not be reached.
	StatusCode int `json:"statusCode"`
	// OK is true when the endpoint acknowledged the event (2xx).
	OK bool `json:"ok"`
	// Error says why the attempt failed; absent when OK.
	Error string `json:"error,omitempty"`
	// DurationMs is how long the attempt took, in milliseconds.
	DurationMs float64 `json:"durationMs"`
}

// Subscription is another team's webhook subscription with its recent deliveries.
type Subscription struct {
	// Name identifies the subscription.
	Name string `json:"name"`
	// Endpoint is the URL events are POSTed to.
	Endpoint string `json:"endpoint"`
	// EventPattern is the EventBridge event pattern events are matched with.
	EventPattern json.RawMessage `json:"eventPattern"`
	// Delivered and Failed count the attempts since the server started.
	Delivered int64 `json:"delivered"`
	Failed    int64 `json:"failed"`
	// Recent are the latest attempts, newest first.
	Recent []Delivery `json:"recent"`
}

// SubscriptionList is the body of GET /admin/subscriptions.
type SubscriptionList struct {
	// Subscriptions are by name.
	Subscriptions []Subscription `json:"subscriptions"`
}
