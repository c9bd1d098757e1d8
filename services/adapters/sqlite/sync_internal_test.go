package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
)

// syncDB is a DB whose fsync of the WAL (Options.Fsync) a test can hold.
type syncDB struct {
	*DB
	fsync atomic.Pointer[func(*os.File) error] // nil: fsync as usual
}

// heldSyncs replaces the WAL's fsync of db by one that reports each call on started and then waits
// for release, or returns fail when it is set.
type heldSyncs struct {
	started chan struct{}
	release chan struct{}
}

func holdSyncs(t *testing.T, db *syncDB, fail error) *heldSyncs {
	t.Helper()
	h := &heldSyncs{started: make(chan struct{}, 100), release: make(chan struct{})}
	held := func(f *os.File) error {
		h.started <- struct{}{}
		if fail != nil {
			return fail
		}
		<-h.release
		return f.Sync()
	}
	db.fsync.Store(&held)
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

func openForSync(t *testing.T) *syncDB {
	t.Helper()
	s := &syncDB{}
	db, err := Open(filepath.Join(t.TempDir(), "orderflow.db"), Options{PruneInterval: -1, Fsync: func(f *os.File) error {
		if held := s.fsync.Load(); held != nil {
			return (*held)(f)
		}
		return f.Sync()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s.DB = db
	return s
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
	// Committed, so the pipeline sees it already.
	if _, err := db.Get(CommitOnly(t.Context()), o.ID()); err != nil {
		t.Fatalf("Get under CommitOnly during the fsync: %v", err)
	}
	syncs.free()
	if err := <-done; err != nil {
		t.Fatalf("Create: %v", err)
	}
}

// validate moves o on under ctx, failing the test if that does not return within 10s.
func validate(t *testing.T, ctx context.Context, db *syncDB, id string) {
	t.Helper()
	if err := validationErr(t, ctx, db, id); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// validationErr is validate's error, failing the test only when Update does not return within 10s.
func validationErr(t *testing.T, ctx context.Context, db *syncDB, id string) error {
	t.Helper()
	done := returned(func() error {
		_, err := db.Update(ctx, id, func(o *order.Order) ([]contracts.Event, error) {
			return nil, o.StartValidation(time.Now())
		})
		return err
	})
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("Update did not return within 10s")
		return nil
	}
}

// createdThenHeld opens a DB holding one order, and holds its fsyncs from then on.
func createdThenHeld(t *testing.T) (*syncDB, *order.Order, *heldSyncs) {
	t.Helper()
	db := openForSync(t)
	o := pipelinetest.NewOrder(t, "c1", time.Now())
	if err := db.Create(t.Context(), o, nil); err != nil {
		t.Fatal(err)
	}
	return db, o, holdSyncs(t, db, nil)
}

func TestACommitOnlyWriteReturnsAtItsCommitAndSyncWaitsForTheDisk(t *testing.T) {
	db, o, syncs := createdThenHeld(t)
	if err := db.Sync(t.Context()); err != nil {
		t.Fatalf("Sync with nothing to sync: %v", err)
	}
	validate(t, CommitOnly(t.Context()), db, o.ID())
	// Right after the write returned, before anything else: a Sync must cover it.
	synced := returned(func() error { return db.Sync(t.Context()) })
	notWithin(t, synced, "Sync returned while the fsync of a write that returned before it was held")
	// The pipeline reads it at once; anyone else only once it is durable.
	got, err := db.Get(CommitOnly(t.Context()), o.ID())
	if err != nil || got.Status() != order.Validating {
		t.Fatalf("Get under CommitOnly after the commit: %v, %v; want VALIDATING", got, err)
	}
	read := returned(func() error { _, err := db.Get(t.Context(), o.ID()); return err })
	notWithin(t, read, "Get for someone outside returned a state whose fsync was held")
	syncs.free()
	for _, ch := range []<-chan error{synced, read} {
		if err := <-ch; err != nil {
			t.Fatalf("after the fsync: %v", err)
		}
	}
}

func TestAReplayedIdempotencyKeyWaitsForTheSyncOfItsOrder(t *testing.T) {
	db := openForSync(t)
	syncs := holdSyncs(t, db, nil)
	o := pipelinetest.NewOrder(t, "c1", time.Now())
	rec := &ingest.IdempotencyRecord{Key: "key-1", RequestHash: "h", OrderID: o.ID(), Response: []byte(`{}`), CreatedAt: time.Now()}
	created := returned(func() error { return db.Create(t.Context(), o, rec) })
	waitFor(t, "the fsync of the order", syncs.started)
	replayed := returned(func() error { _, err := db.Idempotency(t.Context(), "key-1"); return err })
	notWithin(t, replayed, "the idempotency record of an order whose fsync was held was read")
	// A second request with the key, in a batch of its own, hears that the key is taken only once the
	// order holding it is durable.
	again := returned(func() error { return db.Create(t.Context(), pipelinetest.NewOrder(t, "c1", time.Now()), rec) })
	notWithin(t, again, "a request was told the key is taken before the order holding it was durable")
	syncs.free()
	if err := <-created; err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := <-replayed; err != nil {
		t.Fatalf("Idempotency: %v", err)
	}
	if err := <-again; !errors.Is(err, ingest.ErrIdempotencyKeyTaken) {
		t.Fatalf("second Create with the key = %v, want ErrIdempotencyKeyTaken", err)
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
	if err := validationErr(t, CommitOnly(t.Context()), db, first.ID()); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("Update under CommitOnly after a failed fsync = %v, want a fault.Unavailable error", err)
	}
	if err := db.Sync(t.Context()); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("Sync after a failed fsync = %v, want a fault.Unavailable error", err)
	}
	select {
	case <-db.Broken():
	default:
		t.Fatal("Broken is not closed after a failed fsync")
	}
	if err := db.Close(); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("Close after a failed fsync = %v, want the fsync's error", err)
	}
}

func TestCloseAnswersTheWritesWaitingForTheSync(t *testing.T) {
	db, o, syncs := createdThenHeld(t)
	validate(t, CommitOnly(t.Context()), db, o.ID())
	waitFor(t, "the fsync of the first commit", syncs.started)
	// A second commit while the first one's fsync is held, whose caller waits for the next fsync.
	created := returned(func() error { return db.Create(t.Context(), pipelinetest.NewOrder(t, "c1", time.Now()), nil) })
	notWithin(t, created, "Create returned before any fsync covered it")
	closed := returned(db.Close)
	syncs.free()
	for what, ch := range map[string]<-chan error{"Create": created, "Close": closed} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not return within 10s of the fsyncs going through", what)
		}
	}
	db.sync.mu.Lock()
	defer db.sync.mu.Unlock()
	if db.sync.synced != db.sync.committed {
		t.Errorf("after Close %d of %d commits were synced", db.sync.synced, db.sync.committed)
	}
}

func TestTheSyncerSyncsTheWALFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orderflow.db")
	db, err := Open(path, Options{PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Through a restart of the WAL too: copy it whole, and write again.
	for i := range 2 {
		if err := db.Create(t.Context(), pipelinetest.NewOrder(t, "c1", time.Now()), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
		synced, err := db.sync.file.Stat()
		if err != nil {
			t.Fatal(err)
		}
		wal, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(synced, wal) {
			t.Fatalf("round %d: the syncer's file is not the WAL", i)
		}
	}
}
