package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/orderflow/orderflow/contracts"
)

type correlationKey struct{}

// WithCorrelationID returns a context carrying the correlation id of the request or event being handled.
// The HTTP API puts a request's id there and ingest stamps it on the new order; Logged puts an event's
// there.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the correlation id carried by ctx, or "" when there is none.
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

type firstDeliveryKey struct{}

// WithFirstDelivery returns a context that says its event reaches the handler for the first time: the
// runtime delivering it knows that no earlier delivery of the event reached this handler (locally, an
// event handed over in process right after the commit that stored it). A handler's adapters may then
// skip what only a redelivery needs, such as looking up whether the event's effect is recorded already.
func WithFirstDelivery(ctx context.Context) context.Context {
	return context.WithValue(ctx, firstDeliveryKey{}, true)
}

// FirstDelivery reports whether ctx carries a first delivery (WithFirstDelivery). False is always safe:
// it only means the handler cannot rule out a redelivery.
func FirstDelivery(ctx context.Context) bool {
	first, _ := ctx.Value(firstDeliveryKey{}).(bool)
	return first
}

// Middleware wraps an event handler with a cross-cutting concern.
type Middleware func(Handler) Handler

// Chain wraps h in mw, the first outermost.
func Chain(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// Recovered turns a panic in the handler into an error, so that the delivery is retried or
// dead-lettered like any failure instead of taking the process (or the Lambda invocation) down.
func Recovered() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, e contracts.Event) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("handler panicked on %s event %s: %v", e.DetailType, e.ID, r)
				}
			}()
			return next(ctx, e)
		}
	}
}

// Logged logs each event the target handles at debug level, with the order and correlation ids: a trace
// of an order through the pipeline (the correlation id ties it to the API request that created the
// order). The detail is decoded for the correlation id only when debug logging is on: it is the hot path.
// Failures are logged where the retry decision is made (the delivery engine locally, the queue on AWS),
// so they are not logged twice.
func Logged(log *slog.Logger, target string) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, e contracts.Event) error {
			if !log.Enabled(ctx, slog.LevelDebug) {
				return next(ctx, e)
			}
			var meta contracts.DetailMeta
			_ = jsonv1.Unmarshal(e.Detail, &meta) // best effort: a malformed detail is the handler's to report
			ctx = WithCorrelationID(ctx, meta.CorrelationID)
			start := time.Now()
			err := next(ctx, e)
			log.DebugContext(ctx, "event handled", "target", target, "event", e.ID, "detailType", e.DetailType,
				"orderId", EventOrderID(e), "correlationId", meta.CorrelationID, "duration", time.Since(start), "err", err)
			return err
		}
	}
}
