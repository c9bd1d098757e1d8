package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/mattn/go-sqlite3"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/fault"
)

// Options configures a DB. The zero value is usable: events are stored in the log but routed nowhere,
// nobody is told about new messages or events, and the clock is time.Now.
type Options struct {
	// Router returns the targets an event must be delivered to; the application passes
	// routing.Router.Targets. Log and OnLog give each event's targets; nil routes every event nowhere.
	Router func(contracts.Event) []string
	// OnMessages, when set, is called after a commit with the messages that commit inserted in the
	// mailbox (ids included), so that the in-process delivery engine can deliver them at once instead of
	// polling. It is called from one goroutine of the DB, never concurrently, in commit order; when it
	// is slow, the messages of several commits are handed over in one call. It must not block for long.
	// Messages still waiting to be handed over when the DB is closed are not handed over: they are
	// durable and Due returns them.
	OnMessages func([]localbus.Message)
	// OnLog, when set, is called like OnMessages with the events a commit appended to the log, with
	// their positions and targets, in log order. Entries not handed over are read with Log.
	OnLog func([]localbus.Entry)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ReadConns is the size of the pool of read connections; 0 means twice the number of CPUs, at
	// least 4.
	ReadConns int
	// BusyTimeout is how long a write waits for another process holding the database's write lock;
	// 0 means 5 seconds.
	BusyTimeout time.Duration
	// Logger reports the failures of writes that nobody waits for (asynchronous acks); nil discards them.
	Logger *slog.Logger
	// IdempotencyRetention is how long an idempotency record is honoured (DefaultIdempotencyRetention
	// when 0); after it the key is free for a new request and the record is pruned.
	IdempotencyRetention time.Duration
	// ProcessedRetention is how long a record of a handled event is kept (DefaultProcessedRetention when 0).
	ProcessedRetention time.Duration
	// PruneInterval is how often expired rows are pruned in the background (DefaultPruneInterval when 0;
	// negative: never, Prune is then only run when called).
	PruneInterval time.Duration
	// PruneBatch is how many rows one pruning write deletes at most (DefaultPruneBatch when 0).
	PruneBatch int
	// Fsync makes the WAL file durable after commits (nil: f.Sync). Tests hold or fail it.
	Fsync func(f *os.File) error
}

// ErrClosed (kind fault.Unavailable) is returned by every method called after Close.
var ErrClosed = fault.Unavailablef("sqlite store is closed")

// driverName is go-sqlite3 registered with the connection settings every connection of a DB gets.
const driverName = "sqlite3_orderflow"

var registerDriver sync.Once

// Connection tuning, measured with the package's benchmarks and profiles. Memory-mapped reads skip a
// copy per page. The writer's page cache is larger than the default, but not large: a B-tree split can
// park a page under the locking page's number, and the commit after it then walks the whole cache
// (pcache1TruncateUnsafe), which with 32 MiB took 4% of the server's CPU and with 8 MiB takes 1%.
// Checkpoints are the checkpointer's (checkpoint.go); walSizeLimit is the size the WAL file is trimmed
// back to.
const (
	mmapSize       = 256 << 20
	writerCacheKiB = 8 << 10
	walSizeLimit   = 64 << 20
)

func driver() string {
	registerDriver.Do(func() {
		sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec(fmt.Sprintf("PRAGMA mmap_size = %d", mmapSize), nil)
			return err
		}})
	})
	return driverName
}

// maxBatch caps how many write operations share one transaction, so that one commit never holds
// callers for long.
const maxBatch = 1000

// DB is the local store. It is safe for concurrent use. Create one with Open and Close it when done.
type DB struct {
	opts Options
	now  func() time.Time
	log  *slog.Logger

	read *sql.DB // the pool of read connections
	rs   readStmts

	wdb   *sql.DB   // holds exactly one connection: wconn
	wconn *sql.Conn // the only connection that writes
	w     *writer
	sync  *syncer // makes the writer's commits durable

	mu         sync.RWMutex // guards closed against sends on ops
	closed     bool
	ops        chan *op
	writerDone chan struct{}

	// acking holds the ids of messages whose asynchronous Ack is not committed yet, so that Due does
	// not hand them out again in the meantime. ackQueue holds those the writer has not taken yet: it
	// deletes all of them with one statement at the start of its next batch, and ackWake (capacity 1)
	// starts a batch when the writer is idle. Acks used to be one op each, with a savepoint and a
	// statement per id, about a third of every batch.
	ackMu  sync.Mutex
	acking map[int64]struct{}
	// deleted remembers the ids whose delete committed recently: a Due whose read snapshot predates
	// that commit still sees their rows, after acking has let go of them.
	deleted  *localbus.RecentIDs
	ackQueue []int64
	ackWake  chan struct{}
	// cursorQueue holds the cursor moves (Advance) the writer has not taken yet, the highest per
	// target; the writer stores them with one statement at the start of its next batch, as acks. Also
	// guarded by ackMu, and ackWake starts a batch for them.
	cursorQueue map[string]int64
	// cursorFlushArmed says a timer will start a batch for the cursor moves waiting (Advance).
	cursorFlushArmed bool

	// logEnd is the last position of the log when the DB was opened: where Cursors starts a target
	// that has no cursor yet.
	logEnd int64

	notify *handoff
	snaps  *snapshotCache
	prices *priceCache
	// finished is the seq of the last event whose commit the writer has finished: the cache holds the
	// orders it wrote, and the commit's caller and OnLog may hear of it. Log reads no further, so that
	// nobody learns of an event from the log before the cache holds its order's new version.
	finished atomic.Int64

	prunerStop chan struct{} // nil without a background pruner
	prunerDone chan struct{}

	ckdb           *sql.DB       // holds the checkpointer's one connection
	walGrew        chan struct{} // capacity 1: a commit since the last checkpoint
	tailWanted     atomic.Bool   // the checkpointer asks the writer to copy the rest of the WAL
	checkpointStop chan struct{}
	checkpointDone chan struct{}
}

// Open opens (creating if needed) the database file at path, brings its schema up to date and starts
// the writer. It returns a fault.Invalid error for an unusable path, and a wrapped driver error when
// the file cannot be opened or migrated (or was written by a newer build).
func Open(path string, opts Options) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fault.Invalidf("sqlite database path %q: must be a non-empty file path without ? or #", path)
	}
	db := &DB{
		opts:       opts,
		now:        opts.Now,
		log:        opts.Logger,
		ops:        make(chan *op, 4*maxBatch),
		writerDone: make(chan struct{}),
		acking:     map[int64]struct{}{},
		deleted:    localbus.NewRecentIDs(1 << 16),
		ackWake:    make(chan struct{}, 1),
		snaps:      newSnapshotCache(),
		prices:     newPriceCache(),
		walGrew:    make(chan struct{}, 1),
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	params := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=1&_synchronous=FULL", busy.Milliseconds())

	// The writer commits without an fsync; the syncer makes its commits durable (sync.go).
	if err := db.openWriter(path, strings.Replace(params, "_synchronous=FULL", "_synchronous=NORMAL", 1)); err != nil {
		return nil, err
	}
	var err error
	if db.sync, err = openSyncer(path, opts.Fsync); err != nil {
		db.wconn.Close()
		db.wdb.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	if err := db.openReaders(path, params, opts.ReadConns); err != nil {
		db.sync.close()
		db.wconn.Close()
		db.wdb.Close()
		return nil, err
	}
	if err := db.openCheckpointer(path, params); err != nil {
		db.sync.close()
		db.read.Close()
		db.wconn.Close()
		db.wdb.Close()
		return nil, err
	}
	if opts.OnMessages != nil || opts.OnLog != nil {
		db.notify = newHandoff(opts.OnMessages, opts.OnLog)
	}
	go db.writeLoop()
	db.checkpointStop, db.checkpointDone = make(chan struct{}), make(chan struct{})
	go db.checkpointLoop(db.checkpointStop, db.checkpointDone)
	if interval := opts.PruneInterval; interval >= 0 {
		if interval == 0 {
			interval = DefaultPruneInterval
		}
		db.prunerStop, db.prunerDone = make(chan struct{}), make(chan struct{})
		go db.pruneLoop(interval, db.prunerStop)
	}
	return db, nil
}

func (db *DB) openWriter(path, params string) (err error) {
	db.wdb, err = sql.Open(driver(), path+"?_journal_mode=WAL&"+params)
	if err != nil {
		return fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	db.wdb.SetMaxOpenConns(1)
	db.wdb.SetMaxIdleConns(1)
	db.wdb.SetConnMaxLifetime(0)
	ctx := context.Background()
	if db.wconn, err = db.wdb.Conn(ctx); err != nil {
		db.wdb.Close()
		return fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	fail := func(err error) error {
		db.wconn.Close()
		db.wdb.Close()
		return err
	}
	var mode string
	if err := db.wconn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fail(fmt.Errorf("read journal mode of %s: %w", path, err))
	}
	if !strings.EqualFold(mode, "wal") {
		return fail(fmt.Errorf("open sqlite database %s: journal mode is %s, not wal", path, mode))
	}
	// The checkpointer (checkpoint.go), not the writer, checkpoints.
	pragmas := fmt.Sprintf("PRAGMA cache_size = -%d; PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %d",
		writerCacheKiB, walSizeLimit)
	if _, err := db.wconn.ExecContext(ctx, pragmas); err != nil {
		return fail(fmt.Errorf("configure writer of %s: %w", path, err))
	}
	if err := migrate(ctx, db.wconn); err != nil {
		return fail(fmt.Errorf("migrate sqlite database %s: %w", path, err))
	}
	if err := db.wconn.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&db.logEnd); err != nil {
		return fail(fmt.Errorf("read the end of the log of %s: %w", path, err))
	}
	db.finished.Store(db.logEnd)
	if db.w, err = newWriter(db.wconn); err != nil {
		return fail(fmt.Errorf("prepare writes on %s: %w", path, err))
	}
	db.w.db = db
	return nil
}

func (db *DB) openReaders(path, params string, n int) (err error) {
	if n <= 0 {
		n = max(4, 2*runtime.NumCPU())
	}
	if db.read, err = sql.Open(driver(), path+"?_query_only=1&"+params); err != nil {
		return fmt.Errorf("open sqlite read pool on %s: %w", path, err)
	}
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	db.read.SetConnMaxLifetime(0)
	if err := db.rs.prepare(db.read); err != nil {
		db.read.Close()
		return fmt.Errorf("prepare reads on %s: %w", path, err)
	}
	return nil
}

// migrate applies the migrations the file has not seen yet, in one transaction. BEGIN IMMEDIATE makes a
// second process opening the same file at the same time wait, then find the work done.
func migrate(ctx context.Context, c *sql.Conn) (err error) {
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(ctx, "ROLLBACK")
		}
	}()
	var version int
	if err := c.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read user_version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this build's %d", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := c.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("apply migration %d: %w", i+1, err)
		}
		if after := afterMigration[i+1]; after != nil {
			if err := after(ctx, c); err != nil {
				return fmt.Errorf("apply migration %d: %w", i+1, err)
			}
		}
	}
	if version < len(migrations) {
		if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
			return fmt.Errorf("set user_version: %w", err)
		}
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Close waits for the writes already submitted to commit, then closes the database. Later calls to
// any method return ErrClosed. It returns the first error met while closing the connections.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	db.mu.Unlock()
	if db.prunerStop != nil {
		// The pruner writes: stop it before the writer's queue closes.
		close(db.prunerStop)
		<-db.prunerDone
	}
	db.mu.Lock()
	close(db.ops)
	db.mu.Unlock()
	<-db.writerDone
	syncErr := db.sync.close()
	close(db.checkpointStop)
	<-db.checkpointDone
	if db.notify != nil {
		db.notify.close()
	}
	// The last connection to close checkpoints the whole WAL and removes it.
	return errors.Join(syncErr, db.w.close(db.wconn), db.ckdb.Close(), db.rs.close(), db.read.Close(), db.wconn.Close(), db.wdb.Close())
}

// op is one write operation: fn runs inside the writer's transaction, in its own savepoint.
type op struct {
	ctx  context.Context // nil for asynchronous ops
	fn   func(w *writer) error
	done chan error // nil: nobody waits (asynchronous)
	// commitOnly: done hears of the commit, not of the sync after it (CommitOnly).
	commitOnly bool
	// msgs collects the messages fn inserted, for OnMessages, and entries the events it appended to
	// the log, for OnLog.
	msgs    []localbus.Message
	entries []localbus.Entry
	// maxSeq is the highest seq of the events fn appended to the log.
	maxSeq int64
	// committed runs in the writer once the transaction holding the op committed (and fn succeeded),
	// before anyone hears of the commit: its caller, OnMessages, OnLog.
	committed []func()
}

// write runs fn in the writer and returns once the transaction holding it is durable, or only committed
// under CommitOnly. fn must do as little as possible: callers encode JSON and compute everything they
// can before calling write.
func (db *DB) write(ctx context.Context, fn func(w *writer) error) error {
	o := freeOps.Get().(*op)
	o.ctx, o.fn, o.commitOnly = ctx, fn, commitOnly(ctx)
	defer o.recycle()
	if err := db.submit(ctx, o); err != nil {
		return err
	}
	// Once submitted the op will run (or be refused if ctx is done by then); its outcome is what
	// the caller must hear, so wait for it even if ctx ends meanwhile.
	return <-o.done
}

// freeOps are the ops of write, reused: every write of every order takes one. An op is answered once, on
// done, by finish or by the syncer, and neither reads it after that (finish has copied its messages and
// entries and run its committed functions before it answers), so once its caller heard the answer the
// op is free again.
var freeOps = sync.Pool{New: func() any { return &op{done: make(chan error, 1)} }}

// recycle returns an answered op of write to freeOps, keeping its channel and its slices' arrays.
func (o *op) recycle() {
	clear(o.msgs)
	clear(o.entries)
	clear(o.committed)
	*o = op{done: o.done, msgs: o.msgs[:0], entries: o.entries[:0], committed: o.committed[:0]}
	freeOps.Put(o)
}

func (db *DB) submit(ctx context.Context, o *op) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	if err := db.sync.failure(); err != nil {
		return err
	}
	select {
	case db.ops <- o:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("submit write: %w", ctx.Err())
	}
}

// writeLoop is the writer goroutine: it takes every op already waiting (up to maxBatch), without
// waiting for more to arrive, and commits them together with the acks waiting.
func (db *DB) writeLoop() {
	defer close(db.writerDone)
	batch := make([]*op, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case o, ok := <-db.ops:
			if !ok {
				// Closing: store the acks already given rather than redeliver their messages later.
				db.runWriterBatch(nil)
				return
			}
			batch = append(batch, o)
		case <-db.ackWake:
		}
		db.sync.await()
	fill:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-db.ops:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		db.copyTail()
		db.runWriterBatch(batch)
		clear(batch) // let the ops be collected
	}
}

// runWriterBatch runs the batch while the writer holds the write connection for its statements.
func (db *DB) runWriterBatch(batch []*op) {
	ran := false
	err := db.w.hold(db.wconn, func() error { ran = true; db.runBatch(batch); return nil })
	if !ran {
		db.finish(batch, make([]error, len(batch)), fmt.Errorf("hold the write connection: %w", err))
	}
}

func (db *DB) runBatch(batch []*op) {
	acks, cursors := db.takeAcks()
	if len(batch) == 0 && len(acks) == 0 && len(cursors) == 0 {
		return
	}
	committed, ackFailed, cursorsFailed := false, false, false
	defer func() {
		db.acked(acks, committed && !ackFailed)
		if !committed || cursorsFailed {
			db.requeueCursors(cursors)
		}
	}()
	w := db.w
	w.now = db.now().UTC()
	errs := make([]error, len(batch))
	if err := w.exec(w.st.begin); err != nil {
		db.finish(batch, errs, fmt.Errorf("begin write transaction: %w", err))
		return
	}
	if len(acks) > 0 {
		// One statement, so no savepoint: if it fails, SQLite undoes it alone and the messages are
		// delivered again, which at-least-once delivery allows.
		if err := w.exec(w.st.deleteMessages, idList(acks)); err != nil {
			if !w.inTransaction() {
				db.finish(batch, errs, fmt.Errorf("ack %d messages: %w", len(acks), err))
				return
			}
			db.log.Error("asynchronous sqlite write failed", "error", fmt.Errorf("ack %d messages: %w", len(acks), err))
			ackFailed = true // not deleted: they are due again
		}
	}
	if len(cursors) > 0 {
		// One statement too; if it fails the cursors are stored with the next batch.
		if err := w.exec(w.st.advanceCursors, cursorList(cursors)); err != nil {
			if !w.inTransaction() {
				db.finish(batch, errs, fmt.Errorf("advance %d cursors: %w", len(cursors), err))
				return
			}
			db.log.Error("asynchronous sqlite write failed", "error", fmt.Errorf("advance %d cursors: %w", len(cursors), err))
			cursorsFailed = true
		}
	}
	for i, o := range batch {
		if o.ctx != nil {
			if err := o.ctx.Err(); err != nil {
				errs[i] = fmt.Errorf("write not started: %w", err)
				continue
			}
		}
		if err := w.exec(w.st.savepoint); err != nil {
			db.abort(batch, errs, fmt.Errorf("open savepoint: %w", err))
			return
		}
		w.cur = o
		err := w.call(o)
		w.cur = nil
		if err != nil {
			o.msgs, o.entries = nil, nil
			if rerr := w.exec(w.st.rollbackTo); rerr != nil {
				db.abort(batch, errs, fmt.Errorf("roll back savepoint after %v: %w", err, rerr))
				return
			}
		}
		if rerr := w.exec(w.st.release); rerr != nil {
			db.abort(batch, errs, fmt.Errorf("release savepoint: %w", rerr))
			return
		}
		errs[i] = err
	}
	db.sync.beginCommit()
	if err := w.exec(w.st.commit); err != nil {
		db.abort(batch, errs, fmt.Errorf("commit write transaction: %w", err))
		return
	}
	committed = true
	db.committedSomething()
	db.finish(batch, errs, nil)
}

// abort rolls back the whole transaction: every op of the batch fails with err.
func (db *DB) abort(batch []*op, errs []error, err error) {
	_ = db.w.exec(db.w.st.rollback)
	db.finish(batch, errs, err)
}

// finish releases the callers of a batch and hands its messages to OnMessages. A non-nil batchErr
// overrides every op's own result: nothing of the batch was stored. Otherwise the batch committed, and
// the callers of its ops hear their outcome once the syncer made it durable, unless they asked only
// for the commit (CommitOnly).
func (db *DB) finish(batch []*op, errs []error, batchErr error) {
	var msgs []localbus.Message
	var entries []localbus.Entry
	var durable []answer
	for i, o := range batch {
		err := errs[i]
		if batchErr != nil {
			err = batchErr
		} else if db.notify != nil {
			msgs = append(msgs, o.msgs...)
			entries = append(entries, o.entries...)
		}
		if err == nil {
			for _, f := range o.committed {
				f()
			}
			if o.maxSeq > db.finished.Load() {
				db.finished.Store(o.maxSeq) // only the writer stores it
			}
		}
		switch {
		case o.done != nil && batchErr == nil && !o.commitOnly:
			// A failed op is answered after the sync too: its error can tell of what the batch
			// committed (a key another request of the batch took).
			durable = append(durable, answer{o.done, err})
		case o.done != nil:
			o.done <- err
		case err != nil:
			db.log.Error("asynchronous sqlite write failed", "error", err)
		}
	}
	db.sync.commit(durable)
	if len(msgs) > 0 || len(entries) > 0 {
		db.notify.push(msgs, entries)
	}
}

// wake signals ch (capacity 1) without blocking: a signal already waiting stands for this one too.
func wake(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// takeAcks returns the acks and the cursor moves waiting for the writer.
func (db *DB) takeAcks() ([]int64, map[string]int64) {
	db.ackMu.Lock()
	defer db.ackMu.Unlock()
	ids, cursors := db.ackQueue, db.cursorQueue
	db.ackQueue, db.cursorQueue = nil, nil
	return ids, cursors
}

// requeueCursors gives the cursor moves of a batch that did not store them back to the next one.
func (db *DB) requeueCursors(cursors map[string]int64) {
	if len(cursors) == 0 {
		return
	}
	db.ackMu.Lock()
	for target, seq := range cursors {
		db.queueCursor(target, seq)
	}
	db.ackMu.Unlock()
	wake(db.ackWake)
}

// queueCursor records a cursor move for the writer, keeping the highest per target. The caller holds
// ackMu.
func (db *DB) queueCursor(target string, seq int64) {
	if db.cursorQueue == nil {
		db.cursorQueue = map[string]int64{}
	}
	if seq > db.cursorQueue[target] {
		db.cursorQueue[target] = seq
	}
}

// acked ends the acks of a batch. When the batch committed their rows are gone, and they are kept in
// deleted for the reads that started before; otherwise Due may hand them out again, since they must be
// delivered again.
func (db *DB) acked(ids []int64, committed bool) {
	if len(ids) == 0 {
		return
	}
	db.ackMu.Lock()
	for _, id := range ids {
		delete(db.acking, id)
		if committed {
			db.deleted.Add(id)
		}
	}
	db.ackMu.Unlock()
}

// idList encodes ids as a JSON array, which the deleteMessages statement reads with json_each: one
// statement however many ids.
func idList(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// cursorList encodes cursors as a JSON object of target to position, which the advanceCursors statement
// reads with json_each.
func cursorList(cursors map[string]int64) string {
	b, _ := gojson.Marshal(cursors) // a map of strings to integers always encodes
	return string(b)
}

// handoff hands messages to OnMessages and log entries to OnLog from its own goroutine, so that a slow
// or re-entrant callback can never stall or deadlock the writer.
type handoff struct {
	onMessages func([]localbus.Message)
	onLog      func([]localbus.Entry)
	mu         sync.Mutex
	cond       *sync.Cond
	pending    []localbus.Message
	entries    []localbus.Entry
	closed     bool
	done       chan struct{}
}

func newHandoff(onMessages func([]localbus.Message), onLog func([]localbus.Entry)) *handoff {
	n := &handoff{onMessages: onMessages, onLog: onLog, done: make(chan struct{})}
	n.cond = sync.NewCond(&n.mu)
	go n.loop()
	return n
}

func (n *handoff) push(msgs []localbus.Message, entries []localbus.Entry) {
	n.mu.Lock()
	if n.onMessages != nil {
		n.pending = append(n.pending, msgs...)
	}
	if n.onLog != nil {
		n.entries = append(n.entries, entries...)
	}
	n.mu.Unlock()
	n.cond.Signal()
}

func (n *handoff) loop() {
	defer close(n.done)
	for {
		n.mu.Lock()
		for len(n.pending) == 0 && len(n.entries) == 0 && !n.closed {
			n.cond.Wait()
		}
		if n.closed {
			n.mu.Unlock()
			return
		}
		msgs, entries := n.pending, n.entries
		n.pending, n.entries = nil, nil
		n.mu.Unlock()
		if len(msgs) > 0 {
			n.onMessages(msgs)
		}
		if len(entries) > 0 {
			n.onLog(entries)
		}
	}
}

func (n *handoff) close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.cond.Signal()
	<-n.done
}
