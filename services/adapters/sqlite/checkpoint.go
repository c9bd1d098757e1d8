package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Checkpointing, measured with make bench on a 2-core VM's disk:
//
//   - checkpointInterval is the least time between two checkpoints. Each checkpoint ends with an
//     fsync of the database file, and the writer's commits (an fsync of the WAL each) wait behind that
//     flush on the same disk: copying a second's worth at once held commits for up to 300 ms, so the
//     checkpointer copies little and often, and a commit waits a few milliseconds at worst. A page
//     written many times within the interval is still copied once.
//   - restartFrames is how long the WAL may grow (in frames of a page) before the writer copies the
//     last frames itself so that the WAL starts over (below): about 16 MB.
//   - tailFrames is how few frames the checkpointer must leave for that copy; it tries maxPasses times
//     in a row to get there, and then asks for the copy anyway.
const (
	checkpointInterval = 20 * time.Millisecond
	restartFrames      = 4096
	tailFrames         = 512
	maxPasses          = 4
)

// The writer does not checkpoint the WAL: copying it into the database file (and fsyncing that) inside
// a commit held every caller of the commit, tens of milliseconds under load. A checkpointer goroutine,
// on a connection of its own, copies the WAL with PASSIVE checkpoints, which neither wait for nor block
// the writer or the readers. Copied frames are not reused by themselves, though: the WAL starts over
// from its beginning only at a transaction that finds it copied whole, and beside a busy writer a
// PASSIVE checkpoint always finds new frames (a RESTART one waits for a pause in the writes that never
// comes), so the WAL would grow by everything written, each read searching more of it. So once the WAL
// holds restartFrames, the checkpointer copies until at most tailFrames are left, and the writer copies
// those between two transactions (DB.copyTail), when nothing else writes; its next transaction starts
// the WAL over. journal_size_limit trims the file back after a burst.

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
func (db *DB) committedSomething() { wake(db.walGrew) }

// checkpointLoop checkpoints after commits, at most once per checkpointInterval, until stop closes.
func (db *DB) checkpointLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	var lastWarn time.Time
	for {
		select {
		case <-stop:
			return
		case <-db.walGrew:
		}
		for pass := 1; ; pass++ {
			frames, pending, err := checkpoint(context.Background(), db.ckdb)
			if errors.Is(err, ErrCheckpointBusy) {
				break // the writer is copying the tail: nothing to do till the next commit
			}
			if err != nil {
				// Logged once a minute at most: a failure that lasts would otherwise log every 20 ms.
				if now := time.Now(); now.Sub(lastWarn) >= time.Minute {
					lastWarn = now
					db.log.Warn("checkpoint the sqlite WAL; the WAL grows until a checkpoint succeeds", "err", err)
				}
				break
			}
			if frames < restartFrames {
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
// whole WAL is in the database file). It returns an error wrapping ErrCheckpointBusy when another
// checkpoint (the writer's, or another process's) held the WAL.
func (db *DB) Checkpoint(ctx context.Context) (pending int, err error) {
	_, pending, err = checkpoint(ctx, db.ckdb)
	return pending, err
}

// copyTail copies what the checkpointer left of the WAL, in the writer between two transactions, when
// the checkpointer asked for it. A failure is only logged: the checkpointer asks again.
func (db *DB) copyTail() {
	if !db.tailWanted.Swap(false) {
		return
	}
	if _, _, err := checkpoint(context.Background(), db.wconn); err != nil && !errors.Is(err, ErrCheckpointBusy) {
		db.log.Warn("checkpoint the sqlite WAL", "err", err)
	}
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ErrCheckpointBusy is returned by Checkpoint when another checkpoint was under way: it copied nothing.
var ErrCheckpointBusy = errors.New("another checkpoint holds the WAL")

// checkpoint runs a PASSIVE checkpoint on c and returns how many frames the WAL holds and how many of
// them are not copied yet, or ErrCheckpointBusy.
func checkpoint(ctx context.Context, c queryRower) (frames, pending int, err error) {
	var busy, copied int
	if err := c.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		return 0, 0, fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 || frames < 0 {
		return 0, 0, fmt.Errorf("checkpoint: %w", ErrCheckpointBusy)
	}
	return frames, max(frames-copied, 0), nil
}
