package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/orderflow/orderflow/services/order"
)

// migrations are applied in order; PRAGMA user_version records how many have been applied. Never edit a
// migration that has shipped: append a new one.
//
// Times are stored as Unix nanoseconds (UTC), so that they sort and compare as integers. JSON documents
// are stored as TEXT so that the file can be inspected with the sqlite3 shell.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE orders (
	id          TEXT PRIMARY KEY,
	customer_id TEXT NOT NULL,
	status      TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	snapshot    TEXT NOT NULL
);
CREATE INDEX orders_by_customer ON orders (customer_id, id);
CREATE INDEX orders_by_status ON orders (status, created_at);

CREATE TABLE idempotency (
	key          TEXT PRIMARY KEY,
	request_hash TEXT NOT NULL,
	order_id     TEXT NOT NULL,
	response     BLOB,
	created_at   INTEGER NOT NULL
);

-- seq is the rowid: the order in which events were first published.
CREATE TABLE events (
	seq         INTEGER PRIMARY KEY,
	id          TEXT NOT NULL UNIQUE,
	order_id    TEXT NOT NULL,
	detail_type TEXT NOT NULL,
	body        TEXT NOT NULL
);
CREATE INDEX events_by_order ON events (order_id, seq);

-- AUTOINCREMENT: an id is never reused, so an id remembered by the delivery engine names one message.
CREATE TABLE messages (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	target     TEXT NOT NULL,
	body       TEXT NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    INTEGER NOT NULL,
	last_error TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);
CREATE INDEX messages_by_due ON messages (next_at, id);

CREATE TABLE dead_letters (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	target     TEXT NOT NULL,
	body       TEXT NOT NULL,
	attempts   INTEGER NOT NULL,
	error      TEXT NOT NULL,
	failed_at  INTEGER NOT NULL
);

CREATE TABLE products (
	id        TEXT PRIMARY KEY,
	name      TEXT NOT NULL,
	price     INTEGER NOT NULL,
	available INTEGER NOT NULL CHECK (available >= 0)
);

CREATE TABLE reservations (
	order_id TEXT PRIMARY KEY,
	state    TEXT NOT NULL CHECK (state IN ('RESERVED', 'RELEASED')),
	lines    TEXT NOT NULL
);

CREATE TABLE payments (
	order_id         TEXT PRIMARY KEY,
	state            TEXT NOT NULL,
	authorization_id TEXT NOT NULL,
	amount           INTEGER NOT NULL,
	currency         TEXT NOT NULL,
	attempts         INTEGER NOT NULL,
	decline_code     TEXT NOT NULL
);

CREATE TABLE processed (
	consumer     TEXT NOT NULL,
	event_id     TEXT NOT NULL,
	processed_at INTEGER NOT NULL,
	PRIMARY KEY (consumer, event_id)
) WITHOUT ROWID;
`,
	// 2: an event's messages refer to the event instead of each holding a copy of its body, which
	// was most of the bytes every commit wrote. body stays for queue messages and redriven dead
	// letters, and is '' when event_seq is set. No foreign key: events are never deleted, and the
	// check would cost a lookup per message.
	`ALTER TABLE messages ADD COLUMN event_seq INTEGER`,
	// 3: indexes whose keys are random rewrite a different page for every insert, and each rewritten
	// page is a full page in the WAL. events.id is a SHA-1 UUID, so the unique index on it becomes one
	// on (order_id, id): the same constraint (an event id determines its order), but keyed by the
	// time-ordered UUIDv7 order id, so inserts append; it also serves the per-order event listing.
	// orders_by_status moved an entry on every status change; the reconciler only ever asks for
	// PENDING orders, so a partial index over those is all that is kept.
	`
CREATE TABLE events_v3 (
	seq         INTEGER PRIMARY KEY,
	id          TEXT NOT NULL,
	order_id    TEXT NOT NULL,
	detail_type TEXT NOT NULL,
	body        TEXT NOT NULL,
	UNIQUE (order_id, id)
);
INSERT INTO events_v3 (seq, id, order_id, detail_type, body) SELECT seq, id, order_id, detail_type, body FROM events;
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
DROP INDEX orders_by_status;
CREATE INDEX orders_pending ON orders (created_at, id) WHERE status = 'PENDING';
`,
	// 4: order references (order.ParseReference), unique across all orders. The column is NULL only
	// until backfillReferences (run by migrate right after this statement) gives every order stored
	// before this migration a fresh reference, in its snapshot as well. A unique index allows many
	// NULLs, so it can be built before the backfill and check it.
	`
ALTER TABLE orders ADD COLUMN reference TEXT;
CREATE UNIQUE INDEX orders_by_reference ON orders (reference);
`,
	// 5: the texts sent about each order, for the operations console. id is the text's id (derived from
	// the event that caused it), so a text sent again on redelivery keeps one row. The index keys by the
	// time-ordered order id, so inserts of a new order's texts append, and it serves the per-order
	// listing.
	`
CREATE TABLE texts (
	id        TEXT PRIMARY KEY,
	order_id  TEXT NOT NULL,
	recipient TEXT NOT NULL,
	body      TEXT NOT NULL,
	sent_at   INTEGER NOT NULL
);
CREATE INDEX texts_by_order ON texts (order_id, sent_at);
`,
	// 6: retention (retention.go). An idempotency record expires at expires_at, set by the store's clock
	// when it is written (as DynamoDB's TTL attribute); records stored before this migration expire the
	// default 24 hours after they were created. The pruner deletes expired records and records of handled
	// events oldest first; the indexes find them without reading the tables, and as both are keyed by
	// time, inserts append to them.
	`
ALTER TABLE idempotency ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE idempotency SET expires_at = created_at + 86400000000000;
CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);
CREATE INDEX processed_by_age ON processed (processed_at);
`,
	// 7: the events table is the bus's log, in seq order, and each target keeps one cursor in it: every
	// event up to seq has been handled for it. Only failed deliveries go to messages (event_seq set),
	// next to the ingest queue. Messages already waiting are delivered as before; a target without a
	// cursor starts at the end of the log as it was when the store was opened, after the events whose
	// messages were written before this migration. Events must never be deleted above the lowest cursor,
	// nor the newest event at all (seq is the rowid, which would then be reused).
	`
CREATE TABLE cursors (
	target TEXT PRIMARY KEY,
	seq    INTEGER NOT NULL
) WITHOUT ROWID;
`,
	// Texts are kept in one tree, by order: their ids (random, one per event) made the primary key's
	// index take a page write for nearly every text, a quarter of all page writes when the pipeline is
	// busy; with the order first, the texts of orders placed at about the same time share pages.
	`
CREATE TABLE texts_v8 (
	order_id  TEXT NOT NULL,
	id        TEXT NOT NULL,
	recipient TEXT NOT NULL,
	body      TEXT NOT NULL,
	sent_at   INTEGER NOT NULL,
	PRIMARY KEY (order_id, id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO texts_v8 (order_id, id, recipient, body, sent_at)
	SELECT order_id, id, recipient, body, sent_at FROM texts ORDER BY rowid;
DROP TABLE texts;
ALTER TABLE texts_v8 RENAME TO texts;
`,
	// 9: reservations and payments are kept in one tree each, by order. A table keyed by a TEXT primary
	// key is two trees in SQLite (the rows by rowid, and an index from the key to the rowid), so every
	// reservation and payment written took two page writes. Payments are small rows, and so are the
	// reservations of orders of a few lines. A reservation over about 1,000 bytes (some 25 lines)
	// spills its tail to an overflow page in a WITHOUT ROWID tree, where a rowid table keeps up to 4 KiB
	// on the page: such orders take as many page writes as before and about three times the space.
	`
CREATE TABLE reservations_v9 (
	order_id TEXT PRIMARY KEY,
	state    TEXT NOT NULL CHECK (state IN ('RESERVED', 'RELEASED')),
	lines    TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO reservations_v9 (order_id, state, lines) SELECT order_id, state, lines FROM reservations;
DROP TABLE reservations;
ALTER TABLE reservations_v9 RENAME TO reservations;

CREATE TABLE payments_v9 (
	order_id         TEXT PRIMARY KEY,
	state            TEXT NOT NULL,
	authorization_id TEXT NOT NULL,
	amount           INTEGER NOT NULL,
	currency         TEXT NOT NULL,
	attempts         INTEGER NOT NULL,
	decline_code     TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO payments_v9 (order_id, state, authorization_id, amount, currency, attempts, decline_code)
	SELECT order_id, state, authorization_id, amount, currency, attempts, decline_code FROM payments;
DROP TABLE payments;
ALTER TABLE payments_v9 RENAME TO payments;
`,
}

// afterMigration holds the work of a migration that SQL alone cannot do, run in the same transaction
// right after the migration's statements, keyed by the migration's number.
var afterMigration = map[int]func(ctx context.Context, c *sql.Conn) error{
	4: backfillReferences,
}

// newReference draws the references backfillReferences gives; tests replace it to force collisions.
var newReference = order.NewReference

// maxBackfillAttempts bounds the fresh references drawn for one order during the backfill.
const maxBackfillAttempts = 10

// backfillReferences gives every order without a reference a fresh one, in the reference column and in
// the snapshot (which is what the order is loaded from). A reference another order already has is
// never written: the update is conditional on it being free, and on a collision a new one is drawn.
func backfillReferences(ctx context.Context, c *sql.Conn) error {
	rows, err := c.QueryContext(ctx, `SELECT id FROM orders WHERE reference IS NULL ORDER BY id`)
	if err != nil {
		return fmt.Errorf("list orders without a reference: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("list orders without a reference: %w", err)
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("list orders without a reference: %w", err)
	}
	st, err := c.PrepareContext(ctx, `UPDATE orders SET reference = ?1, snapshot = json_set(snapshot, '$.reference', ?1)
		WHERE id = ?2 AND NOT EXISTS (SELECT 1 FROM orders WHERE reference = ?1)`)
	if err != nil {
		return fmt.Errorf("prepare the reference backfill: %w", err)
	}
	defer st.Close()
	for _, id := range ids {
		for attempt := 1; ; attempt++ {
			res, err := st.ExecContext(ctx, newReference(), id)
			if err != nil {
				return fmt.Errorf("give order %s a reference: %w", id, err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 1 {
				if err != nil {
					return fmt.Errorf("give order %s a reference: %w", id, err)
				}
				break
			}
			if attempt == maxBackfillAttempts {
				return fmt.Errorf("give order %s a reference: %d fresh references were all taken", id, attempt)
			}
		}
	}
	return nil
}
