// Package ingest is the front door of the pipeline: it validates a new order, stores it PENDING with its
// idempotency key, and queues it for the dispatcher. It also cancels orders and runs the reconciler that
// re-queues PENDING orders that never reached the bus.
package ingest
