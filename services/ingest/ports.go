package ingest

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
)

// IdempotencyRecord remembers the response given to a request carrying an Idempotency-Key, so that a
// retry of the same request gets the same response and creates nothing.
type IdempotencyRecord struct {
	// Key is the client's Idempotency-Key, scoped by API key.
	Key string
	// RequestHash identifies the request body the key was first used with.
	RequestHash string
	// OrderID is the order the request created.
	OrderID string
	// Response is the response body that was returned.
	Response []byte
	// CreatedAt is when the key was first used.
	CreatedAt time.Time
}

// ErrIdempotencyKeyTaken is returned (wrapped, kind fault.Conflict) by Store.Create when another request
// already stored the same idempotency key.
var ErrIdempotencyKeyTaken = fault.New(fault.Conflict, "IDEMPOTENCY_KEY_TAKEN", "idempotency key already used")

// ErrReferenceTaken is returned (wrapped, kind fault.Conflict) by Store.Create when another order already
// has the new order's reference. Create then stores nothing, and ingest tries again with a fresh one.
var ErrReferenceTaken = fault.New(fault.Conflict, "REFERENCE_TAKEN", "order reference already used")

// Store is where ingest keeps orders and idempotency keys.
type Store interface {
	// Create stores a new PENDING order and, when rec is not nil, its idempotency record, atomically and
	// durably: once Create returns nil the order survives a crash. It returns ErrIdempotencyKeyTaken if
	// rec.Key is already stored, and ErrReferenceTaken if another order has o's reference (references
	// are unique across all orders); in both cases it stores nothing. An order whose id is stored already
	// is a fault.Conflict error whatever its reference: the id is checked first.
	Create(ctx context.Context, o *order.Order, rec *IdempotencyRecord) error
	// Idempotency returns the record of key, or a fault.NotFound error.
	Idempotency(ctx context.Context, key string) (IdempotencyRecord, error)
	// PendingBefore returns the ids of up to limit orders still PENDING that were created before t,
	// oldest first: the orders the reconciler re-queues.
	PendingBefore(ctx context.Context, t time.Time, limit int) ([]string, error)
	// PendingPage is PendingBefore a page at a time: the ids of up to limit orders still PENDING that
	// were created before t, oldest first (by creation time, then id), that come after the position of
	// cursor ("" starts at the oldest), and the opaque cursor of the next page ("" on the last page). The
	// cursor is the position of the last order returned, not the order itself, so an order that leaves
	// PENDING between two calls makes the next page neither skip nor repeat another. A limit below 1, or
	// a cursor that PendingPage did not return, is a fault.Invalid error.
	PendingPage(ctx context.Context, t time.Time, limit int, cursor string) ([]string, string, error)
}

// QueueingStore is a Store that can also put the new order on the ingest queue in the same atomic write
// (a transactional outbox). When the Store given to NewService implements it, Create makes one durable
// write instead of two and never leaves an order stored but unqueued; stores that cannot (DynamoDB with
// SQS) use Create and Queue.Send, and the reconciler covers the gap between them.
type QueueingStore interface {
	// CreateQueued is Store.Create plus Queue.Send of m, atomically. Errors are Create's.
	CreateQueued(ctx context.Context, o *order.Order, rec *IdempotencyRecord, m contracts.OrderMessage) error
}

// Queue is the ingest queue between the API and the dispatcher (SQS on AWS).
type Queue interface {
	// Send enqueues durably: once it returns nil the message will be delivered at least once.
	Send(ctx context.Context, m contracts.OrderMessage) error
}

// DelayedQueue is a Queue that can deliver a message after a delay (SQS's DelaySeconds). Where the store
// and the bus are two steps, Service.Cancel queues a follow-up with it before it writes the cancel, so
// that the dispatcher publishes the order's OrderCancelled even if the cancel's own publish never happens
// (a crash between the write and the publish).
type DelayedQueue interface {
	// SendAfter enqueues m durably, to be delivered no sooner than delay from now.
	SendAfter(ctx context.Context, m contracts.OrderMessage, delay time.Duration) error
}
