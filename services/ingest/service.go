package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/google/uuid"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// Orders is how Cancel changes an order: the Update of pipeline.Orders, which stores the changed order
// and the events about it in one atomic, version-checked write.
type Orders interface {
	// Update loads the order, calls fn, and stores the result with the events fn returned if fn returns
	// nil. An error from fn is returned as is and nothing is written; an unknown id is a fault.NotFound.
	Update(ctx context.Context, id string, fn func(o *order.Order) ([]contracts.Event, error)) (*order.Order, error)
}

// Config tunes a Service. The zero value is usable.
type Config struct {
	// Envelope stamps the events Cancel emits; zero means pipeline.LocalEnvelope.
	Envelope pipeline.Envelope
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID makes order ids; nil means a UUIDv7.
	NewID func() (string, error)
	// NewReference draws order references (see order.ParseReference); nil means order.NewReference.
	NewReference func() string
	// Logger receives warnings (an order stored but not queued); nil means slog.Default().
	Logger *slog.Logger
	// SendTimeout bounds the queue send after an order was stored; zero means 10 seconds.
	SendTimeout time.Duration
	// Publisher, when set, re-publishes the OrderCancelled event of an order cancelled again (see
	// Service.Cancel). Nil re-publishes nothing, for stores whose write is also the publish.
	Publisher pipeline.Publisher
	// CancelFollowUp, when positive and the queue is a DelayedQueue, is the delay of the follow-up that
	// Cancel queues before it writes a cancel (see Service.Cancel).
	CancelFollowUp time.Duration
}

// Service accepts new orders and cancels existing ones.
type Service struct {
	store  Store
	queue  Queue
	orders Orders
	cfg    Config
}

// NewService returns a Service that stores orders in store, queues them on queue and cancels them
// through orders.
func NewService(store Store, queue Queue, orders Orders, cfg Config) *Service {
	if cfg.Envelope == (pipeline.Envelope{}) {
		cfg.Envelope = pipeline.LocalEnvelope
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = newUUIDv7
	}
	if cfg.NewReference == nil {
		cfg.NewReference = order.NewReference
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 10 * time.Second
	}
	return &Service{store: store, queue: queue, orders: orders, cfg: cfg}
}

// maxReferenceAttempts bounds how many fresh references Create draws for one order. With 40 random bits
// two draws in a row colliding is already beyond belief; a store that keeps refusing is broken.
const maxReferenceAttempts = 5

func newUUIDv7() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("generate UUIDv7: %w", err)
	}
	return id.String(), nil
}

// Create validates req, stores the order PENDING and queues it for the pipeline, returning the order as
// the API shows it.
//
// With an idempotencyKey (scoped by scope, the caller's API key identity), a repeat of the same request
// returns the response of the first one with replayed=true and creates nothing; the same key with a
// different request is a fault.Conflict with code IDEMPOTENCY_KEY_REUSED. An invalid request is a
// fault.Invalid with code VALIDATION_FAILED and one field issue per problem. Once the order is stored,
// Create succeeds even if queueing fails: the Reconciler queues it later.
func (s *Service) Create(ctx context.Context, req contracts.CreateOrderRequest, scope, idempotencyKey string) (contracts.Order, bool, error) {
	o, replayed, err := s.create(ctx, req, scope, idempotencyKey)
	if errors.Is(err, errKeyExpiredMeanwhile) {
		// The key was taken when the store checked and free when it was read back: its record expired
		// in between. It is free now, so this is a first request after all.
		return s.create(ctx, req, scope, idempotencyKey)
	}
	return o, replayed, err
}

// errKeyExpiredMeanwhile: the store refused the idempotency key, and its record had expired by the time
// it was read back.
var errKeyExpiredMeanwhile = errors.New("idempotency key expired between the write and the read")

func (s *Service) create(ctx context.Context, req contracts.CreateOrderRequest, scope, idempotencyKey string) (contracts.Order, bool, error) {
	d, err := draft(req)
	if idempotencyKey != "" && !validIdempotencyKey(idempotencyKey) {
		err = withIssue(err, fault.FieldIssue{Field: "Idempotency-Key", Issue: fmt.Sprintf("must be 1 to %d printable ASCII characters", MaxIdempotencyKeyLength)})
	}
	if err != nil {
		return contracts.Order{}, false, fmt.Errorf("create order: %w", err)
	}
	// Only a request with a key is compared with another: the hash is for its record and its replays.
	var key, hash string
	if idempotencyKey != "" {
		hash = requestHash(d)
		key = scopedKey(scope, idempotencyKey)
		rec, err := s.store.Idempotency(ctx, key)
		switch {
		case err == nil:
			return replay(rec, hash)
		case !fault.Is(err, fault.NotFound):
			return contracts.Order{}, false, fmt.Errorf("create order: look up idempotency key: %w", err)
		}
	}

	if d.ID, err = s.cfg.NewID(); err != nil {
		return contracts.Order{}, false, fmt.Errorf("create order: %w", err)
	}
	d.CorrelationID = pipeline.CorrelationID(ctx)
	if d.CorrelationID == "" {
		d.CorrelationID = d.ID
	}
	now := s.cfg.Now()
	msg := contracts.OrderMessage{OrderID: d.ID, CorrelationID: d.CorrelationID}
	qs, queued := s.store.(QueueingStore)
	var o *order.Order
	var view contracts.Order
	var rec *IdempotencyRecord
	// The store is what knows whether a reference is taken; on a collision the order is made again with
	// a fresh reference (same id, same request), which changes the response the record keeps too.
	for attempt := 1; ; attempt++ {
		d.Reference = s.cfg.NewReference()
		if o, err = order.New(d, now); err != nil {
			return contracts.Order{}, false, fmt.Errorf("create order: %w", err)
		}
		view = o.View()
		if key != "" {
			body, err := json.Marshal(view)
			if err != nil {
				return contracts.Order{}, false, fmt.Errorf("create order %s: encode response: %w", o.ID(), err)
			}
			rec = &IdempotencyRecord{Key: key, RequestHash: hash, OrderID: o.ID(), Response: body, CreatedAt: o.CreatedAt()}
		}
		if queued {
			err = qs.CreateQueued(ctx, o, rec, msg)
		} else {
			err = s.store.Create(ctx, o, rec)
		}
		if !errors.Is(err, ErrReferenceTaken) {
			break
		}
		if attempt == maxReferenceAttempts {
			return contracts.Order{}, false, fault.Wrap(fault.Internal, err,
				fmt.Sprintf("create order %s: %d fresh references were all taken", o.ID(), attempt))
		}
		s.cfg.Logger.WarnContext(ctx, "order reference already taken; drawing another", "orderId", o.ID(), "reference", o.Reference())
	}
	if err != nil {
		if rec == nil || !errors.Is(err, ErrIdempotencyKeyTaken) {
			return contracts.Order{}, false, fmt.Errorf("create order %s: store: %w", o.ID(), err)
		}
		// A concurrent request with the same key won the race; answer as if it had come first.
		first, err := s.store.Idempotency(ctx, key)
		if fault.Is(err, fault.NotFound) {
			return contracts.Order{}, false, errKeyExpiredMeanwhile
		}
		if err != nil {
			return contracts.Order{}, false, fmt.Errorf("create order: re-read idempotency key after a concurrent use: %w", err)
		}
		return replay(first, hash)
	}

	if queued {
		return view, false, nil
	}
	// The order is durable now. The client's disconnect must not keep it off the queue, and a failed send
	// is not the client's problem: the reconciler queues PENDING orders that never left.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SendTimeout)
	defer cancel()
	if err := s.queue.Send(sendCtx, msg); err != nil {
		s.cfg.Logger.WarnContext(ctx, "order stored but not queued; the reconciler will queue it",
			"orderId", o.ID(), "correlationId", o.CorrelationID(), "error", err)
	}
	return view, false, nil
}

// errNoChange stops an Update without writing anything.
var errNoChange = errors.New("no change")

// Cancel cancels an order that has not reached FULFILLMENT and emits OrderCancelled in the same write.
// Cancelling a cancelled order returns it unchanged and, when Config.Publisher is set, publishes its
// OrderCancelled event again (the same event, deterministic id): on AWS the write and the publish are
// two steps, so a retry after a failure between them must still reach the consumers that release the
// stock and void the payment. An order that can no longer be cancelled is a fault.Conflict
// (order.ErrNotCancellable); an unknown id is a fault.NotFound.
//
// Where the store and the bus are two steps (a DelayedQueue and Config.CancelFollowUp), Cancel first
// queues a follow-up that the dispatcher delivers after the delay: if the order is cancelled by then, it
// publishes the OrderCancelled again, so that a crash between the cancel's write and its publish strands
// no stock and no payment. Consumers deduplicate by event id. A cancel that was stored but whose publish
// failed is then answered as done; without a follow-up it is an error, and its retry publishes.
func (s *Service) Cancel(ctx context.Context, orderID string) (contracts.Order, error) {
	followUp := false
	if dq, ok := s.queue.(DelayedQueue); ok && s.cfg.CancelFollowUp > 0 {
		// A cancel that will be refused queues nothing: check first, by an Update that never writes, that
		// the order exists and can be (or already is) cancelled. Both refusals are final: order ids are
		// never reused, and an order past FULFILLMENT never comes back.
		_, err := s.orders.Update(ctx, orderID, func(o *order.Order) ([]contracts.Event, error) {
			if err := o.Cancel(s.cfg.Now()); err != nil && !errors.Is(err, order.ErrAlreadyCancelled) {
				return nil, err
			}
			return nil, errNoChange
		})
		if !errors.Is(err, errNoChange) {
			return contracts.Order{}, fmt.Errorf("cancel order %s: %w", orderID, err)
		}
		m := contracts.OrderMessage{OrderID: orderID, CorrelationID: pipeline.CorrelationID(ctx), FollowUp: contracts.FollowUpCancel}
		if err := dq.SendAfter(ctx, m, s.cfg.CancelFollowUp); err != nil {
			return contracts.Order{}, fmt.Errorf("cancel order %s: queue its follow-up: %w", orderID, err)
		}
		followUp = true
	}
	var unchanged *order.Order
	o, err := s.orders.Update(ctx, orderID, func(o *order.Order) ([]contracts.Event, error) {
		unchanged = nil // Update may call fn again after a concurrent write
		now := s.cfg.Now()
		if err := o.Cancel(now); err != nil {
			if errors.Is(err, order.ErrAlreadyCancelled) {
				unchanged = o
				return nil, errNoChange
			}
			return nil, err
		}
		e, _, err := s.cfg.Envelope.Cancelled(o)
		if err != nil {
			return nil, err
		}
		return []contracts.Event{e}, nil
	})
	switch {
	case errors.Is(err, errNoChange) && unchanged != nil:
		if err := s.reemitCancelled(ctx, unchanged); err != nil {
			return contracts.Order{}, fmt.Errorf("cancel order %s: %w", orderID, err)
		}
		return unchanged.View(), nil
	case err != nil && followUp && errors.Is(err, pipeline.ErrNotPublished) && o != nil:
		s.cfg.Logger.WarnContext(ctx, "order cancelled, OrderCancelled not yet published; its follow-up will publish it",
			"orderId", orderID, "error", err)
	case err != nil:
		return contracts.Order{}, fmt.Errorf("cancel order %s: %w", orderID, err)
	}
	return o.View(), nil
}

// reemitCancelled publishes the OrderCancelled event of an order already cancelled, rebuilt from its
// history so that it is the event first emitted.
func (s *Service) reemitCancelled(ctx context.Context, o *order.Order) error {
	if s.cfg.Publisher == nil {
		return nil
	}
	e, ok, err := s.cfg.Envelope.Cancelled(o)
	if err != nil || !ok {
		return err
	}
	if err := s.cfg.Publisher.Publish(ctx, e); err != nil {
		return fmt.Errorf("re-emit OrderCancelled: %w", err)
	}
	return nil
}

// replay answers a request whose idempotency key is already stored.
func replay(rec IdempotencyRecord, hash string) (contracts.Order, bool, error) {
	if rec.RequestHash != hash {
		return contracts.Order{}, false, &fault.Error{
			Kind: fault.Conflict, Code: contracts.CodeIdempotencyKeyReused,
			Message: "the Idempotency-Key was already used with a different request",
		}
	}
	var v contracts.Order
	if err := jsonv1.Unmarshal(rec.Response, &v); err != nil {
		return contracts.Order{}, false, fmt.Errorf("replay order %s: decode stored response: %w", rec.OrderID, err)
	}
	return v, true, nil
}

// scopedKey makes a client's key unique per API key. The scope is escaped so that no (scope, key) pair
// can collide with another.
func scopedKey(scope, key string) string {
	return url.PathEscape(scope) + "/" + key
}

// requestHash identifies a request by its validated content with defaults applied, so that sending an
// optional field with its default value, or 5.5 as 5.50, is still the same request.
func requestHash(d order.Draft) string {
	b, _ := json.Marshal(struct {
		CustomerID, CustomerEmail, CustomerPhone, Currency, PaymentToken string
		Items                                                            []order.Item
		Total                                                            contracts.Amount
		ShippingAddress                                                  contracts.Address
	}{d.CustomerID, d.CustomerEmail, d.CustomerPhone, d.Currency, d.PaymentToken, d.Items, d.Total, d.ShippingAddress})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// withIssue adds an issue to a validation error, making one if err is nil.
func withIssue(err error, issue fault.FieldIssue) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		fe.Fields = append(fe.Fields, issue)
		return fe
	}
	return &fault.Error{Kind: fault.Invalid, Code: contracts.CodeValidationFailed, Message: "the order request is invalid", Fields: []fault.FieldIssue{issue}}
}
