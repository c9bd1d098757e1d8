package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// checkpointInterval is the least time between two checkpoints. A page written many times in that time
// is copied into the database file once.
const checkpointInterval = 100 * time.Millisecond

// tailFrames is how few frames a checkpoint of the checkpointer must leave for the writer to copy the
// rest (maxPasses after the first checkpoint of a round, it copies the rest anyway).
const (
	tailFrames = 512
	maxPasses  = 4
)

// The writer does not checkpoint the whole WAL any more: copying it into the database file (and
// fsyncing that) inside a commit held every caller of the commit, up to tens of milliseconds under
// load. A checkpointer goroutine, on a connection of its own, copies the bulk of the WAL with PASSIVE
// checkpoints, which neither wait for nor block the writer or the readers, until at most tailFrames
// are left. The writer then copies that tail between two transactions (DB.copyTail), when nothing
// else writes, so that the WAL is in the database file whole and the writer's next transaction starts
// it over from its beginning. The checkpointer alone could not get there: beside a busy writer a
// PASSIVE checkpoint always finds new frames, and a RESTART one waits for a pause in the writes that
// never comes, so the WAL would grow by everything written, each read searching more of it.
//
// journal_size_limit trims the file back after a burst.

// openCheckpointer opens the checkpointer's connection; checkpointLoop runs it.
func (db *DB) openCheckpointer(path, params string) (err error) {
	if db.ckdb, err = sql.Open(driver(), path+"?"+params); err != nil {
		return fmt.Errorf("open sqlite checkpointer on %s: %w", path, err)
	}
	db.ckdb.SetMaxOpenConns(1)
	db.ckdb.SetMaxIdleConns(1)
	db.ckdb.SetConnMaxLifetime(0)
	if err := db.ckdb.PingContext(context.Background()); err != nil {
		db.ckdb.Close()
		return fmt.Errorf("open sqlite checkpointer on %s: %w", path, err)
	}
	return nil
}

// committedSomething tells the checkpointer that the WAL grew. The writer calls it after each commit;
// it never blocks.
func (db *DB) committedSomething() {
	select {
	case db.walGrew <- struct{}{}:
	default:
	}
}

// checkpointLoop checkpoints after commits, at most once per checkpointInterval, until stop closes.
func (db *DB) checkpointLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-stop:
			return
		case <-db.walGrew:
		}
		for pass := 1; ; pass++ {
			pending, err := db.Checkpoint(context.Background())
			if err != nil {
				db.log.Warn("checkpoint the sqlite WAL", "err", err)
				break
			}
			if pending <= tailFrames || pass == maxPasses {
				db.tailWanted.Store(true)
				break
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(checkpointInterval):
		}
	}
}

// Checkpoint copies what it can of the WAL into the database file now, without waiting for the
// writer or readers, and returns how many frames the WAL holds that are not copied yet (0 when the
// whole WAL is in the database file).
func (db *DB) Checkpoint(ctx context.Context) (pending int, err error) {
	return checkpoint(ctx, db.ckdb)
}

// copyTail copies what the checkpointer left of the WAL, in the writer between two transactions, when
// the checkpointer asked for it. A failure is only logged: the checkpointer asks again.
func (db *DB) copyTail() {
	if !db.tailWanted.Swap(false) {
		return
	}
	if _, err := checkpoint(context.Background(), db.wconn); err != nil {
		db.log.Warn("checkpoint the sqlite WAL", "err", err)
	}
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func checkpoint(ctx context.Context, c queryRower) (pending int, err error) {
	var busy, logFrames, copied int
	if err := c.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &copied); err != nil {
		return 0, fmt.Errorf("checkpoint: %w", err)
	}
	return max(logFrames-copied, 0), nil
}
