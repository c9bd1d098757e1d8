package sqlite

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
}
