package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Retention: what the store forgets, and when. Orders are kept, and with them everything that is part
// of an order's story (its events, its texts, its reservation and payment). What only guards against
// repeats is forgotten once a repeat can no longer come: an idempotency key once a client can no longer
// be retrying the request, a consumer's record of a handled event once that event can no longer be
// delivered again. A background pruner deletes them in small batches, each one short write among the
// others, so that the writer never stalls on a large delete.
const (
	// DefaultIdempotencyRetention is how long an Idempotency-Key is honoured: 24 hours, as on AWS.
	DefaultIdempotencyRetention = 24 * time.Hour
	// DefaultProcessedRetention is how long a consumer remembers an event it handled: 15 days, as on
	// AWS. A redelivery comes within seconds (a retry, a restart); a dead letter is only redriven if it
	// was never handled.
	DefaultProcessedRetention = 15 * 24 * time.Hour
	// DefaultPruneInterval is how often the pruner looks for expired rows.
	DefaultPruneInterval = time.Minute
	// DefaultPruneBatch is how many rows one pruning write deletes at most.
	DefaultPruneBatch = 1000
)

// retention resolves the retention options.
func (o Options) retention() (idem, processed time.Duration) {
	idem, processed = o.IdempotencyRetention, o.ProcessedRetention
	if idem <= 0 {
		idem = DefaultIdempotencyRetention
	}
	if processed <= 0 {
		processed = DefaultProcessedRetention
	}
	return idem, processed
}

// idempotencyExpiry is when (Unix nanoseconds) an idempotency record written at now expires.
func (db *DB) idempotencyExpiry(now time.Time) int64 {
	idem, _ := db.opts.retention()
	return now.Add(idem).UnixNano()
}

// processedCut is the time at or before which a record of a handled event has expired at now.
func (db *DB) processedCut(now time.Time) int64 {
	_, processed := db.opts.retention()
	return now.Add(-processed).UnixNano()
}

// Pruned counts what one Prune deleted.
type Pruned struct {
	// Idempotency is the number of expired idempotency records deleted.
	Idempotency int64
	// Processed is the number of expired records of handled events deleted.
	Processed int64
}

// Prune deletes the expired idempotency records and records of handled events, in writes of at most
// Options.PruneBatch rows each, until none is left, and returns how many it deleted. The background
// pruner calls it every Options.PruneInterval; it is safe to call at any time.
func (db *DB) Prune(ctx context.Context) (Pruned, error) {
	batch := db.opts.PruneBatch
	if batch <= 0 {
		batch = DefaultPruneBatch
	}
	var total Pruned
	for _, t := range []struct {
		what  string
		query string
		cut   func(time.Time) int64
		n     *int64
	}{
		{"idempotency records", `DELETE FROM idempotency WHERE rowid IN
			(SELECT rowid FROM idempotency WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
			func(now time.Time) int64 { return now.UnixNano() }, &total.Idempotency},
		// processed is WITHOUT ROWID: its primary key names the rows.
		{"records of handled events", `DELETE FROM processed WHERE (consumer, event_id) IN
			(SELECT consumer, event_id FROM processed WHERE processed_at <= ? ORDER BY processed_at LIMIT ?)`, db.processedCut, &total.Processed},
	} {
		for {
			var n int64
			err := db.write(ctx, func(w *writer) error {
				res, err := w.execQuery(t.query, t.cut(w.now), batch)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return total, fmt.Errorf("prune %s: %w", t.what, err)
			}
			*t.n += n
			if n < int64(batch) {
				break
			}
		}
	}
	return total, nil
}

// pruneLoop prunes every interval until the DB closes.
func (db *DB) pruneLoop(interval time.Duration, stop <-chan struct{}) {
	defer close(db.prunerDone)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if n, err := db.Prune(context.Background()); err != nil {
				if !errors.Is(err, ErrClosed) {
					db.log.Warn("prune expired rows", "err", err)
				}
			} else if n != (Pruned{}) {
				db.log.Debug("pruned expired rows", "idempotency", n.Idempotency, "processed", n.Processed)
			}
		}
	}
}
