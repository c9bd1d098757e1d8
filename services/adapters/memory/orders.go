// Package memory is an order store that lives in process memory: the orders, their idempotency
// records and the events published about them, gone when the process ends.
//
// It keeps the promises of the sqlite adapter (the same contract suites run against both), so that
// tests of the services above the store can use it instead of a fake of their own: conditional updates
// that retry on a concurrent write, events deduplicated by id, idempotency keys used once, opaque
// cursors. It is not durable and is meant for tests and demonstrations.
//
// An Orders implements ingest.Store, ingest.Orders, pipeline.Orders and pipeline.Publisher, and the
// order reads the API and the chatbot use (Get, List and Events).
package memory

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

var (
	_ ingest.Store       = (*Orders)(nil)
	_ ingest.Orders      = (*Orders)(nil)
	_ pipeline.Orders    = (*Orders)(nil)
	_ pipeline.Publisher = (*Orders)(nil)
)

// MaxListLimit is the largest page List returns, as in the sqlite adapter.
const MaxListLimit = 1000

// maxUpdateAttempts bounds how many times Update runs its function when other writers keep changing the
// order first.
const maxUpdateAttempts = 100

// Orders is an in-memory order store. It is safe for concurrent use; the zero value is not usable, call
// NewOrders.
type Orders struct {
	mu     sync.Mutex
	orders map[string]order.Snapshot
	keys   map[string]ingest.IdempotencyRecord
	// refs maps each order reference to the id of the order that has it.
	refs map[string]string
	// events holds every published event in publication order; published indexes them by id.
	events    []contracts.Event
	published map[string]bool
}

// NewOrders returns an empty store.
func NewOrders() *Orders {
	return &Orders{
		orders:    map[string]order.Snapshot{},
		keys:      map[string]ingest.IdempotencyRecord{},
		refs:      map[string]string{},
		published: map[string]bool{},
	}
}

// Create stores a new order (with version 1, whatever its status) and, when rec is not nil, its
// idempotency record, together. It returns an error wrapping ingest.ErrIdempotencyKeyTaken when rec.Key
// is already stored, one wrapping ingest.ErrReferenceTaken when another order has its reference, and a
// fault.Conflict error when the order id is; in each case nothing is stored.
func (s *Orders) Create(_ context.Context, o *order.Order, rec *ingest.IdempotencyRecord) error {
	snap := o.Snapshot()
	snap.Version = 1
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec != nil {
		if _, ok := s.keys[rec.Key]; ok {
			return fmt.Errorf("create order %s: idempotency key %q: %w", snap.ID, rec.Key, ingest.ErrIdempotencyKeyTaken)
		}
	}
	if _, ok := s.orders[snap.ID]; ok {
		return fmt.Errorf("create order %s: %w", snap.ID, fault.Conflictf("order already exists"))
	}
	if _, ok := s.refs[snap.Reference]; ok && snap.Reference != "" {
		return fmt.Errorf("create order %s: reference %s: %w", snap.ID, snap.Reference, ingest.ErrReferenceTaken)
	}
	if snap.Reference != "" {
		s.refs[snap.Reference] = snap.ID
	}
	if rec != nil {
		r := *rec
		r.Response = bytes.Clone(rec.Response)
		s.keys[rec.Key] = r
	}
	s.orders[snap.ID] = snap
	return nil
}

// Idempotency returns the record stored for key, or a fault.NotFound error.
func (s *Orders) Idempotency(_ context.Context, key string) (ingest.IdempotencyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.keys[key]
	if !ok {
		return ingest.IdempotencyRecord{}, fault.NotFoundf("idempotency key %q not found", key)
	}
	rec.Response = bytes.Clone(rec.Response)
	return rec, nil
}

// PendingBefore returns the ids of up to limit PENDING orders created before t, oldest first. A limit
// below 1 is a fault.Invalid error.
func (s *Orders) PendingBefore(_ context.Context, t time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, fault.Invalidf("pending orders: limit %d must be at least 1", limit)
	}
	pending := s.pending(t, pendingPos{})
	ids := []string{}
	for _, o := range pending[:min(limit, len(pending))] {
		ids = append(ids, o.ID)
	}
	return ids, nil
}

// PendingPage returns the ids of up to limit PENDING orders created before t, oldest first, after the
// position of cursor ("" for the first page), and the cursor of the next page ("" on the last). A limit
// below 1 or a cursor PendingPage did not return is a fault.Invalid error.
func (s *Orders) PendingPage(_ context.Context, t time.Time, limit int, cursor string) ([]string, string, error) {
	if limit < 1 {
		return nil, "", fault.Invalidf("pending orders: limit %d must be at least 1", limit)
	}
	var after pendingPos
	if cursor != "" {
		var err error
		if after, err = decodePendingCursor(cursor); err != nil {
			return nil, "", err
		}
	}
	pending := s.pending(t, after)
	page := pending[:min(limit, len(pending))]
	ids := make([]string, 0, len(page))
	for _, o := range page {
		ids = append(ids, o.ID)
	}
	next := ""
	if len(pending) > limit {
		last := page[len(page)-1]
		next = encodePendingCursor(pendingPos{createdAt: last.CreatedAt, id: last.ID})
	}
	return ids, next, nil
}

// pendingPos is the position of a PENDING order among the others: its creation time, then its id. The
// zero value is before every order.
type pendingPos struct {
	createdAt time.Time
	id        string
}

// compare orders positions as PendingBefore lists orders.
func (p pendingPos) compare(q pendingPos) int {
	if c := p.createdAt.Compare(q.createdAt); c != 0 {
		return c
	}
	return strings.Compare(p.id, q.id)
}

// pending returns the PENDING orders created before t that come after position after, oldest first.
func (s *Orders) pending(t time.Time, after pendingPos) []order.Snapshot {
	s.mu.Lock()
	var pending []order.Snapshot
	for _, o := range s.orders {
		at := pendingPos{createdAt: o.CreatedAt, id: o.ID}
		if o.Status == order.Pending && o.CreatedAt.Before(t) && (after.id == "" || at.compare(after) > 0) {
			pending = append(pending, o)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(pending, func(a, b order.Snapshot) int {
		return pendingPos{createdAt: a.CreatedAt, id: a.ID}.compare(pendingPos{createdAt: b.CreatedAt, id: b.ID})
	})
	return pending
}

// encodePendingCursor is the cursor of PendingPage: the position's time (RFC 3339 with nanoseconds) and
// id, base64-encoded.
func encodePendingCursor(p pendingPos) string {
	return base64.RawURLEncoding.EncodeToString([]byte(p.createdAt.UTC().Format(time.RFC3339Nano) + " " + p.id))
}

func decodePendingCursor(cursor string) (pendingPos, error) {
	invalid := fault.Invalidf("pending orders: cursor %q is not valid", cursor)
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return pendingPos{}, invalid
	}
	at, id, ok := strings.Cut(string(b), " ")
	if !ok || id == "" {
		return pendingPos{}, invalid
	}
	created, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return pendingPos{}, invalid
	}
	return pendingPos{createdAt: created, id: id}, nil
}

// Get returns the order, or a fault.NotFound error.
func (s *Orders) Get(_ context.Context, id string) (*order.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.orders[id]
	if !ok {
		return nil, fault.NotFoundf("order %s not found", id)
	}
	return thaw(snap), nil
}

// GetByReference returns the customer's order with the reference (in its canonical form, as
// order.ParseReference returns it), or a fault.NotFound error when there is none: an order of another
// customer is not found either.
func (s *Orders) GetByReference(_ context.Context, customerID, reference string) (*order.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.orders[s.refs[reference]]
	if !ok || reference == "" || snap.CustomerID != customerID {
		return nil, fault.NotFoundf("order %s not found", reference)
	}
	return thaw(snap), nil
}

// Update loads the order, calls fn without holding the store's lock, and stores the changed order with
// the events fn returned, on condition that nobody wrote the order since it was loaded. When somebody
// did, fn runs again on the fresh order, up to a bound after which Update returns a fault.Unavailable
// error (transient: the caller may retry). It returns fn's error unchanged (and writes nothing) if fn fails, and a fault.NotFound error for
// an unknown id. Events are published as by Publish.
func (s *Orders) Update(ctx context.Context, id string, fn func(o *order.Order) ([]contracts.Event, error)) (*order.Order, error) {
	s.mu.Lock()
	snap, ok := s.orders[id]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("update order: %w", fault.NotFoundf("order %s not found", id))
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("update order %s: %w", id, err)
		}
		o := thaw(snap)
		events, err := fn(o)
		if err != nil {
			return nil, err
		}
		if err := checkIDs(events); err != nil {
			return nil, fmt.Errorf("update order %s: %w", id, err)
		}
		next := o.Snapshot()
		next.Version = snap.Version + 1
		fresh, written := s.write(next, snap.Version, events)
		if written {
			return thaw(next), nil
		}
		if attempt >= maxUpdateAttempts {
			return nil, fault.Wrap(fault.Unavailable, errStale, fmt.Sprintf("update order %s: gave up after %d concurrent writes", id, attempt))
		}
		snap = fresh
	}
}

// errStale is an Update's write finding that the order's version moved on since it was read.
var errStale = errors.New("order changed since it was read")

// write stores next and publishes events if the stored order is still at version; otherwise it returns
// the stored order, for the retry.
func (s *Orders) write(next order.Snapshot, version int64, events []contracts.Event) (order.Snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.orders[next.ID]; cur.Version != version {
		return cur, false
	}
	s.orders[next.ID] = next
	s.publish(events)
	return order.Snapshot{}, true
}

// Publish stores the events, oldest first, leaving out those whose id was already published. An event
// without an id is an error, and then none of the events is stored.
func (s *Orders) Publish(_ context.Context, events ...contracts.Event) error {
	if err := checkIDs(events); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publish(events)
	return nil
}

// publish appends the events not yet published. The caller holds s.mu.
func (s *Orders) publish(events []contracts.Event) {
	for _, e := range events {
		if s.published[e.ID] {
			continue
		}
		s.published[e.ID] = true
		s.events = append(s.events, cloneEvent(e))
	}
}

func checkIDs(events []contracts.Event) error {
	for _, e := range events {
		if e.ID == "" {
			return fmt.Errorf("%s event has no id", e.DetailType)
		}
	}
	return nil
}

// List returns up to limit orders of the customer, newest first (by id: ids are UUIDv7), and the cursor
// of the next page, "" on the last page. Pass "" as cursor for the first page. A limit outside 1 to
// MaxListLimit or a cursor that List did not return is a fault.Invalid error.
func (s *Orders) List(_ context.Context, customerID string, limit int, cursor string) ([]*order.Order, string, error) {
	if limit < 1 || limit > MaxListLimit {
		return nil, "", fault.Invalidf("list orders: limit %d must be from 1 to %d", limit, MaxListLimit)
	}
	var after string
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) == 0 {
			return nil, "", fault.Invalidf("list orders: cursor %q is not valid", cursor)
		}
		after = string(b)
	}
	s.mu.Lock()
	var mine []order.Snapshot
	for _, o := range s.orders {
		if o.CustomerID == customerID && (after == "" || o.ID < after) {
			mine = append(mine, o)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(mine, func(a, b order.Snapshot) int { return strings.Compare(b.ID, a.ID) })
	page := make([]*order.Order, 0, min(limit, len(mine)))
	for _, o := range mine[:min(limit, len(mine))] {
		page = append(page, thaw(o))
	}
	next := ""
	if len(mine) > limit {
		next = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].ID()))
	}
	return page, next, nil
}

// Events returns every event published about the order, oldest first. It returns a fault.NotFound
// error when there is neither such an order nor any event about it.
func (s *Orders) Events(_ context.Context, orderID string) ([]contracts.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	events := []contracts.Event{}
	for _, e := range s.events {
		if pipeline.EventOrderID(e) == orderID {
			events = append(events, cloneEvent(e))
		}
	}
	if _, ok := s.orders[orderID]; !ok && len(events) == 0 {
		return nil, fault.NotFoundf("order %s not found", orderID)
	}
	return events, nil
}

// Len returns how many orders are stored.
func (s *Orders) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.orders)
}

// thaw returns an order that owns its state: order.FromSnapshot keeps the snapshot's slices, and a
// caller changing the order must not change what is stored.
func thaw(s order.Snapshot) *order.Order {
	return order.FromSnapshot(order.FromSnapshot(s).Snapshot())
}

func cloneEvent(e contracts.Event) contracts.Event {
	e.Resources = slices.Clone(e.Resources)
	e.Detail = bytes.Clone(e.Detail)
	return e
}
