package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/inventory"
)

var _ inventory.Store = (*DB)(nil)

// Reservation states.
const (
	reserved = "RESERVED"
	released = "RELEASED"
)

// storedLine is how a reservation's lines are kept, as JSON.
type storedLine struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

// PutProduct creates or replaces a product. It returns a fault.Invalid error for an empty id, a negative
// price or negative stock.
func (db *DB) PutProduct(ctx context.Context, p inventory.Product) error {
	return db.putProduct(ctx, p, "")
}

// PutProductIf replaces a product if its current ETag is etag (inventory.ErrChanged otherwise). The check
// and the write are one write op, so no reservation can slip in between them.
func (db *DB) PutProductIf(ctx context.Context, p inventory.Product, etag string) error {
	return db.putProduct(ctx, p, etag)
}

func (db *DB) putProduct(ctx context.Context, p inventory.Product, etag string) error {
	switch {
	case strings.TrimSpace(p.ID) == "":
		return fault.Invalidf("put product: id is required")
	case p.Available < 0:
		return fault.Invalidf("put product %s: available %d must not be negative", p.ID, p.Available)
	case p.Price < 0:
		return fault.Invalidf("put product %s: price %s must not be negative", p.ID, p.Price)
	}
	err := db.write(ctx, func(w *writer) error {
		w.afterCommit(func() { db.prices.forget(p.ID) }) // forgetting a price that did not change is harmless
		if etag != "" {
			cur := inventory.Product{ID: p.ID}
			var price int64
			err := w.queryRow(w.st.readProduct, p.ID).Scan(&cur.Name, &price, &cur.Available)
			cur.Price = contracts.Amount(price)
			if etag == inventory.Absent {
				if errors.Is(err, sql.ErrNoRows) {
					return w.exec(w.st.upsertProduct, p.ID, p.Name, int64(p.Price), p.Available)
				}
				if err == nil {
					return inventory.ErrChanged
				}
			}
			if errors.Is(err, sql.ErrNoRows) || (err == nil && etag != inventory.Present && cur.ETag() != etag) {
				return inventory.ErrChanged
			}
			if err != nil {
				return fmt.Errorf("read product: %w", err)
			}
		}
		return w.exec(w.st.upsertProduct, p.ID, p.Name, int64(p.Price), p.Available)
	})
	if err != nil {
		return fmt.Errorf("put product %s: %w", p.ID, err)
	}
	return nil
}

// Product returns the product, or a fault.NotFound error.
func (db *DB) Product(ctx context.Context, id string) (_ inventory.Product, err error) {
	defer db.durableRead(ctx, &err)
	p := inventory.Product{ID: id}
	var price int64
	err = db.rs.product.QueryRowContext(ctx, id).Scan(&p.Name, &price, &p.Available)
	if errors.Is(err, sql.ErrNoRows) {
		return inventory.Product{}, fault.NotFoundf("product %s not found", id)
	}
	if err != nil {
		return inventory.Product{}, fmt.Errorf("read product %s: %w", id, err)
	}
	p.Price = contracts.Amount(price)
	return p, nil
}

// Products returns every product ordered by id.
func (db *DB) Products(ctx context.Context) (_ []inventory.Product, err error) {
	defer db.durableRead(ctx, &err)
	rows, err := db.rs.products.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	defer rows.Close()
	out := []inventory.Product{}
	for rows.Next() {
		var p inventory.Product
		var price int64
		if err := rows.Scan(&p.ID, &p.Name, &price, &p.Available); err != nil {
			return nil, fmt.Errorf("list products: %w", err)
		}
		p.Price = contracts.Amount(price)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	return out, nil
}

// Reserve takes the stock of every line for the order in one transaction, all or nothing; lines of the
// same product are added up. The stock check is part of the UPDATE that takes it, so stock cannot go
// negative however many reservations race. Reserving again for an order that holds a reservation
// returns nil and takes nothing. It returns a wrapped inventory.ErrOutOfStock naming the product (also
// for an unknown product), a wrapped inventory.ErrReleased for a released order, and a fault.Invalid
// error for an empty order id or a quantity below 1.
func (db *DB) Reserve(ctx context.Context, orderID string, lines []inventory.Line) error {
	lines, err := inventory.MergeLines(orderID, lines)
	if err != nil {
		return err
	}
	stored := make([]storedLine, len(lines))
	for i, l := range lines {
		stored[i] = storedLine(l)
	}
	body, err := json.Marshal(stored)
	if err != nil {
		return fmt.Errorf("reserve stock for order %s: encode: %w", orderID, err)
	}
	err = db.write(ctx, func(w *writer) error {
		var state, old string
		err := w.queryRow(w.st.getReservation, orderID).Scan(&state, &old)
		switch {
		case err == nil && state == released:
			return inventory.ErrReleased
		case err == nil:
			return nil // already reserved: take nothing
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read reservation: %w", err)
		}
		for _, l := range stored {
			n, err := w.changes(w.st.takeStock, l.Quantity, l.ProductID)
			if err != nil {
				return fmt.Errorf("take %d of %s: %w", l.Quantity, l.ProductID, err)
			}
			if n == 0 {
				// The savepoint rolls back the lines already taken.
				return fmt.Errorf("product %s (%d wanted): %w", l.ProductID, l.Quantity, inventory.ErrOutOfStock)
			}
		}
		return w.exec(w.st.insertReservation, orderID, reserved, text(body))
	})
	if err != nil {
		return fmt.Errorf("reserve stock for order %s: %w", orderID, err)
	}
	return nil
}

// Release gives back the order's reservation exactly once, in one transaction: the first call returns
// the lines released and true, later calls the same lines and false (so that a caller that crashed after
// releasing can still announce the release). Releasing an order with no reservation records that (so
// that a later Reserve returns inventory.ErrReleased) and returns no lines and false. It returns an
// error only when the write fails.
func (db *DB) Release(ctx context.Context, orderID string) ([]inventory.Line, bool, error) {
	var lines []inventory.Line
	var done bool
	err := db.write(ctx, func(w *writer) error {
		lines, done = nil, false
		var state, body string
		err := w.queryRow(w.st.getReservation, orderID).Scan(&state, &body)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return w.exec(w.st.insertReservation, orderID, released, "[]")
		case err != nil:
			return fmt.Errorf("read reservation: %w", err)
		}
		var stored []storedLine
		if err := jsonv1.Unmarshal([]byte(body), &stored); err != nil {
			return fmt.Errorf("decode reservation: %w", err)
		}
		for _, l := range stored {
			lines = append(lines, inventory.Line{ProductID: l.ProductID, Quantity: l.Quantity})
		}
		if state == released {
			return nil
		}
		for _, l := range stored {
			if err := w.exec(w.st.giveStock, l.Quantity, l.ProductID); err != nil {
				return fmt.Errorf("give back %d of %s: %w", l.Quantity, l.ProductID, err)
			}
		}
		if err := w.exec(w.st.releaseReservation, orderID); err != nil {
			return fmt.Errorf("mark reservation released: %w", err)
		}
		done = true
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("release stock of order %s: %w", orderID, err)
	}
	return lines, done, nil
}
