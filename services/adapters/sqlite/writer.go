package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
	"unsafe"

	gojson "github.com/goccy/go-json"
	"github.com/mattn/go-sqlite3"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/pipeline"
)

// text is an encoded document as a statement's TEXT argument, without a copy. The driver copies an
// argument's bytes before the statement returns (go-sqlite3 binds text with SQLITE_TRANSIENT or through
// a buffer of its own; TestTextArgumentsAreCopiedByTheDriver holds it to that), and nobody changes a
// document once it is encoded. A stored order or event is copied once less, in the writer: the one
// goroutine every write waits for.
func text(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// writer is the state of the writer goroutine: the write connection's prepared statements and the
// transaction in progress. Only the writer goroutine touches it.
type writer struct {
	db   *DB
	conn *sqlite3.SQLiteConn // the write connection's driver connection, while the writer holds it
	st   writeStmts
	now  time.Time // the clock, read once per batch
	cur  *op       // the op running now
}

// writeStmts are prepared once on the write connection.
type writeStmts struct {
	begin, commit, rollback, savepoint, release, rollbackTo *stmt

	insertIdempotency, insertOrder, updateOrder, getOrder             *stmt
	referenceHolder                                                   *stmt
	insertEvent, insertMessage, deferMessage                          *stmt
	deleteMessage, deleteMessages, retryMessage                       *stmt
	insertDeadLetter, getDeadLetter, allDeadLetters, deleteDeadLetter *stmt
	upsertProduct, readProduct, takeStock, giveStock                  *stmt
	getReservation, insertReservation, releaseReservation             *stmt
	getPayment, upsertPayment, markSeen                               *stmt
	insertText                                                        *stmt
	advanceCursors, forgetCursors, startCursors, readCursors          *stmt
	logEnd, skipTo                                                    *stmt
}

func (s *writeStmts) list() []wstmtSpec {
	return []wstmtSpec{
		{&s.begin, `BEGIN IMMEDIATE`},
		{&s.commit, `COMMIT`},
		{&s.rollback, `ROLLBACK`},
		{&s.savepoint, `SAVEPOINT op`},
		{&s.release, `RELEASE op`},
		{&s.rollbackTo, `ROLLBACK TO op`},

		// A key whose record expired (at or before ?7, now) is free again: its record is replaced.
		{&s.insertIdempotency, `INSERT INTO idempotency (key, request_hash, order_id, response, created_at, expires_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash,
			order_id = excluded.order_id, response = excluded.response, created_at = excluded.created_at,
			expires_at = excluded.expires_at WHERE idempotency.expires_at <= ?7`},
		{&s.insertOrder, `INSERT INTO orders (id, customer_id, status, created_at, version, snapshot, reference)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`},
		{&s.referenceHolder, `SELECT id FROM orders WHERE reference = ?`},
		{&s.updateOrder, `UPDATE orders SET status = ?, version = ?, snapshot = ? WHERE id = ? AND version = ?`},
		{&s.getOrder, `SELECT version, snapshot FROM orders WHERE id = ?`},

		{&s.insertEvent, `INSERT INTO events (id, order_id, detail_type, body) VALUES (?, ?, ?, ?)
			ON CONFLICT (order_id, id) DO NOTHING`},
		{&s.insertMessage, `INSERT INTO messages (target, body, attempts, next_at, last_error, created_at)
			VALUES (?, ?, 0, ?, '', ?)`},
		{&s.deferMessage, `INSERT INTO messages (target, body, event_seq, attempts, next_at, last_error, created_at)
			VALUES (?, '', ?, ?, ?, ?, ?)`},
		{&s.deleteMessage, `DELETE FROM messages WHERE id = ?`},
		{&s.deleteMessages, `DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))`},
		{&s.retryMessage, `UPDATE messages SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?`},

		{&s.insertDeadLetter, `INSERT INTO dead_letters (target, body, attempts, error, failed_at)
			VALUES (?, ?, ?, ?, ?)`},
		{&s.getDeadLetter, `SELECT target, body FROM dead_letters WHERE id = ?`},
		{&s.allDeadLetters, `SELECT id, target, body FROM dead_letters ORDER BY id`},
		{&s.deleteDeadLetter, `DELETE FROM dead_letters WHERE id = ?`},

		{&s.readProduct, `SELECT name, price, available FROM products WHERE id = ?`},
		{&s.upsertProduct, `INSERT INTO products (id, name, price, available) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, price = excluded.price, available = excluded.available`},
		{&s.takeStock, `UPDATE products SET available = available - ?1 WHERE id = ?2 AND available >= ?1`},
		{&s.giveStock, `UPDATE products SET available = available + ? WHERE id = ?`},
		{&s.getReservation, `SELECT state, lines FROM reservations WHERE order_id = ?`},
		{&s.insertReservation, `INSERT INTO reservations (order_id, state, lines) VALUES (?, ?, ?)`},
		{&s.releaseReservation, `UPDATE reservations SET state = 'RELEASED' WHERE order_id = ?`},

		{&s.getPayment, `SELECT state, authorization_id, amount, currency, attempts, decline_code
			FROM payments WHERE order_id = ?`},
		{&s.upsertPayment, `INSERT INTO payments (order_id, state, authorization_id, amount, currency, attempts, decline_code)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (order_id) DO UPDATE SET state = excluded.state, authorization_id = excluded.authorization_id,
			amount = excluded.amount, currency = excluded.currency, attempts = excluded.attempts,
			decline_code = excluded.decline_code`},
		// An expired record (processed at or before ?4) is renewed.
		{&s.markSeen, `INSERT INTO processed (consumer, event_id, processed_at) VALUES (?1, ?2, ?3)
			ON CONFLICT (consumer, event_id) DO UPDATE SET processed_at = excluded.processed_at
			WHERE processed.processed_at <= ?4`},
		{&s.insertText, `INSERT OR IGNORE INTO texts (id, order_id, recipient, body, sent_at) VALUES (?, ?, ?, ?, ?)`},

		// WHERE true: an upsert on INSERT ... SELECT needs it to parse.
		{&s.advanceCursors, `INSERT INTO cursors (target, seq) SELECT key, value FROM json_each(?) WHERE true
			ON CONFLICT (target) DO UPDATE SET seq = max(seq, excluded.seq)`},
		{&s.forgetCursors, `DELETE FROM cursors WHERE target NOT IN (SELECT value FROM json_each(?))`},
		{&s.startCursors, `INSERT INTO cursors (target, seq) SELECT value, ? FROM json_each(?) WHERE true
			ON CONFLICT (target) DO NOTHING`},
		{&s.readCursors, `SELECT target, seq FROM cursors`},
		{&s.logEnd, `SELECT coalesce(max(seq), 0) FROM events`},
		// Moves the cursors that were at (or past) the given end of the log to its end now.
		{&s.skipTo, `UPDATE cursors SET seq = (SELECT coalesce(max(seq), 0) FROM events) WHERE seq >= ?`},
	}
}

type wstmtSpec struct {
	dst   **stmt
	query string
}

type stmtSpec struct {
	dst   **sql.Stmt
	query string
}

type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func prepareAll(p preparer, specs []stmtSpec) error {
	for _, s := range specs {
		st, err := p.PrepareContext(context.Background(), s.query)
		if err != nil {
			closeAll(specs)
			return fmt.Errorf("prepare %q: %w", s.query, err)
		}
		*s.dst = st
	}
	return nil
}

func closeAll(specs []stmtSpec) error {
	var errs []error
	for _, s := range specs {
		if *s.dst != nil {
			errs = append(errs, (*s.dst).Close())
			*s.dst = nil
		}
	}
	return errors.Join(errs...)
}

// newWriter prepares the writer's statements on c, the write connection.
func newWriter(c *sql.Conn) (*writer, error) {
	w := &writer{}
	err := w.hold(c, func() error {
		for _, sp := range w.st.list() {
			st, err := prepareStmt(w.conn, sp.query)
			if err != nil {
				w.closeStmts()
				return fmt.Errorf("prepare %q: %w", sp.query, err)
			}
			*sp.dst = st
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// hold runs f with the write connection's driver connection in w.conn, for the writer's statements.
// Nothing in f may use c through database/sql: it is held. It returns c's error when c is closed, and
// then f has not run.
func (w *writer) hold(c *sql.Conn, f func() error) error {
	var ferr error
	err := c.Raw(func(dc any) error {
		conn, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("the write connection is a %T, not sqlite3's", dc)
		}
		w.conn = conn
		defer func() { w.conn = nil }()
		ferr = f()
		return nil
	})
	return errors.Join(err, ferr)
}

func (w *writer) closeStmts() error {
	var errs []error
	for _, sp := range w.st.list() {
		if *sp.dst != nil {
			errs = append(errs, (*sp.dst).close())
			*sp.dst = nil
		}
	}
	return errors.Join(errs...)
}

// close closes the writer's statements, on c.
func (w *writer) close(c *sql.Conn) error {
	var err error
	if herr := w.hold(c, func() error { err = w.closeStmts(); return nil }); herr != nil {
		return herr
	}
	return err
}

// prepare prepares a statement for the op running now (see stmt); the caller closes it.
func (w *writer) prepare(query string) (*stmt, error) { return prepareStmt(w.conn, query) }

// execQuery runs a statement that is not one of the writer's own, for the op running now: the write
// connection is the writer's, so an op must not use it through database/sql. query is one statement
// (what follows the first is not run).
func (w *writer) execQuery(query string, args ...any) (sql.Result, error) {
	st, err := w.prepare(query)
	if err != nil {
		return nil, err
	}
	defer st.close()
	return st.exec(args...)
}

// afterCommit runs f in the writer once the current op's transaction has committed, before the op's
// caller or anyone else hears of the commit; not at all if the op or its transaction fails.
func (w *writer) afterCommit(f func()) { w.cur.committed = append(w.cur.committed, f) }

// call runs the op's function, turning a panic into that op's error so that the writer survives it.
func (w *writer) call(o *op) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write operation panicked: %v", r)
		}
	}()
	return o.fn(w)
}

// inTransaction reports whether the write transaction is still open. A failed statement normally
// undoes only itself, but some errors (disk full, I/O) make SQLite roll back the whole transaction;
// the writer must then not go on as if the earlier writes of the batch were still pending.
func (w *writer) inTransaction() bool {
	return !w.conn.AutoCommit()
}

// isUniqueViolation reports whether err is a statement's failure on a UNIQUE constraint or index.
func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique
}

// The writer runs with a background context on purpose: one caller's cancellation must not interrupt
// the transaction that carries every other caller's writes.

func (w *writer) exec(s *stmt, args ...any) error {
	_, err := s.exec(args...)
	return err
}

// changes executes s and returns the number of rows it changed.
func (w *writer) changes(s *stmt, args ...any) (int64, error) {
	res, err := s.exec(args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (w *writer) queryRow(s *stmt, args ...any) row { return s.queryRow(args...) }

// encodedEvent is an event made ready for the writer by its publisher: encoded, its order found and its
// targets routed, so that the writer only inserts.
type encodedEvent struct {
	id, orderID, detailType string
	body                    []byte
	targets                 []string
	event                   *contracts.Event // a deep copy of the event, for the hand-off (OnLog)
}

// encodeEvents prepares events for publishing. It returns an error for an event without an id or that
// cannot be encoded.
func (db *DB) encodeEvents(events []contracts.Event) ([]encodedEvent, error) {
	out := make([]encodedEvent, len(events))
	for i, e := range events {
		if e.ID == "" {
			return nil, fmt.Errorf("encode %s event: event has no id", e.DetailType)
		}
		body, err := gojson.Marshal(e) // refuses a detail that is not JSON, as encoding/json does
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		out[i] = encodedEvent{id: e.ID, orderID: pipeline.EventOrderID(e), detailType: e.DetailType, body: body}
		// Only the hand-off needs the targets now; Log routes what it reads.
		if db.opts.Router != nil && db.opts.OnLog != nil {
			out[i].targets = db.opts.Router(e)
			// The handlers read it after Publish returned: they must not see what its caller does next
			// with the bytes it published.
			ev := e
			ev.Detail, ev.Resources = detailIn(body, e.Detail), slices.Clone(e.Resources)
			out[i].event = &ev
		}
	}
	return out, nil
}

// detailIn returns the detail's bytes as they are in body, its encoded event, when they are the same
// (the detail is the envelope's last member, and an encoded detail is compact, as encoding leaves it):
// body is never changed once encoded, so the hand-off can share it instead of copying the detail. Else
// it returns a copy of detail.
func detailIn(body, detail []byte) []byte {
	n := len(detail)
	if end := len(body) - 1; n > 0 && end-n >= 0 && bytes.Equal(body[end-n:end], detail) {
		return body[end-n : end : end]
	}
	return bytes.Clone(detail)
}

// publish appends an event to the log unless its id is already stored, and remembers a new one for
// OnLog. Nothing else is written per event: its targets read the log from their cursors.
func (w *writer) publish(e *encodedEvent) error {
	res, err := w.st.insertEvent.exec(e.id, e.orderID, e.detailType, text(e.body))
	if err != nil {
		return fmt.Errorf("insert event %s: %w", e.id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("insert event %s: %w", e.id, err)
	}
	if n == 0 {
		return nil // published before
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("insert event %s: %w", e.id, err)
	}
	w.cur.maxSeq = max(w.cur.maxSeq, seq)
	if w.db.opts.OnLog == nil {
		return nil // nobody listens
	}
	w.cur.entries = append(w.cur.entries, localbus.Entry{Seq: seq, Body: e.body, Targets: e.targets, Event: e.event})
	return nil
}

// enqueue inserts a message that carries its own body, due now, and remembers it for OnMessages.
func (w *writer) enqueue(target string, body []byte) error {
	now := w.now.UnixNano()
	res, err := w.st.insertMessage.exec(target, text(body), now, now)
	if err != nil {
		return err
	}
	return w.inserted(res, target, body)
}

// inserted remembers the message an insert stored, for OnMessages.
func (w *writer) inserted(res sql.Result, target string, body []byte) error {
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if w.db.notify != nil {
		w.cur.msgs = append(w.cur.msgs, localbus.Message{ID: id, Target: target, Body: body})
	}
	return nil
}
