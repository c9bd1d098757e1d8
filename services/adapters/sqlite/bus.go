package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	gojson "github.com/goccy/go-json"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/routing"
)

var _ localbus.Mailbox = (*DB)(nil)

// Publish appends the events whose ids were not stored before to the log, durably, in one transaction;
// their targets read them from there (Log, OnLog). Publishing an id again stores nothing. It returns an
// error, and stores nothing, when an event has no id or the write fails.
func (db *DB) Publish(ctx context.Context, events ...contracts.Event) error {
	if len(events) == 0 {
		return nil
	}
	encoded, err := db.encodeEvents(events)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	err = db.write(ctx, func(w *writer) error {
		for i := range encoded {
			if err := w.publish(&encoded[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish %d events (first %s): %w", len(events), events[0].ID, err)
	}
	return nil
}

// Send puts an order on the ingest queue: one durable message for routing.Dispatcher. It returns an
// error when the write fails.
func (db *DB) Send(ctx context.Context, m contracts.OrderMessage) error {
	body, err := gojson.Marshal(m)
	if err != nil {
		return fmt.Errorf("queue order %s: encode: %w", m.OrderID, err)
	}
	err = db.write(ctx, func(w *writer) error { return w.enqueue(routing.Dispatcher, body) })
	if err != nil {
		return fmt.Errorf("queue order %s: %w", m.OrderID, err)
	}
	return nil
}

// Due returns up to limit messages whose next attempt is due at now, longest due first, leaving out the
// ids in skip and the messages whose Ack is still being written. A limit below 1 is a fault.Invalid error.
func (db *DB) Due(ctx context.Context, now time.Time, limit int, skip map[int64]bool) ([]localbus.Message, error) {
	if limit < 1 {
		return nil, fault.Invalidf("due messages: limit %d must be at least 1", limit)
	}
	rows, err := db.rs.due.QueryContext(ctx, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("list due messages: %w", err)
	}
	defer rows.Close()
	var out []localbus.Message
	// The query has no LIMIT because skipped rows must not count; SQLite steps lazily, so the scan
	// stops as soon as the page is full.
	for len(out) < limit && rows.Next() {
		var m localbus.Message
		if err := rows.Scan(&m.ID, &m.Target, &m.Body, &m.Attempts, &m.LastError); err != nil {
			return nil, fmt.Errorf("list due messages: %w", err)
		}
		if skip[m.ID] || db.beingAcked(m.ID) {
			continue
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list due messages: %w", err)
	}
	return out, nil
}

func (db *DB) beingAcked(id int64) bool {
	db.ackMu.Lock()
	_, ok := db.acking[id]
	ok = ok || db.deleted.Has(id)
	db.ackMu.Unlock()
	return ok
}

// Ack deletes delivered messages. It returns as soon as the deletion is queued for the writer, before
// it is durable (a crash before the commit redelivers them); until then Due leaves them out. It returns
// an error only when the DB is closed.
func (db *DB) Ack(_ context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return fmt.Errorf("ack %d messages: %w", len(ids), ErrClosed)
	}
	db.ackMu.Lock()
	for _, id := range ids {
		db.acking[id] = struct{}{}
	}
	db.ackQueue = append(db.ackQueue, ids...)
	db.ackMu.Unlock()
	// Never blocks: a wake-up already pending, or a batch already running, takes these acks too.
	wake(db.ackWake)
	return nil
}

// Log returns up to limit events stored after position after, in log order, each with the targets
// Options.Router names for it. A limit below 1 is a fault.Invalid error. It returns only events whose
// commit the writer has finished, never one that is committed but whose order's new version is not in
// the cache yet (Get trusts the cache).
func (db *DB) Log(ctx context.Context, after int64, limit int) ([]localbus.Entry, error) {
	if limit < 1 {
		return nil, fault.Invalidf("read the log: limit %d must be at least 1", limit)
	}
	rows, err := db.rs.log.QueryContext(ctx, after, db.finished.Load(), limit)
	if err != nil {
		return nil, fmt.Errorf("read the log after %d: %w", after, err)
	}
	defer rows.Close()
	var out []localbus.Entry
	for rows.Next() {
		var en localbus.Entry
		if err := rows.Scan(&en.Seq, &en.Body); err != nil {
			return nil, fmt.Errorf("read the log after %d: %w", after, err)
		}
		if db.opts.Router != nil {
			var e contracts.Event
			if err := jsonv1.Unmarshal(en.Body, &e); err != nil {
				// Publish stored what it encoded, so this is damage: say so rather than stop the log.
				db.log.Error("event in the log is not an event; it is routed nowhere", "seq", en.Seq, "error", err)
			} else {
				en.Targets = db.opts.Router(e)
			}
		}
		out = append(out, en)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the log after %d: %w", after, err)
	}
	return out, nil
}

// Cursors returns the cursors of targets, in one transaction: it first forgets the cursors of targets
// not listed and gives each listed target without one a cursor at the end of the log as it was when the
// DB was opened. It returns an error when the write fails.
func (db *DB) Cursors(ctx context.Context, targets []string) (map[string]int64, error) {
	list, err := gojson.Marshal(append([]string{}, targets...))
	if err != nil {
		return nil, fmt.Errorf("cursors: %w", err)
	}
	var out map[string]int64
	err = db.write(ctx, func(w *writer) error {
		if err := w.exec(w.st.forgetCursors, string(list)); err != nil {
			return err
		}
		if err := w.exec(w.st.startCursors, db.logEnd, string(list)); err != nil {
			return err
		}
		rows, err := w.st.readCursors.query()
		if err != nil {
			return err
		}
		defer rows.Close()
		out = map[string]int64{}
		for rows.Next() {
			var target string
			var seq int64
			if err := rows.Scan(&target, &seq); err != nil {
				return err
			}
			out[target] = seq
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("cursors of %d targets: %w", len(targets), err)
	}
	return out, nil
}

// Advance moves the cursors forward (a lower position than the stored one changes nothing). It returns
// as soon as the moves are queued for the writer, which stores them with its next batch, or after
// cursorFlushDelay when no batch comes; a crash before then delivers the events after the stored
// cursors again. It returns an error only when the DB is closed.
func (db *DB) Advance(_ context.Context, cursors ...localbus.Cursor) error {
	if len(cursors) == 0 {
		return nil
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return fmt.Errorf("advance %d cursors: %w", len(cursors), ErrClosed)
	}
	db.ackMu.Lock()
	for _, c := range cursors {
		db.queueCursor(c.Target, c.Seq)
	}
	arm := !db.cursorFlushArmed
	db.cursorFlushArmed = true
	db.ackMu.Unlock()
	if arm {
		// Not at once: a batch of its own would cost a commit (and an fsync) per delivery, in the way of
		// the next stage's write, when the writer is otherwise idle.
		time.AfterFunc(cursorFlushDelay, func() {
			db.ackMu.Lock()
			db.cursorFlushArmed = false
			db.ackMu.Unlock()
			wake(db.ackWake)
		})
	}
	return nil
}

// cursorFlushDelay is how long cursor moves wait for a batch to carry them before they start one.
const cursorFlushDelay = 50 * time.Millisecond

// Defer stores the failed delivery of the log's event seq to target as a message of the mailbox, with
// its attempts, error and next attempt, durably, and returns the message's id. The message refers to the
// event, so Due and the dead letters carry the event's body. It is not handed to OnMessages: the caller
// holds it. It returns an error when the write fails.
func (db *DB) Defer(ctx context.Context, target string, seq int64, attempts int, next time.Time, lastError string) (int64, error) {
	var id int64
	err := db.write(ctx, func(w *writer) error {
		res, err := w.st.deferMessage.exec(target, seq, attempts, next.UnixNano(), lastError, w.now.UnixNano())
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("defer event %d for %s: %w", seq, target, err)
	}
	return id, nil
}

// Retry records a failed attempt of message id and when to try it again. It returns a fault.NotFound
// error when there is no such message (it was acked or buried).
func (db *DB) Retry(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error {
	err := db.write(ctx, func(w *writer) error {
		n, err := w.changes(w.st.retryMessage, attempts, next.UnixNano(), lastError, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fault.NotFoundf("message %d not found", id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("retry message %d: %w", id, err)
	}
	return nil
}

// Bury moves the message to the dead letters with lastError and m.Attempts, in one transaction; a
// message read from the log (ID 0) is only added to them. It returns a fault.NotFound error, burying
// nothing, when a mailbox message is no longer waiting (it was acked or buried already).
func (db *DB) Bury(ctx context.Context, m localbus.Message, lastError string) error {
	body := string(m.Body)
	err := db.write(ctx, func(w *writer) error {
		if m.ID != 0 {
			n, err := w.changes(w.st.deleteMessage, m.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				return fault.NotFoundf("message %d not found", m.ID)
			}
		}
		return w.exec(w.st.insertDeadLetter, m.Target, body, m.Attempts, lastError, w.now.UnixNano())
	})
	if err != nil && m.ID == 0 {
		return fmt.Errorf("bury event %d for %s: %w", m.Seq, m.Target, err)
	}
	if err != nil {
		return fmt.Errorf("bury message %d for %s: %w", m.ID, m.Target, err)
	}
	return nil
}

// DeadLetters returns up to limit dead letters, oldest first. A limit below 1 is a fault.Invalid error.
func (db *DB) DeadLetters(ctx context.Context, limit int) ([]localbus.DeadLetter, error) {
	if limit < 1 {
		return nil, fault.Invalidf("dead letters: limit %d must be at least 1", limit)
	}
	rows, err := db.rs.deadLetters.QueryContext(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	out := []localbus.DeadLetter{}
	for rows.Next() {
		var d localbus.DeadLetter
		var at int64
		if err := rows.Scan(&d.ID, &d.Target, &d.Body, &d.Attempts, &d.Error, &at); err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		d.FailedAt = time.Unix(0, at).UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// Redrive moves the dead letters with the given ids (every dead letter when ids is empty) back to the
// messages, due now with no attempts counted, in one transaction, and returns how many moved. Ids that
// are not dead letters are ignored, and an id given more than once is moved once. The moved messages are
// handed to OnMessages like new ones.
func (db *DB) Redrive(ctx context.Context, ids ...int64) (int, error) {
	moved := 0
	err := db.write(ctx, func(w *writer) error {
		moved = 0
		type letter struct {
			id           int64
			target, body string
		}
		var letters []letter
		if len(ids) == 0 {
			// Read them all before changing the table that is being read.
			rows, err := w.st.allDeadLetters.query()
			if err != nil {
				return err
			}
			for rows.Next() {
				var l letter
				if err := rows.Scan(&l.id, &l.target, &l.body); err != nil {
					rows.Close()
					return err
				}
				letters = append(letters, l)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		} else {
			// An id named twice is one dead letter: moving it twice would deliver its message twice.
			named := make(map[int64]bool, len(ids))
			for _, id := range ids {
				if named[id] {
					continue
				}
				named[id] = true
				l := letter{id: id}
				err := w.queryRow(w.st.getDeadLetter, id).Scan(&l.target, &l.body)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err != nil {
					return fmt.Errorf("read dead letter %d: %w", id, err)
				}
				letters = append(letters, l)
			}
		}
		for _, l := range letters {
			if err := w.exec(w.st.deleteDeadLetter, l.id); err != nil {
				return fmt.Errorf("delete dead letter %d: %w", l.id, err)
			}
			if err := w.enqueue(l.target, []byte(l.body)); err != nil {
				return fmt.Errorf("requeue dead letter %d: %w", l.id, err)
			}
		}
		moved = len(letters)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("redrive dead letters: %w", err)
	}
	return moved, nil
}

// CountDeadLetters returns how many dead letters there are.
func (db *DB) CountDeadLetters(ctx context.Context) (int, error) {
	var n int
	if err := db.rs.countDeadLetters.QueryRowContext(ctx).Scan(&n); err != nil {
		return 0, fmt.Errorf("count dead letters: %w", err)
	}
	return n, nil
}
