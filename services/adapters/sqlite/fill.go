package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/pipeline"
)

// cloneBatch is how many copies one transaction of CloneOrder writes.
const cloneBatch = 2000

// cloneTable is a table holding rows about an order: the query reading the template's rows (with the
// order id, and the event ids where noted, as arguments) and the statement inserting a copy.
type cloneTable struct {
	name, query, insert string
	byEvents            bool // query takes the template's event ids instead of its order id
}

var cloneTables = []cloneTable{
	{name: "orders", query: `SELECT id, customer_id, status, created_at, version, snapshot, reference FROM orders WHERE id = ?`,
		insert: `INSERT INTO orders (id, customer_id, status, created_at, version, snapshot, reference) VALUES (?, ?, ?, ?, ?, ?, ?)`},
	{name: "events", query: `SELECT id, order_id, detail_type, body FROM events WHERE order_id = ? ORDER BY seq`,
		insert: `INSERT INTO events (id, order_id, detail_type, body) VALUES (?, ?, ?, ?)`},
	{name: "idempotency", query: `SELECT key, request_hash, order_id, response, created_at, expires_at FROM idempotency WHERE order_id = ?`,
		insert: `INSERT INTO idempotency (key, request_hash, order_id, response, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`},
	{name: "processed", byEvents: true, query: `SELECT consumer, event_id, processed_at FROM processed WHERE event_id IN (%s)`,
		insert: `INSERT INTO processed (consumer, event_id, processed_at) VALUES (?, ?, ?)`},
	{name: "texts", query: `SELECT id, order_id, recipient, body, sent_at FROM texts WHERE order_id = ?`,
		insert: `INSERT INTO texts (id, order_id, recipient, body, sent_at) VALUES (?, ?, ?, ?, ?)`},
	{name: "reservations", query: `SELECT order_id, state, lines FROM reservations WHERE order_id = ?`,
		insert: `INSERT INTO reservations (order_id, state, lines) VALUES (?, ?, ?)`},
	{name: "payments", query: `SELECT order_id, state, authorization_id, amount, currency, attempts, decline_code FROM payments WHERE order_id = ?`,
		insert: `INSERT INTO payments (order_id, state, authorization_id, amount, currency, attempts, decline_code) VALUES (?, ?, ?, ?, ?, ?, ?)`},
}

// CloneOrder copies every row about the template order — the order, its events, its idempotency record,
// the records of its handled events, its texts, its reservation and its payment — n times, in
// transactions of 2,000 copies. Copy i gets the order id, reference and customer id(i) returns (the
// caller keeps ids and references unique; an empty customer keeps the template's) and the event ids
// that order's events would have; every other value is the template's.
// It gives a store a long history quickly, for benchmarks; the copies are orders like any other, and
// their events count as delivered: the cursors that were at the end of the log move past them (the
// others, with events still to deliver, stay and read the copies too). A template that is not stored
// is a fault.NotFound error.
func (db *DB) CloneOrder(ctx context.Context, templateID string, n int, id func(i int) (orderID, reference, customerID string)) error {
	var tmplRef, tmplCustomer string
	var events [][2]string // id, detail type
	if err := db.read.QueryRowContext(ctx, `SELECT reference, customer_id FROM orders WHERE id = ?`, templateID).Scan(&tmplRef, &tmplCustomer); err != nil {
		if err == sql.ErrNoRows {
			return fault.NotFoundf("clone order %s: not found", templateID)
		}
		return fmt.Errorf("clone order %s: %w", templateID, err)
	}
	rows := map[string][][]any{}
	for _, t := range cloneTables {
		q, args := t.query, []any{templateID}
		if t.byEvents {
			if len(events) == 0 {
				continue
			}
			args = args[:0]
			for _, e := range events {
				args = append(args, e[0])
			}
			q = fmt.Sprintf(q, strings.TrimSuffix(strings.Repeat("?, ", len(events)), ", "))
		}
		got, err := readRows(ctx, db.read, q, args...)
		if err != nil {
			return fmt.Errorf("clone order %s: read %s: %w", templateID, t.name, err)
		}
		rows[t.name] = got
		if t.name == "events" {
			for _, r := range got {
				events = append(events, [2]string{str(r[0]), str(r[2])})
			}
		}
	}
	// Copies are history: nobody is to be told of them. A consumer behind the end of the log (a webhook
	// whose endpoint is down) would be sent every copy's events, so the fill waits for none.
	var behind string
	err := db.read.QueryRowContext(ctx, `SELECT target FROM cursors WHERE seq < (SELECT coalesce(max(seq), 0) FROM events) LIMIT 1`).Scan(&behind)
	switch {
	case err == nil:
		return fault.Conflictf("clone order %s: consumer %s has not read the whole log; let it catch up (or redrive its dead letters) first", templateID, behind)
	case err != sql.ErrNoRows:
		return fmt.Errorf("clone order %s: read the cursors: %w", templateID, err)
	}
	for start := 0; start < n; start += cloneBatch {
		end := min(start+cloneBatch, n)
		subs := make([]*strings.Replacer, 0, end-start)
		orderIDs, customers := make([]string, 0, end-start), make([]string, 0, end-start)
		for i := start; i < end; i++ {
			orderID, ref, customer := id(i)
			pairs := []string{templateID, orderID, tmplRef, ref}
			if customer != "" {
				// Quoted, as the id stands in the JSON documents, and as a column value of its own.
				pairs = append(pairs, `"`+tmplCustomer+`"`, `"`+customer+`"`)
			}
			for _, e := range events {
				pairs = append(pairs, e[0], pipeline.EventID(orderID, e[1]))
			}
			subs, orderIDs, customers = append(subs, strings.NewReplacer(pairs...)), append(orderIDs, orderID), append(customers, customer)
		}
		err := db.write(ctx, func(w *writer) error {
			var logEnd int64
			if err := w.queryRow(w.st.logEnd).Scan(&logEnd); err != nil {
				return fmt.Errorf("read the end of the log: %w", err)
			}
			for _, t := range cloneTables {
				st, err := w.prepare(t.insert)
				if err != nil {
					return err
				}
				for k, sub := range subs {
					orderID := orderIDs[k]
					for _, r := range rows[t.name] {
						args := make([]any, len(r))
						for j, v := range r {
							if s, ok := v.(string); ok {
								v = sub.Replace(s)
							}
							args[j] = v
						}
						if customer := customers[k]; customer != "" && t.name == "orders" {
							args[1] = customer
						}
						if t.name == "idempotency" {
							args[0] = "clone-" + orderID // keys are the client's: each copy needs its own
						}
						if _, err := st.exec(args...); err != nil {
							st.close()
							return fmt.Errorf("copy %d into %s: %w", start+k, t.name, err)
						}
					}
				}
				if err := st.close(); err != nil {
					return err
				}
			}
			if err := w.exec(w.st.skipTo, logEnd); err != nil {
				return fmt.Errorf("move the cursors past the copies: %w", err)
			}
			// The copies' events are in the log once this commit is finished (see DB.finished).
			return w.queryRow(w.st.logEnd).Scan(&w.cur.maxSeq)
		})
		if err != nil {
			return fmt.Errorf("clone order %s: %w", templateID, err)
		}
	}
	return nil
}

// readRows reads every row of a query as values, TEXT columns as strings.
func readRows(ctx context.Context, db *sql.DB, query string, args ...any) ([][]any, error) {
	rs, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok && cols[i] != "response" {
				vals[i] = string(b)
			}
		}
		out = append(out, vals)
	}
	return out, rs.Err()
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// ReferencesFree reports whether no stored order has a reference from lo to hi (canonical forms, which
// sort as the numbers order.ReferenceOf encodes).
func (db *DB) ReferencesFree(ctx context.Context, lo, hi string) (bool, error) {
	var one int
	err := db.read.QueryRowContext(ctx, `SELECT 1 FROM orders WHERE reference BETWEEN ? AND ? LIMIT 1`, lo, hi).Scan(&one)
	if err == sql.ErrNoRows {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up references %s to %s: %w", lo, hi, err)
	}
	return false, nil
}
