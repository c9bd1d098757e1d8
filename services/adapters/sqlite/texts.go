package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
)

// RecordText durably stores a text sent about an order. A text whose id is already stored about the
// order (sent again on a redelivery) changes nothing: the first one is kept. A text without an id is a
// fault.Invalid error; a failed write is returned wrapped.
func (db *DB) RecordText(ctx context.Context, t contracts.Text) error {
	if t.ID == "" {
		return fault.Invalidf("record text about order %s: the text has no id", t.OrderID)
	}
	sentAt := t.SentAt.UnixNano()
	err := db.write(ctx, func(w *writer) error {
		return w.exec(w.st.insertText, t.ID, t.OrderID, t.To, t.Text, sentAt)
	})
	if err != nil {
		return fmt.Errorf("record text %s about order %s: %w", t.ID, t.OrderID, err)
	}
	return nil
}

// TextRecorded reports whether the text with the id about the order is stored (RecordText), or returns
// an error when the read fails.
func (db *DB) TextRecorded(ctx context.Context, orderID, id string) (bool, error) {
	var ok bool
	if err := db.rs.textRecorded.QueryRowContext(ctx, orderID, id).Scan(&ok); err != nil {
		return false, fmt.Errorf("look up text %s: %w", id, err)
	}
	return ok, nil
}

// Texts returns the texts sent about the order, oldest first (by id when sent at the same time). An
// order without texts, known or not, has an empty list: it is not an error. It returns an error when
// the read fails.
func (db *DB) Texts(ctx context.Context, orderID string) (_ []contracts.Text, err error) {
	defer db.durableRead(ctx, &err)
	rows, err := db.rs.texts.QueryContext(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("list texts of order %s: %w", orderID, err)
	}
	defer rows.Close()
	texts := []contracts.Text{}
	for rows.Next() {
		var t contracts.Text
		var sentAt int64
		if err := rows.Scan(&t.ID, &t.OrderID, &t.To, &t.Text, &sentAt); err != nil {
			return nil, fmt.Errorf("list texts of order %s: %w", orderID, err)
		}
		t.SentAt = time.Unix(0, sentAt).UTC()
		texts = append(texts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list texts of order %s: %w", orderID, err)
	}
	return texts, nil
}
