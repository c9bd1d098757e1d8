// Package localbus delivers the local runtime's messages: the events on the bus and the orders on the
// ingest queue. Published events form a durable log; each target that subscribes to the log keeps one
// cursor in it, and the Engine delivers every event the router names the target for, in process, at
// least once. Fresh events are handed to the engine right after their commit; the log is read from the
// cursors after a restart, or when the in-memory hand-off overflowed. Only failures leave the log: a
// failed delivery becomes a message in the durable Mailbox, which also holds the ingest queue, and is
// retried with exponential backoff until it succeeds or is moved to the dead-letter table.
package localbus

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/orderflow/orderflow/services/fault"
)

// MessageHandler handles one message. An error asks for a retry, unless fault.Retryable says retrying is
// pointless, in which case the message is dead-lettered at once.
type MessageHandler func(ctx context.Context, m Message) error

// Options tune an Engine. Zero values take the defaults.
type Options struct {
	// MaxAttempts is how many deliveries a message gets before it is dead-lettered (default 8).
	MaxAttempts int
	// BaseBackoff is the wait after the first failure; it doubles with each attempt (default 100ms).
	BaseBackoff time.Duration
	// MaxBackoff caps the wait (default 30s).
	MaxBackoff time.Duration
	// Workers is how many messages are handled at once (default 128). Handlers mostly wait for the
	// store's group commit, so more of them make bigger, cheaper commits: 128 delivered about a third
	// more orders per second than 64, at the price of a smaller share of the writer for new orders.
	Workers int
	// PollInterval is how often the mailbox is scanned for messages that were not handed over in-process
	// (left from before a restart, redriven from the dead-letter table, or beyond the in-memory buffer),
	// and the log for events that were not (default 500ms).
	PollInterval time.Duration
	// Logger receives delivery failures (default slog.Default()).
	Logger *slog.Logger
	// Observe, if set, is told the outcome of every delivery: "ok", "retry" or "dead".
	Observe func(target, outcome string)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Engine delivers messages from a Mailbox, and the events of its log, to the handlers registered per
// target.
type Engine struct {
	mb       Mailbox
	opts     Options
	handlers map[string]MessageHandler
	// subscribed are the targets that read the log (Subscribe), in registration order.
	subscribed []string
	queue      chan delivery
	// logWake (capacity 1) tells the feeder that OfferLog buffered entries.
	logWake chan struct{}
	// quit is closed when Run stops, to end the re-queues of log deliveries waiting for room.
	quit chan struct{}

	mu       sync.Mutex
	inflight map[int64]bool
	// finished remembers recently delivered or buried ids. A scan that started before a message was
	// handed over in process can return it after that delivery has finished (and left inflight); ids
	// are never reused, so refusing a recently finished id is always right. (The mailbox separately
	// hides messages whose ack is not yet durable; that is its own race, one level down.)
	finished *RecentIDs
	timers   map[*time.Timer]struct{}
	wg       sync.WaitGroup
	log      logState
}

// logState is where the engine is in the log. It is guarded by Engine.mu; head is written only by the
// feeder goroutine.
type logState struct {
	// head is the highest position dispatched: every event up to head has been handed to the workers
	// for each of its targets (or is behind that target's cursor).
	head int64
	// buf holds the entries handed over by OfferLog, waiting for the feeder; overflow says some were
	// dropped because buf was full, so the feeder must read the log instead.
	buf      []Entry
	overflow bool
	targets  map[string]*targetLog
	// unrouted remembers the targets the router named that nobody subscribed, reported once each.
	unrouted map[string]bool
}

// targetLog is one target's progress in the log.
type targetLog struct {
	// start is the cursor read when the engine started: events up to it are not delivered again.
	start int64
	// pending are the positions dispatched to the target and not finished yet, increasing; done marks
	// those of them that finished out of order.
	pending []int64
	done    map[int64]bool
	// advanced is the cursor last given to Mailbox.Advance.
	advanced int64
}

// cursor is the highest position below which every event for the target has been handled: just below
// the oldest delivery still under way, or the head when none is.
func (t *targetLog) cursor(head int64) int64 {
	c := head
	if len(t.pending) > 0 {
		c = t.pending[0] - 1
	}
	return max(c, t.start)
}

// maxLogBuffer bounds the entries handed over in process and not yet dispatched; beyond it the feeder
// reads them from the log.
const maxLogBuffer = 1 << 16

// logPage is how many events one read of the log returns.
const logPage = 1000

// NewEngine returns an engine over mb. Register handlers with Handle before calling Run.
func NewEngine(mb Mailbox, opts Options) *Engine {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 128
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 500 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Engine{
		mb: mb, opts: opts, handlers: map[string]MessageHandler{},
		queue:    make(chan delivery, 16384),
		logWake:  make(chan struct{}, 1),
		quit:     make(chan struct{}),
		inflight: map[int64]bool{}, timers: map[*time.Timer]struct{}{}, finished: NewRecentIDs(1 << 16),
		log: logState{targets: map[string]*targetLog{}, unrouted: map[string]bool{}},
	}
}

// Handle registers the handler of a target. Cross-cutting concerns (correlation, logging) are
// pipeline middleware around event handlers; the engine itself only adds retries and dead-lettering.
func (e *Engine) Handle(target string, h MessageHandler) {
	e.handlers[target] = h
}

// Subscribe registers the handler of a target that reads the log: it gets every event the router names
// it for, from its cursor on, and its own retries from the mailbox. Call it before Run.
func (e *Engine) Subscribe(target string, h MessageHandler) {
	if !slices.Contains(e.subscribed, target) {
		e.subscribed = append(e.subscribed, target)
	}
	e.handlers[target] = h
}

// OfferLog hands freshly committed events of the log to the engine for immediate delivery, in log
// order. It never blocks: beyond the in-memory buffer, the feeder reads the log instead. It is meant
// to be called from the store's after-commit hook.
func (e *Engine) OfferLog(entries []Entry) {
	if len(e.subscribed) == 0 || len(entries) == 0 {
		return
	}
	e.mu.Lock()
	if !e.log.overflow && len(e.log.buf)+len(entries) <= maxLogBuffer {
		e.log.buf = append(e.log.buf, entries...)
	} else {
		e.log.overflow = true
	}
	e.mu.Unlock()
	select {
	case e.logWake <- struct{}{}:
	default:
	}
}

// Offer hands freshly committed messages to the engine for immediate delivery. It never blocks: what
// does not fit in the in-memory buffer is left for the next mailbox scan. It is meant to be called from
// the store's after-commit hook.
func (e *Engine) Offer(msgs []Message) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range msgs {
		if e.inflight[m.ID] || e.finished.Has(m.ID) {
			continue
		}
		select {
		case e.queue <- delivery{m: m}:
			e.inflight[m.ID] = true
		default:
			return
		}
	}
}

// Run delivers messages until ctx is cancelled, then waits for the deliveries under way to finish.
// Messages still waiting stay in the mailbox, and events not yet handled stay in the log after their
// targets' cursors: both are delivered after the next start. It returns an error only when the cursors
// of the subscribed targets cannot be read at the start.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.startLog(ctx); err != nil {
		return err
	}
	workCtx := context.WithoutCancel(ctx) // a handler under way finishes even during shutdown
	var workers sync.WaitGroup
	for range e.opts.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case d := <-e.queue:
					ctx := workCtx
					if d.event != nil {
						ctx = context.WithValue(ctx, sharedEventKey{}, d.event)
					}
					e.deliver(ctx, d.m)
				}
			}
		}()
	}
	if len(e.subscribed) > 0 {
		workers.Add(1)
		go func() { defer workers.Done(); e.feed(ctx, workCtx) }()
	}
	e.scan(ctx)
	t := time.NewTicker(e.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			workers.Wait()
			close(e.quit)
			e.stopTimers()
			e.wg.Wait()
			return nil
		case <-t.C:
			e.scan(ctx)
		}
	}
}

// startLog reads the cursors of the subscribed targets; the log is dispatched from the lowest of them.
func (e *Engine) startLog(ctx context.Context) error {
	if len(e.subscribed) == 0 {
		return nil
	}
	cursors, err := e.mb.Cursors(ctx, e.subscribed)
	if err != nil {
		return fmt.Errorf("read the cursors of the log: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, target := range e.subscribed {
		c := cursors[target]
		e.log.targets[target] = &targetLog{start: c, advanced: c, done: map[int64]bool{}}
		if i == 0 || c < e.log.head {
			e.log.head = c
		}
	}
	return nil
}

// feed is the feeder goroutine: it dispatches the log to the workers, from the entries handed over in
// process while they follow on from the head, and from the log itself after a gap or an overflow, at
// the start and at every poll. It blocks while the workers' queue is full.
func (e *Engine) feed(ctx, workCtx context.Context) {
	t := time.NewTicker(e.opts.PollInterval)
	defer t.Stop()
	read := true // catch up from the cursors first
	for {
		if !e.feedOnce(ctx, workCtx, read) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-e.logWake:
			read = false
		case <-t.C:
			read = true
		}
	}
}

// feedOnce dispatches what was handed over and, when read is set or something was missed, what the log
// holds after the head. It returns false when ctx ended.
func (e *Engine) feedOnce(ctx, workCtx context.Context, read bool) bool {
	e.mu.Lock()
	buf := e.log.buf
	e.log.buf = nil
	if e.log.overflow {
		read, e.log.overflow = true, false
	}
	e.mu.Unlock()
	for i, en := range buf {
		if en.Seq <= e.log.head {
			continue // read from the log already
		}
		if en.Seq != e.log.head+1 {
			// Something between the head and this entry was not handed over (dropped, or committed
			// before the engine listened): the log has it, and everything after it.
			read = true
			break
		}
		if !e.dispatch(ctx, en) {
			return false
		}
		if i%logPage == logPage-1 {
			e.advanceAll(workCtx)
		}
	}
	for read {
		entries, err := e.mb.Log(ctx, e.log.head, logPage)
		if err != nil {
			if ctx.Err() == nil {
				e.opts.Logger.Error("read the log", "after", e.log.head, "err", err)
			}
			break // the next poll tries again
		}
		for _, en := range entries {
			if en.Seq <= e.log.head {
				continue
			}
			if !e.dispatch(ctx, en) {
				return false
			}
		}
		e.advanceAll(workCtx)
		read = len(entries) == logPage
	}
	e.advanceAll(workCtx)
	return ctx.Err() == nil
}

// dispatch hands one event of the log to the workers, once per target it is for that has not handled it
// yet, and moves the head onto it. The deliveries are pending before the head moves, so no cursor can
// pass them. It returns false when ctx ended before every delivery was queued; the ones left out stay
// pending, so the event is delivered again after the next start.
func (e *Engine) dispatch(ctx context.Context, en Entry) bool {
	var msgs []delivery
	var shared *sharedEvent
	if len(en.Targets) > 1 || en.Event != nil {
		shared = &sharedEvent{seq: en.Seq, body: en.Body, event: en.Event}
	}
	e.mu.Lock()
	for _, target := range en.Targets {
		tl := e.log.targets[target]
		if tl == nil {
			if !e.log.unrouted[target] {
				e.log.unrouted[target] = true
				e.opts.Logger.Error("events are routed to a target nobody subscribed; they are not delivered to it", "target", target, "seq", en.Seq)
			}
			continue
		}
		if en.Seq <= tl.start {
			continue
		}
		tl.pending = append(tl.pending, en.Seq)
		msgs = append(msgs, delivery{m: Message{Target: target, Body: en.Body, Seq: en.Seq}, event: shared})
	}
	e.log.head = en.Seq
	e.mu.Unlock()
	for _, d := range msgs {
		select {
		case e.queue <- d:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// advanceAll gives the mailbox the cursors that moved.
func (e *Engine) advanceAll(ctx context.Context) {
	var moved []Cursor
	e.mu.Lock()
	for _, target := range e.subscribed {
		tl := e.log.targets[target]
		if c := tl.cursor(e.log.head); c > tl.advanced {
			tl.advanced = c
			moved = append(moved, Cursor{Target: target, Seq: c})
		}
	}
	e.mu.Unlock()
	e.advance(ctx, moved...)
}

func (e *Engine) advance(ctx context.Context, cursors ...Cursor) {
	if len(cursors) == 0 {
		return
	}
	if err := e.mb.Advance(ctx, cursors...); err != nil {
		// Not moved: the events since the durable cursor are delivered again after a restart.
		e.opts.Logger.Error("advance cursors", "cursors", cursors, "err", err)
	}
}

// handled ends a delivery from the log: the target's cursor may move past it.
func (e *Engine) handled(ctx context.Context, m Message) {
	e.mu.Lock()
	tl := e.log.targets[m.Target]
	tl.done[m.Seq] = true
	for len(tl.pending) > 0 && tl.done[tl.pending[0]] {
		delete(tl.done, tl.pending[0])
		tl.pending = tl.pending[1:]
	}
	c := tl.cursor(e.log.head)
	moved := c > tl.advanced
	if moved {
		tl.advanced = c
	}
	e.mu.Unlock()
	if moved {
		e.advance(ctx, Cursor{Target: m.Target, Seq: c})
	}
}

// scan loads due messages that are not already being delivered.
func (e *Engine) scan(ctx context.Context) {
	for {
		e.mu.Lock()
		skip := make(map[int64]bool, len(e.inflight))
		for id := range e.inflight {
			skip[id] = true
		}
		room := cap(e.queue) - len(e.queue)
		e.mu.Unlock()
		if room <= 0 {
			return
		}
		msgs, err := e.mb.Due(ctx, e.opts.Now(), min(room, 1000), skip)
		if err != nil {
			if ctx.Err() == nil {
				e.opts.Logger.Error("scan mailbox", "err", err)
			}
			return
		}
		e.Offer(msgs)
		if len(msgs) < min(room, 1000) {
			return
		}
	}
}

func (e *Engine) deliver(ctx context.Context, m Message) {
	h, ok := e.handlers[m.Target]
	var err error
	if !ok {
		err = fault.Invalidf("no handler for target %q", m.Target)
	} else {
		err = safeCall(ctx, h, m)
	}
	if m.ID == 0 {
		e.deliveredFromLog(ctx, m, err)
		return
	}
	if err == nil {
		if ackErr := e.mb.Ack(ctx, m.ID); ackErr != nil {
			e.opts.Logger.Error("ack message", "id", m.ID, "target", m.Target, "err", ackErr)
		}
		e.done(m.ID, "ok", m.Target)
		return
	}
	attempts := m.Attempts + 1
	if !fault.Retryable(err) || attempts >= e.opts.MaxAttempts {
		e.opts.Logger.Error("message dead-lettered", "id", m.ID, "target", m.Target, "attempts", attempts, "err", err)
		m.Attempts = attempts
		if buryErr := e.mb.Bury(ctx, m, err.Error()); buryErr != nil {
			// Still in the mailbox: let the next scan hand it out again (and try to bury it again)
			// rather than count it as finished, which would strand it.
			e.opts.Logger.Error("bury message", "id", m.ID, "err", buryErr)
			e.mu.Lock()
			delete(e.inflight, m.ID)
			e.mu.Unlock()
			return
		}
		e.done(m.ID, "dead", m.Target)
		return
	}
	wait := e.backoff(attempts)
	e.opts.Logger.Warn("message delivery failed, will retry", "id", m.ID, "target", m.Target, "attempt", attempts, "retry_in", wait, "err", err)
	if rErr := e.mb.Retry(ctx, m.ID, attempts, e.opts.Now().Add(wait), err.Error()); rErr != nil {
		e.opts.Logger.Error("record retry", "id", m.ID, "err", rErr)
	}
	e.observe(m.Target, "retry")
	m.Attempts, m.LastError = attempts, err.Error()
	e.later(m, wait)
}

// deliveredFromLog ends a delivery of an event read from the log. A failure goes to the mailbox (or
// straight to the dead letters), durably, before the target's cursor may pass it; while that write
// fails, the delivery stays pending and is tried again in process.
func (e *Engine) deliveredFromLog(ctx context.Context, m Message, err error) {
	if err == nil {
		e.handled(ctx, m)
		e.observe(m.Target, "ok")
		return
	}
	attempts := m.Attempts + 1
	if !fault.Retryable(err) || attempts >= e.opts.MaxAttempts {
		e.opts.Logger.Error("event dead-lettered", "seq", m.Seq, "target", m.Target, "attempts", attempts, "err", err)
		m.Attempts = attempts
		if buryErr := e.mb.Bury(ctx, m, err.Error()); buryErr != nil {
			e.opts.Logger.Error("bury event", "seq", m.Seq, "target", m.Target, "err", buryErr)
			e.later(m, e.backoff(attempts)) // delivered again, and buried again when it fails again
			return
		}
		e.handled(ctx, m)
		e.observe(m.Target, "dead")
		return
	}
	wait := e.backoff(attempts)
	e.opts.Logger.Warn("event delivery failed, will retry", "seq", m.Seq, "target", m.Target, "attempt", attempts, "retry_in", wait, "err", err)
	id, dErr := e.mb.Defer(ctx, m.Target, m.Seq, attempts, e.opts.Now().Add(wait), err.Error())
	e.observe(m.Target, "retry")
	m.Attempts, m.LastError = attempts, err.Error()
	if dErr != nil {
		e.opts.Logger.Error("record retry", "seq", m.Seq, "target", m.Target, "err", dErr)
		e.later(m, wait) // still pending in the log
		return
	}
	// From now on it is a message of the mailbox like any other retry.
	e.mu.Lock()
	e.inflight[id] = true
	e.mu.Unlock()
	e.handled(ctx, m)
	m.ID, m.Seq = id, 0
	e.later(m, wait)
}

// later queues m again after wait. A mailbox message that finds the queue full is left for the next
// scan; a delivery from the log, which no scan would find, waits for room.
func (e *Engine) later(m Message, wait time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(wait, func() {
		defer e.wg.Done()
		e.mu.Lock()
		delete(e.timers, t)
		e.mu.Unlock()
		if m.ID == 0 {
			select {
			case e.queue <- delivery{m: m}:
			case <-e.quit: // stopping: it stays pending, so it is delivered after the next start
			}
			return
		}
		select {
		case e.queue <- delivery{m: m}:
		default: // buffer full: forget it here, the next scan finds it due
			e.mu.Lock()
			delete(e.inflight, m.ID)
			e.mu.Unlock()
		}
	})
	e.timers[t] = struct{}{}
}

func (e *Engine) observe(target, outcome string) {
	if e.opts.Observe != nil {
		e.opts.Observe(target, outcome)
	}
}

func (e *Engine) done(id int64, outcome, target string) {
	e.mu.Lock()
	delete(e.inflight, id)
	e.finished.Add(id)
	e.mu.Unlock()
	e.observe(target, outcome)
}

func (e *Engine) stopTimers() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for t := range e.timers {
		if t.Stop() {
			e.wg.Done()
		}
		delete(e.timers, t)
	}
}

// backoff is exponential with full jitter between half and all of the step, capped at MaxBackoff.
func (e *Engine) backoff(attempt int) time.Duration {
	d := e.opts.BaseBackoff << min(attempt-1, 20)
	if d <= 0 || d > e.opts.MaxBackoff {
		d = e.opts.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// safeCall turns a handler panic into an error, so that one bad message cannot stop the engine.
func safeCall(ctx context.Context, h MessageHandler, m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler for %s panicked: %v", m.Target, r)
		}
	}()
	return h(ctx, m)
}

// RecentIDs is a bounded set of the last n message ids added. Message ids are never reused, so
// "recently delivered" or "recently deleted" is a safe thing to remember with bounded memory. It is not
// safe for concurrent use: callers hold their own lock.
type RecentIDs struct {
	set  map[int64]struct{}
	ring []int64
	next int
}

// NewRecentIDs returns an empty set remembering the last n ids.
func NewRecentIDs(n int) *RecentIDs {
	return &RecentIDs{set: make(map[int64]struct{}, n), ring: make([]int64, n)}
}

// Has reports whether id is among the last n added.
func (r *RecentIDs) Has(id int64) bool {
	_, ok := r.set[id]
	return ok
}

// Add remembers id, forgetting the oldest one when full.
func (r *RecentIDs) Add(id int64) {
	if old := r.ring[r.next]; old != 0 {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.set[id] = struct{}{}
}
