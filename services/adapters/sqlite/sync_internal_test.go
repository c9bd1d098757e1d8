package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
)

// heldSyncs replaces the WAL's fsync of db by one that reports each call on started and then waits
// for release, or returns fail when it is set.
type heldSyncs struct {
	started chan struct{}
	release chan struct{}
}

func holdSyncs(t *testing.T, db *DB, fail error) *heldSyncs {
	t.Helper()
	h := &heldSyncs{started: make(chan struct{}, 100), release: make(chan struct{})}
	db.sync.mu.Lock()
	real := db.sync.syncFile
	db.sync.syncFile = func() error {
		h.started <- struct{}{}
		if fail != nil {
			return fail
		}
		<-h.release
		return real()
	}
	db.sync.mu.Unlock()
	t.Cleanup(h.free)
	return h
}

// free lets every held and later fsync through.
func (h *heldSyncs) free() {
	select {
	case <-h.release:
	default:
		close(h.release)
	}
}

func openForSync(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "orderflow.db"), Options{PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// returned runs f in a goroutine and returns the channel its error arrives on.
func returned(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// notWithin fails the test if ch delivers within a fifth of a second: a call held by an fsync must
// stay held, and one that was not held returns in microseconds.
func notWithin(t *testing.T, ch <-chan error, msg string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s (%v)", msg, err)
	case <-time.After(200 * time.Millisecond):
	}
}

func waitFor(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not after 10s", what)
	}
}

func TestAnAnsweredWriteWaitsForTheSyncOfTheWAL(t *testing.T) {
	db := openForSync(t)
	syncs := holdSyncs(t, db, nil)
	o := pipelinetest.NewOrder(t, "c1", time.Now())
	done := returned(func() error { return db.Create(t.Context(), o, nil) })
	waitFor(t, "the fsync after the commit", syncs.started)
	notWithin(t, done, "Create returned while the fsync of its commit was still under way")
	// Committed, so readers in the process see it already.
	if _, err := db.Get(t.Context(), o.ID()); err != nil {
		t.Fatalf("Get during the fsync: %v", err)
	}
	syncs.free()
	if err := <-done; err != nil {
		t.Fatalf("Create: %v", err)
	}
}

func TestACommitOnlyWriteReturnsAtItsCommitAndSyncWaitsForTheDisk(t *testing.T) {
	db := openForSync(t)
	o := pipelinetest.NewOrder(t, "c1", time.Now())
	if err := db.Create(t.Context(), o, nil); err != nil {
		t.Fatal(err)
	}
	syncs := holdSyncs(t, db, nil)
	if err := db.Sync(t.Context()); err != nil {
		t.Fatalf("Sync with nothing to sync: %v", err)
	}
	_, err := db.Update(CommitOnly(t.Context()), o.ID(), func(o *order.Order) ([]contracts.Event, error) {
		return nil, o.StartValidation(time.Now())
	})
	if err != nil {
		t.Fatalf("Update under CommitOnly while fsyncs are held: %v", err)
	}
	got, err := db.Get(t.Context(), o.ID())
	if err != nil || got.Status() != order.Validating {
		t.Fatalf("Get after the commit: %v, %v; want VALIDATING", got, err)
	}
	waitFor(t, "the fsync of the commit", syncs.started)
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := db.Sync(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sync while the fsync is held = %v, want the context's deadline", err)
	}
	synced := returned(func() error { return db.Sync(t.Context()) })
	syncs.free()
	if err := <-synced; err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func TestAFailedSyncFailsTheWriteAndStopsTheStore(t *testing.T) {
	db := openForSync(t)
	holdSyncs(t, db, errors.New("EIO"))
	first := pipelinetest.NewOrder(t, "c1", time.Now())
	if err := db.Create(t.Context(), first, nil); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("Create when the fsync fails = %v, want a fault.Unavailable error", err)
	}
	if err := db.Create(t.Context(), pipelinetest.NewOrder(t, "c1", time.Now()), nil); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("Create after a failed fsync = %v, want a fault.Unavailable error", err)
	}
	_, err := db.Update(CommitOnly(t.Context()), first.ID(), func(o *order.Order) ([]contracts.Event, error) {
		return nil, o.StartValidation(time.Now())
	})
	if fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("Update under CommitOnly after a failed fsync = %v, want a fault.Unavailable error", err)
	}
	if err := db.Sync(t.Context()); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("Sync after a failed fsync = %v, want a fault.Unavailable error", err)
	}
}

func TestCloseSyncsTheCommitsNobodyWaitedFor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orderflow.db")
	db, err := Open(path, Options{PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	o := pipelinetest.NewOrder(t, "c1", time.Now())
	if err := db.Create(t.Context(), o, nil); err != nil {
		t.Fatal(err)
	}
	syncs := holdSyncs(t, db, nil)
	if _, err := db.Update(CommitOnly(t.Context()), o.ID(), func(o *order.Order) ([]contracts.Event, error) {
		return nil, o.StartValidation(time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	closed := returned(db.Close)
	waitFor(t, "an fsync", syncs.started)
	notWithin(t, closed, "Close returned before the fsync of the last commit")
	syncs.free()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	db, err = Open(path, Options{PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.Get(t.Context(), o.ID()); err != nil || got.Status() != order.Validating {
		t.Fatalf("after reopening: %v, %v; want VALIDATING", got, err)
	}
}
