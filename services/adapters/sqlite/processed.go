package sqlite

import (
	"context"
	"fmt"

	"github.com/orderflow/orderflow/services/notifier"
)

var _ notifier.Deduper = (*DB)(nil)

// Seen reports whether MarkSeen was called for consumer and eventID within Options.ProcessedRetention.
// It returns an error when the read fails.
func (db *DB) Seen(ctx context.Context, consumer, eventID string) (bool, error) {
	var seen bool
	if err := db.rs.seen.QueryRowContext(ctx, consumer, eventID, db.processedCut(db.now())).Scan(&seen); err != nil {
		return false, fmt.Errorf("check whether %s processed event %s: %w", consumer, eventID, err)
	}
	return seen, nil
}

// MarkSeen durably records that consumer handled eventID; marking it again changes nothing. It returns an
// error when the write fails.
func (db *DB) MarkSeen(ctx context.Context, consumer, eventID string) error {
	now := db.now().UnixNano()
	cut := db.processedCut(db.now())
	err := db.write(ctx, func(w *writer) error { return w.exec(w.st.markSeen, consumer, eventID, now, cut) })
	if err != nil {
		return fmt.Errorf("mark event %s processed by %s: %w", eventID, consumer, err)
	}
	return nil
}
