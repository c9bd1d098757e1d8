package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	gojson "github.com/goccy/go-json"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/routing"
)

var (
	_ ingest.Store         = (*DB)(nil)
	_ ingest.Queue         = (*DB)(nil)
	_ ingest.QueueingStore = (*DB)(nil)
	_ pipeline.Orders      = (*DB)(nil)
	_ pipeline.Publisher   = (*DB)(nil)
)

// maxUpdateAttempts bounds how many times Update runs its function when other writers keep changing the
// order first. Each lost race costs one group commit, so even dozens of writers racing on one order
// settle well within it.
const maxUpdateAttempts = 100

// MaxListLimit is the largest page List returns.
const MaxListLimit = 1000

// MaxSearchLimit is the largest page Search returns, as order.Search says.
const MaxSearchLimit = 100

// errStale is an Update's write finding that the order's version moved on since it was read.
var errStale = errors.New("order changed since it was read")

// Create stores a new order (with version 1) and, when rec is not nil, its idempotency record, in one
// durable transaction. It returns an error wrapping ingest.ErrIdempotencyKeyTaken when rec.Key is already
// stored, one wrapping ingest.ErrReferenceTaken when another order has its reference (the unique index
// orders_by_reference), and a fault.Conflict error when the order id is (checked first, as the port
// says); in each case nothing is stored.
func (db *DB) Create(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord) error {
	return db.create(ctx, o, rec, nil)
}

// CreateQueued is Create and Send in one atomic write: the order, its idempotency record and its
// message on the ingest queue are durable together, or not at all (ingest.QueueingStore).
func (db *DB) CreateQueued(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord, m contracts.OrderMessage) error {
	body, err := gojson.Marshal(m)
	if err != nil {
		return fmt.Errorf("create order %s: encode queue message: %w", o.ID(), err)
	}
	return db.create(ctx, o, rec, body)
}

// create stores the order and, when queued is not nil, the ingest-queue message with that body.
func (db *DB) create(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord, queued []byte) error {
	s := o.Snapshot()
	s.Version = 1
	snap, release, err := encodeSnapshot(s)
	if err != nil {
		return fmt.Errorf("create order %s: encode: %w", s.ID, err)
	}
	defer release()
	var recAt int64
	if rec != nil {
		recAt = rec.CreatedAt.UnixNano()
	}
	err = db.write(ctx, func(w *writer) error {
		if rec != nil {
			now := w.now.UnixNano()
			n, err := w.changes(w.st.insertIdempotency, rec.Key, rec.RequestHash, rec.OrderID, rec.Response, recAt, db.idempotencyExpiry(w.now), now)
			if err != nil {
				return fmt.Errorf("insert idempotency key: %w", err)
			}
			if n == 0 {
				return fmt.Errorf("idempotency key %q: %w", rec.Key, ingest.ErrIdempotencyKeyTaken)
			}
		}
		var ref sql.NullString
		if s.Reference != "" {
			ref = sql.NullString{String: s.Reference, Valid: true}
		}
		// The insert does nothing when the id is stored (the upsert's target is checked first) and fails
		// on the unique index when another order holds the reference: only then is the holder looked up.
		n, err := w.changes(w.st.insertOrder, s.ID, s.CustomerID, string(s.Status), s.CreatedAt.UnixNano(), s.Version, text(snap), ref)
		if err != nil {
			if ref.Valid && isUniqueViolation(err) {
				var holder string
				switch herr := w.queryRow(w.st.referenceHolder, s.Reference).Scan(&holder); {
				case herr == nil && holder != s.ID:
					return fmt.Errorf("reference %s: %w", s.Reference, ingest.ErrReferenceTaken)
				case herr != nil && !errors.Is(herr, sql.ErrNoRows):
					return fmt.Errorf("look up reference %s: %w", s.Reference, herr)
				}
			}
			return fmt.Errorf("insert order: %w", err)
		}
		if n == 0 {
			return fault.Conflictf("order already exists")
		}
		w.afterCommit(func() { db.snaps.put(s) })
		if queued != nil {
			return w.enqueue(routing.Dispatcher, queued)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create order %s: %w", s.ID, err)
	}
	return nil
}

// Idempotency returns the record stored for key, or a fault.NotFound error, also once it expired
// (Options.IdempotencyRetention).
func (db *DB) Idempotency(ctx context.Context, key string) (_ ingest.IdempotencyRecord, err error) {
	defer db.durableRead(ctx, &err)
	rec := ingest.IdempotencyRecord{Key: key}
	var at int64
	err = db.rs.getIdempotency.QueryRowContext(ctx, key, db.now().UnixNano()).Scan(&rec.RequestHash, &rec.OrderID, &rec.Response, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return ingest.IdempotencyRecord{}, fault.NotFoundf("idempotency key %q not found", key)
	}
	if err != nil {
		return ingest.IdempotencyRecord{}, fmt.Errorf("read idempotency key %q: %w", key, err)
	}
	rec.CreatedAt = time.Unix(0, at).UTC()
	return rec, nil
}

// PendingBefore returns the ids of up to limit PENDING orders created before t, oldest first. A limit
// below 1 is a fault.Invalid error.
func (db *DB) PendingBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, fault.Invalidf("pending orders: limit %d must be at least 1", limit)
	}
	rows, err := db.rs.pendingBefore.QueryContext(ctx, t.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("list pending orders: %w", err)
	}
	page, err := readPending(rows)
	if err != nil {
		return nil, fmt.Errorf("list pending orders: %w", err)
	}
	ids := make([]string, len(page))
	for i, p := range page {
		ids[i] = p.id
	}
	return ids, nil
}

// PendingPage returns the ids of up to limit PENDING orders created before t, oldest first (by creation
// time, then id), after the position of cursor ("" for the first page), and the cursor of the next page
// ("" on the last). It reads the partial index orders_pending. A limit below 1 or a cursor PendingPage
// did not return is a fault.Invalid error.
func (db *DB) PendingPage(ctx context.Context, t time.Time, limit int, cursor string) ([]string, string, error) {
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
	// One more than the page, so that a last page that is exactly full says so.
	var rows *sql.Rows
	var err error
	if cursor == "" {
		rows, err = db.rs.pendingBefore.QueryContext(ctx, t.UnixNano(), limit+1)
	} else {
		rows, err = db.rs.pendingAfter.QueryContext(ctx, t.UnixNano(), after.createdAt, after.id, limit+1)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list pending orders: %w", err)
	}
	page, err := readPending(rows)
	if err != nil {
		return nil, "", fmt.Errorf("list pending orders: %w", err)
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		next = encodePendingCursor(page[limit-1])
	}
	ids := make([]string, len(page))
	for i, p := range page {
		ids[i] = p.id
	}
	return ids, next, nil
}

// pendingPos is the position of a PENDING order in orders_pending: created_at (Unix nanoseconds), then id.
type pendingPos struct {
	createdAt int64
	id        string
}

// readPending reads rows of (created_at, id) and closes them.
func readPending(rows *sql.Rows) ([]pendingPos, error) {
	defer rows.Close()
	page := []pendingPos{}
	for rows.Next() {
		var p pendingPos
		if err := rows.Scan(&p.createdAt, &p.id); err != nil {
			return nil, err
		}
		page = append(page, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return page, nil
}

// encodePendingCursor is PendingPage's cursor: "<created_at>:<id>", base64-encoded.
func encodePendingCursor(p pendingPos) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.createdAt, 10) + ":" + p.id))
}

func decodePendingCursor(cursor string) (pendingPos, error) {
	invalid := fault.Invalidf("pending orders: cursor %q is not valid", cursor)
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return pendingPos{}, invalid
	}
	at, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return pendingPos{}, invalid
	}
	created, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return pendingPos{}, invalid
	}
	return pendingPos{createdAt: created, id: id}, nil
}

// Get returns the order, or a fault.NotFound error.
func (db *DB) Get(ctx context.Context, id string) (_ *order.Order, err error) {
	defer db.durableRead(ctx, &err)
	// A cached snapshot is the stored version, for anyone who heard of its write: only the writer puts
	// snapshots in the cache, right after their commit and before the commit's caller, OnLog or a read
	// of the log (Log stops at DB.finished) can tell anyone of it; and only this process writes orders.
	// A read that misses reads the table and does not fill the cache: a version read there could be
	// put after a newer one was evicted, and would then be stale.
	if s, ok := db.snaps.latest(id); ok {
		return order.FromSnapshot(s), nil
	}
	version, snap, err := db.loadOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	o, err := decodeOrder(version, snap)
	if err != nil {
		return nil, fmt.Errorf("get order %s: %w", id, err)
	}
	return o, nil
}

func (db *DB) loadOrder(ctx context.Context, id string) (int64, []byte, error) {
	var version int64
	var snap []byte
	err := db.rs.getOrder.QueryRowContext(ctx, id).Scan(&version, &snap)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, fault.NotFoundf("order %s not found", id)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read order %s: %w", id, err)
	}
	return version, snap, nil
}

// encodeSnapshot encodes s as gojson.Marshal does, into a pooled buffer (pipeline.EncodePooled): an
// order is encoded at its creation and at every status change (about 1 KiB each), and the bytes are
// garbage once its row is written. The caller calls release once the bytes are written (the statement
// has copied them), and must not use them after.
func encodeSnapshot(s order.Snapshot) (_ []byte, release func(), err error) {
	return pipeline.EncodePooled(s)
}

// decodeOrder rebuilds an order from its row. The version column, not the copy inside the JSON, is
// the truth that conditional updates check.
func decodeOrder(version int64, snap []byte) (*order.Order, error) {
	var s order.Snapshot
	if err := jsonv1.Unmarshal(snap, &s); err != nil {
		return nil, fmt.Errorf("decode stored order: %w", err)
	}
	s.Version = version
	return order.FromSnapshot(s), nil
}

// Update loads the order, calls fn outside the writer and stores the changed order with the events fn
// returned in one durable transaction, on condition that nobody wrote the order since it was loaded.
// When somebody did, fn runs again on the fresh order, up to a bound after which Update returns a
// fault.Unavailable error (transient: the caller may retry). It returns fn's error unchanged (and writes nothing) if fn fails, and a
// fault.NotFound error for an unknown id. Events are published as by Publish.
func (db *DB) Update(ctx context.Context, id string, fn func(o *order.Order) ([]contracts.Event, error)) (*order.Order, error) {
	// Usually the caller has just read the order, so the cache has it. If it is stale, the conditional
	// write fails and the loop goes on from the stored order, as after a lost race.
	var version int64
	var snap []byte
	cached, ok := db.snaps.latest(id)
	if ok {
		version = cached.Version
	} else {
		var err error
		if version, snap, err = db.loadOrder(ctx, id); err != nil {
			return nil, fmt.Errorf("update order: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("update order %s: %w", id, err)
		}
		var o *order.Order
		if snap == nil {
			o = order.FromSnapshot(cached)
		} else {
			var err error
			if o, err = decodeOrder(version, snap); err != nil {
				return nil, fmt.Errorf("update order %s: %w", id, err)
			}
		}
		events, err := fn(o)
		if err != nil {
			return nil, err
		}
		s := o.Snapshot()
		s.Version = version + 1
		body, release, err := encodeSnapshot(s)
		if err != nil {
			return nil, fmt.Errorf("update order %s: encode: %w", id, err)
		}
		encoded, err := db.encodeEvents(events)
		if err != nil {
			release()
			return nil, fmt.Errorf("update order %s: %w", id, err)
		}
		var freshVersion int64
		var fresh []byte
		err = db.write(ctx, func(w *writer) error {
			n, err := w.changes(w.st.updateOrder, string(s.Status), s.Version, text(body), id, version)
			if err != nil {
				return fmt.Errorf("write order: %w", err)
			}
			if n == 0 {
				// Read what the other writer stored, so that the retry does not need another read.
				err := w.queryRow(w.st.getOrder, id).Scan(&freshVersion, &fresh)
				if errors.Is(err, sql.ErrNoRows) {
					return fault.NotFoundf("order %s not found", id)
				}
				if err != nil {
					return fmt.Errorf("reread order: %w", err)
				}
				return errStale
			}
			for i := range encoded {
				if err := w.publish(&encoded[i]); err != nil {
					return err
				}
			}
			w.afterCommit(func() { db.snaps.put(s) })
			return nil
		})
		release()
		switch {
		case err == nil:
			return order.FromSnapshot(s), nil
		case !errors.Is(err, errStale):
			return nil, fmt.Errorf("update order %s: %w", id, err)
		case attempt >= maxUpdateAttempts:
			// Transient by nature: the delivery is retried later rather than dead-lettered.
			return nil, fault.Wrap(fault.Unavailable, err, fmt.Sprintf("update order %s: gave up after %d concurrent writes", id, attempt))
		}
		version, snap = freshVersion, fresh
	}
}

// GetByReference returns the customer's order with the reference (in its canonical form, as
// order.ParseReference returns it), or a fault.NotFound error when there is none: an order of another
// customer is not found either.
func (db *DB) GetByReference(ctx context.Context, customerID, reference string) (_ *order.Order, err error) {
	defer db.durableRead(ctx, &err)
	var version int64
	var snap []byte
	err = db.rs.byReference.QueryRowContext(ctx, reference, customerID).Scan(&version, &snap)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.NotFoundf("order %s not found", reference)
	}
	if err != nil {
		return nil, fmt.Errorf("read order %s: %w", reference, err)
	}
	o, err := decodeOrder(version, snap)
	if err != nil {
		return nil, fmt.Errorf("get order %s: %w", reference, err)
	}
	return o, nil
}

// List returns up to limit orders of the customer, newest first, and the cursor of the next page, ""
// on the last page. Pass "" as cursor for the first page. A limit outside 1 to MaxListLimit or a cursor
// that List did not return is a fault.Invalid error.
func (db *DB) List(ctx context.Context, customerID string, limit int, cursor string) (_ []*order.Order, _ string, err error) {
	defer db.durableRead(ctx, &err)
	after, err := checkPage(limit, MaxListLimit, cursor)
	if err != nil {
		return nil, "", fmt.Errorf("list orders: %w", err)
	}
	var rows *sql.Rows
	if after == "" {
		rows, err = db.rs.listFirst.QueryContext(ctx, customerID, limit+1)
	} else {
		rows, err = db.rs.listAfter.QueryContext(ctx, customerID, after, limit+1)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list orders of customer %s: %w", customerID, err)
	}
	orders, next, err := readPage(rows, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list orders of customer %s: %w", customerID, err)
	}
	return orders, next, nil
}

// Search returns a page of the orders q selects, of any customer, newest first, and the cursor of the
// next page ("" on the last). A limit outside 1 to MaxSearchLimit or a cursor Search did not return is a
// fault.Invalid error. A reference finds that one order (if it also has q's status and customer).
// Status and customer combine; a customer's orders are read by the customer index, but there is no index
// on status (it would move an entry on every status change of every order), so a search by status alone
// reads the orders newest first until it has a page, which takes longer the rarer the status.
func (db *DB) Search(ctx context.Context, q order.Search) (_ []*order.Order, _ string, err error) {
	defer db.durableRead(ctx, &err)
	after, err := checkPage(q.Limit, MaxSearchLimit, q.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("search orders: %w", err)
	}
	var where []string
	var args []any
	for _, c := range []struct {
		cond string
		arg  string
	}{{"reference = ?", q.Reference}, {"status = ?", string(q.Status)}, {"customer_id = ?", q.CustomerID}, {"id < ?", after}} {
		if c.arg != "" {
			where, args = append(where, c.cond), append(args, c.arg)
		}
	}
	query := `SELECT version, snapshot FROM orders`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := db.read.QueryContext(ctx, query+` ORDER BY id DESC LIMIT ?`, append(args, q.Limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("search orders: %w", err)
	}
	orders, next, err := readPage(rows, q.Limit)
	if err != nil {
		return nil, "", fmt.Errorf("search orders: %w", err)
	}
	return orders, next, nil
}

// checkPage checks a page size (1 to most) and decodes a cursor of readPage into the id the page starts
// after ("" for the first page).
func checkPage(limit, most int, cursor string) (after string, err error) {
	if limit < 1 || limit > most {
		return "", fault.Invalidf("limit %d must be from 1 to %d", limit, most)
	}
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) == 0 {
		return "", fault.Invalidf("cursor %q is not valid", cursor)
	}
	return string(b), nil
}

// readPage reads up to limit orders from rows of (version, snapshot) that hold at most limit+1, newest
// first, and returns the cursor of the next page when there is a row beyond them. It closes rows.
func readPage(rows *sql.Rows, limit int) ([]*order.Order, string, error) {
	defer rows.Close()
	orders := make([]*order.Order, 0, limit)
	more := false
	for rows.Next() {
		if len(orders) == limit {
			more = true
			break
		}
		var version int64
		var snap []byte
		if err := rows.Scan(&version, &snap); err != nil {
			return nil, "", err
		}
		o, err := decodeOrder(version, snap)
		if err != nil {
			return nil, "", err
		}
		orders = append(orders, o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if more {
		next = base64.RawURLEncoding.EncodeToString([]byte(orders[len(orders)-1].ID()))
	}
	return orders, next, nil
}

// CountByStatus returns how many orders there are in each status, every status present (zero when none).
// It reads every order, so it is for a start-up or an occasional count, not for each request.
func (db *DB) CountByStatus(ctx context.Context) (map[order.Status]int64, error) {
	counts := make(map[order.Status]int64, len(order.Statuses))
	for _, s := range order.Statuses {
		counts[s] = 0
	}
	rows, err := db.read.QueryContext(ctx, `SELECT status, count(*) FROM orders GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count orders by status: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count orders by status: %w", err)
		}
		counts[order.Status(s)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count orders by status: %w", err)
	}
	return counts, nil
}

// Events returns every event published about the order, oldest first. It returns a fault.NotFound
// error when there is neither such an order nor any event about it.
func (db *DB) Events(ctx context.Context, orderID string) (_ []contracts.Event, err error) {
	defer db.durableRead(ctx, &err)
	rows, err := db.rs.events.QueryContext(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("list events of order %s: %w", orderID, err)
	}
	defer rows.Close()
	events := []contracts.Event{}
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("list events of order %s: %w", orderID, err)
		}
		var e contracts.Event
		if err := jsonv1.Unmarshal(body, &e); err != nil {
			return nil, fmt.Errorf("list events of order %s: decode stored event: %w", orderID, err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events of order %s: %w", orderID, err)
	}
	if len(events) == 0 {
		var exists bool
		if err := db.rs.orderExists.QueryRowContext(ctx, orderID).Scan(&exists); err != nil {
			return nil, fmt.Errorf("list events of order %s: %w", orderID, err)
		}
		if !exists {
			return nil, fault.NotFoundf("order %s not found", orderID)
		}
	}
	return events, nil
}
