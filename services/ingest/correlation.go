package ingest

import "context"

type correlationKey struct{}

// WithCorrelationID returns a context carrying the correlation id of the request being served. The HTTP
// API puts it there; Create stamps it on the order (and so on every event about the order).
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the correlation id carried by ctx, or "" when there is none.
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}
