package sqlite

import "database/sql"

// readStmts are prepared on the read pool; database/sql prepares each on a connection when first used there.
type readStmts struct {
	getOrder, orderExists, getIdempotency, pendingBefore, pendingAfter, listFirst, listAfter, events *sql.Stmt
	due, deadLetters, countDeadLetters, byReference, log                                             *sql.Stmt
	product, products, seen                                                                          *sql.Stmt
	texts, textRecorded                                                                              *sql.Stmt
}

func (s *readStmts) list() []stmtSpec {
	return []stmtSpec{
		{&s.getOrder, `SELECT version, snapshot FROM orders WHERE id = ?`},
		{&s.orderExists, `SELECT EXISTS (SELECT 1 FROM orders WHERE id = ?)`},
		{&s.getIdempotency, `SELECT request_hash, order_id, response, created_at FROM idempotency
			WHERE key = ? AND expires_at > ?`},
		{&s.pendingBefore, `SELECT created_at, id FROM orders WHERE status = 'PENDING' AND created_at < ?
			ORDER BY created_at, id LIMIT ?`},
		{&s.pendingAfter, `SELECT created_at, id FROM orders WHERE status = 'PENDING' AND created_at < ?
			AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`},
		{&s.listFirst, `SELECT version, snapshot FROM orders WHERE customer_id = ? ORDER BY id DESC LIMIT ?`},
		{&s.listAfter, `SELECT version, snapshot FROM orders WHERE customer_id = ? AND id < ?
			ORDER BY id DESC LIMIT ?`},
		{&s.events, `SELECT body FROM events WHERE order_id = ? ORDER BY seq`},
		{&s.byReference, `SELECT version, snapshot FROM orders WHERE reference = ? AND customer_id = ?`},

		{&s.due, `SELECT m.id, m.target, coalesce(e.body, m.body), m.attempts, m.last_error
			FROM messages m LEFT JOIN events e ON e.seq = m.event_seq
			WHERE m.next_at <= ? ORDER BY m.next_at, m.id`},
		{&s.log, `SELECT seq, body FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`},
		{&s.deadLetters, `SELECT id, target, body, attempts, error, failed_at FROM dead_letters
			ORDER BY id LIMIT ?`},
		{&s.countDeadLetters, `SELECT count(*) FROM dead_letters`},

		{&s.product, `SELECT name, price, available FROM products WHERE id = ?`},
		{&s.products, `SELECT id, name, price, available FROM products ORDER BY id`},
		{&s.seen, `SELECT EXISTS (SELECT 1 FROM processed WHERE consumer = ? AND event_id = ? AND processed_at > ?)`},
		{&s.texts, `SELECT id, order_id, recipient, body, sent_at FROM texts WHERE order_id = ?
			ORDER BY sent_at, id`},
		{&s.textRecorded, `SELECT EXISTS (SELECT 1 FROM texts WHERE order_id = ? AND id = ?)`},
	}
}

func (s *readStmts) prepare(db *sql.DB) error { return prepareAll(db, s.list()) }

func (s *readStmts) close() error { return closeAll(s.list()) }
