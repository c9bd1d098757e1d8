package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/memory"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
)

// memStore is the in-memory order store with two faults the tests inject into Create.
type memStore struct {
	*memory.Orders
	// createErr, when set, is returned by Create.
	createErr error
	// beforeCreate, when set, runs at the start of Create, to stage races.
	beforeCreate func()
}

var (
	_ ingest.Store  = (*memStore)(nil)
	_ ingest.Orders = (*memStore)(nil)
)

func newMemStore() *memStore { return &memStore{Orders: memory.NewOrders()} }

func (s *memStore) Create(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord) error {
	if s.beforeCreate != nil {
		s.beforeCreate()
	}
	if s.createErr != nil {
		return s.createErr
	}
	return s.Orders.Create(ctx, o, rec)
}

// get returns the stored order's snapshot, if there is one.
func (s *memStore) get(id string) (order.Snapshot, bool) {
	o, err := s.Get(context.Background(), id)
	if err != nil {
		return order.Snapshot{}, false
	}
	return o.Snapshot(), true
}

// published returns the events published about the order.
func (s *memStore) published(id string) []contracts.Event {
	events, _ := s.Events(context.Background(), id)
	return events
}

// memQueue is an in-memory Queue that can be told to fail.
type memQueue struct {
	mu   sync.Mutex
	sent []contracts.OrderMessage
	// fail, when set, decides per message whether Send fails.
	fail func(contracts.OrderMessage) bool
}

var _ ingest.Queue = (*memQueue)(nil)

var errQueueDown = errors.New("queue down")

func (q *memQueue) Send(ctx context.Context, m contracts.OrderMessage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil && q.fail(m) {
		return errQueueDown
	}
	q.sent = append(q.sent, m)
	return nil
}

func (q *memQueue) messages() []contracts.OrderMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]contracts.OrderMessage(nil), q.sent...)
}

// memBatchQueue is a memQueue that also sends in batches (ingest.BatchQueue), recording each batch.
type memBatchQueue struct {
	memQueue
	batches [][]string
	// failBatch, when set, decides per batch whether the whole call fails (sending nothing).
	failBatch func(msgs []contracts.OrderMessage) bool
}

var _ ingest.BatchQueue = (*memBatchQueue)(nil)

// SendBatch sends every message that q.fail does not refuse. When some are refused it returns an error
// naming them (as the SQS adapter's does).
func (q *memBatchQueue) SendBatch(ctx context.Context, msgs []contracts.OrderMessage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.OrderID
	}
	q.batches = append(q.batches, ids)
	if q.failBatch != nil && q.failBatch(msgs) {
		return errQueueDown
	}
	var refused []contracts.OrderMessage
	for _, m := range msgs {
		if q.fail != nil && q.fail(m) {
			refused = append(refused, m)
			continue
		}
		q.sent = append(q.sent, m)
	}
	if len(refused) > 0 {
		return fmt.Errorf("send batch: %w", &notSentError{msgs: refused})
	}
	return nil
}

func (q *memBatchQueue) batchIDs() [][]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.batches)
}

// notSentError names the messages of a batch that were not sent.
type notSentError struct{ msgs []contracts.OrderMessage }

func (e *notSentError) Error() string {
	return fmt.Sprintf("%d messages not sent: %v", len(e.msgs), errQueueDown)
}

func (e *notSentError) Unwrap() error { return errQueueDown }

func (e *notSentError) NotSent() []contracts.OrderMessage { return e.msgs }
