package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orderflow/orderflow/services/fault"
)

// Commits and syncs are two steps. The writer commits with synchronous = NORMAL, which in WAL mode
// writes the commit's frames to the WAL without an fsync; a syncer goroutine then fsyncs the WAL, once
// for every commit that happened since its last fsync, and only then answers the callers that wait for
// durability. The writer goes on with the next batch meanwhile instead of waiting for the disk, and the
// callers that need no fsync of their own (CommitOnly) are answered at the commit.
//
// Why that is as durable as an fsync per commit: the WAL holds the commits in commit order (a
// transaction may rewrite its own frames before it commits, never an earlier commit's), so an fsync
// makes every commit before it durable, and a crash keeps a prefix of the commits (recovery stops at the
// first frame whose salt or checksum does not follow). synchronous = NORMAL never lets a checkpoint copy
// a frame into the database file before the WAL is synced, and it syncs the database file before the
// WAL starts over, whose new header SQLite fsyncs itself; so a commit whose frames a later commit
// overwrote after such a restart was in the synced database file already. It also relies on SQLite's
// default powersafe overwrite (a write never damages the bytes around it), as synchronous = FULL did.

// syncer fsyncs the WAL after commits and answers the writes waiting for that.
type syncer struct {
	file *os.File
	// syncFile makes the WAL durable: file.Sync, or Options.Fsync.
	syncFile func() error
	wake     chan struct{} // capacity 1: a commit since the last sync
	stop     chan struct{}
	done     chan struct{}

	mu sync.Mutex
	// begun counts the COMMITs the writer started, committed those it finished (with success or not),
	// started those the fsync under way (or the last one) covers, synced those the last finished fsync
	// covered. A reader can see a commit as soon as its COMMIT runs, so a barrier waits for every
	// commit begun; an fsync covers only the commits finished before it started.
	begun, committed, started, synced uint64
	// startedSync is closed, and replaced, when an fsync starts or the syncer stops or fails.
	startedSync chan struct{}
	waiting     []syncWaiter // in commit order
	// err is the first failed fsync's: after it nothing is known to be durable, so every write waiting
	// and every later one fails (the store must be reopened).
	err    error
	failed atomic.Bool
	// broken is closed when err is set.
	broken chan struct{}
	// stopped: the syncer has made its last fsync (close).
	stopped bool
}

// syncWaiter is a caller waiting for commit number seq to be durable, to hear err then.
type syncWaiter struct {
	seq  uint64
	done chan<- error
	err  error
}

// answer is what a waiter hears once the commits it waited for are durable.
type answer struct {
	done chan error
	err  error
}

// openSyncer opens the WAL file of the database at path for fsyncs, after syncing the directory once so
// that the WAL file's own name is durable (SQLite would do that at the WAL's first sync). fsync makes
// the file durable after commits (nil: File.Sync).
func openSyncer(path string, fsync func(*os.File) error) (*syncer, error) {
	f, err := os.Open(path + "-wal")
	if err != nil {
		return nil, fmt.Errorf("open the WAL for syncing: %w", err)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err == nil {
		err = errors.Join(dir.Sync(), dir.Close())
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sync the directory of the WAL: %w", err)
	}
	// What the writer committed while opening (migrations) is durable before Open returns.
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("sync the WAL: %w", err)
	}
	syncFile := f.Sync
	if fsync != nil {
		syncFile = func() error { return fsync(f) }
	}
	s := &syncer{
		file: f, syncFile: syncFile, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		startedSync: make(chan struct{}), broken: make(chan struct{}),
	}
	go s.loop()
	return s, nil
}

// failure returns the error of the failed sync that stopped the store's writes, or nil.
func (s *syncer) failure() error {
	if !s.failed.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// beginCommit records that the writer is about to run a COMMIT. Only the writer calls it.
func (s *syncer) beginCommit() {
	s.mu.Lock()
	s.begun++
	s.mu.Unlock()
}

// commit records that the writer's last COMMIT finished, whether it succeeded or not, with the callers
// that are to hear of it once it is durable, and wakes the syncer. Only the writer calls it.
func (s *syncer) commit(answers []answer) {
	s.mu.Lock()
	s.committed = s.begun
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		for _, a := range answers {
			a.done <- err
		}
		return
	}
	for _, a := range answers {
		s.waiting = append(s.waiting, syncWaiter{seq: s.committed, done: a.done, err: a.err})
	}
	s.mu.Unlock()
	wake(s.wake)
}

// await holds the writer while its last commit waits for an fsync to start, for maxAwait at most:
// while the disk syncs one commit, the writer may commit once more, and the ops that arrive meanwhile
// wait to make the commit after that one. So commits are about as few and as large as when each waited
// for its own fsync, and only the fsync, not the next commit, waits for the disk; when the disk stalls,
// the writer still commits every maxAwait. Only the writer calls it.
func (s *syncer) await() {
	s.mu.Lock()
	if s.committed <= s.started || s.err != nil || s.stopped {
		s.mu.Unlock()
		return
	}
	started := s.startedSync
	s.mu.Unlock()
	t := time.NewTimer(maxAwait)
	defer t.Stop()
	select {
	case <-started:
	case <-t.C:
	}
}

// maxAwait bounds how long the writer waits for an fsync to start (await).
const maxAwait = 2 * time.Millisecond

// signalStarted wakes the writer in await. s.mu must be held.
func (s *syncer) signalStarted() {
	close(s.startedSync)
	s.startedSync = make(chan struct{})
}

// barrier returns a channel that receives nil once every commit finished so far is durable (at once
// when it is), or the sync's error.
func (s *syncer) barrier() <-chan error {
	done := make(chan error, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.err != nil:
		done <- s.err
	case s.synced >= s.begun:
		done <- nil
	default:
		s.waiting = append(s.waiting, syncWaiter{seq: s.begun, done: done})
		wake(s.wake)
	}
	return done
}

// loop fsyncs the WAL whenever commits happened since the last fsync, until close; then once more.
func (s *syncer) loop() {
	defer close(s.done)
	for {
		select {
		case <-s.wake:
			s.syncOnce()
		case <-s.stop:
			s.syncOnce()
			s.mu.Lock()
			s.stopped = true
			s.signalStarted()
			s.mu.Unlock()
			return
		}
	}
}

// syncOnce fsyncs the WAL, if anything was committed since the last time, and answers the callers
// waiting for the commits it covered.
func (s *syncer) syncOnce() {
	s.mu.Lock()
	target := s.committed
	pending := target > s.synced && s.err == nil
	if pending {
		s.started = target
		s.signalStarted()
	}
	s.mu.Unlock()
	if !pending {
		return
	}
	err := s.syncFile()
	s.mu.Lock()
	if err != nil && s.err == nil {
		s.err = fault.Wrap(fault.Unavailable, err, "sync the sqlite WAL: writes since the last sync may not be durable; reopen the store")
		s.failed.Store(true)
		close(s.broken)
		s.signalStarted()
	}
	if s.err == nil {
		s.synced = target
	}
	n := 0
	for _, w := range s.waiting {
		switch {
		case s.err != nil:
			w.done <- s.err
		case w.seq <= target:
			w.done <- w.err
		default:
			s.waiting[n] = w
			n++
		}
	}
	clear(s.waiting[n:])
	s.waiting = s.waiting[:n]
	s.mu.Unlock()
}

// close syncs what was committed, answers everyone waiting and closes the WAL file. The writer must
// have stopped. It returns the error of a sync that failed, now or before.
func (s *syncer) close() error {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	return errors.Join(err, s.file.Close())
}

// commitOnlyKey marks a context whose writes need not wait for the sync (CommitOnly).
type commitOnlyKey struct{}

// CommitOnly returns a context under which the DB's writes return as soon as they are committed, before
// the WAL is synced: readers in this process see them at once, the syncer makes them durable a moment
// later, and a crash of the machine in between loses the last of them, in commit order (never a write
// without the ones committed before it). It is for the pipeline's own steps, which an at-least-once
// delivery does again after a crash; what leaves the process, an answer to a request, a text or a
// webhook, must not be told of such a write before Sync returned.
func CommitOnly(ctx context.Context) context.Context {
	return context.WithValue(ctx, commitOnlyKey{}, true)
}

func commitOnly(ctx context.Context) bool {
	if ctx == nil {
		return false
	}
	v, _ := ctx.Value(commitOnlyKey{}).(bool)
	return v
}

// durableRead ends a read that tells its caller what the store holds (deferred, with the read's error):
// unless ctx is CommitOnly, a read that succeeded waits for the sync of every commit it could have seen
// (Sync), so that no one outside the process is told of a state a crash could still undo, and fails
// with Sync's error.
func (db *DB) durableRead(ctx context.Context, err *error) {
	if *err != nil || commitOnly(ctx) {
		return
	}
	*err = db.Sync(ctx)
}

// Sync returns once every write committed before the call is durable, at once when it is already. It
// returns the error of the ctx when it ends first, and a fault.Unavailable error once a sync of the WAL
// failed (the store must then be reopened).
func (db *DB) Sync(ctx context.Context) error {
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	done := db.sync.barrier()
	db.mu.RUnlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("wait for the sync of the WAL: %w", ctx.Err())
	}
}

// Broken is closed once a sync of the WAL failed. The store then refuses every write with that error
// (Sync returns it), and must be reopened, which recovers what the disk holds.
func (db *DB) Broken() <-chan struct{} { return db.sync.broken }
