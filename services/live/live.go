// Package live is the operations console's view of the pipeline right now: how many orders are in each
// status, how many were created, completed and failed per second over the last minutes with their
// create→COMPLETED latency, the failures by stage and code, and a feed of the events the server
// publishes. The runtime feeds it each accepted order and each committed status change, so nothing is
// polled: counts start from one count of the store and move with every change after.
package live

import (
	"context"
	"sort"
	"sync"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/order"
)

// DefaultWindow is how far back the per-second series goes.
const DefaultWindow = 5 * time.Minute

// maxSamples bounds the latencies kept per second: beyond it, samples replace earlier ones at random
// positions so that the percentiles stay representative (reservoir sampling).
const maxSamples = 512

// subscriberBuffer is how many events a slow stream may fall behind before events are dropped for it.
// The snapshots it receives stay complete: only the feed of individual events thins out.
const subscriberBuffer = 256

// deadLetterCacheTTL bounds how often the dead letters are counted, however many consoles watch.
const deadLetterCacheTTL = time.Second

// Options configure a Board.
type Options struct {
	// Window is how far back the series goes (default DefaultWindow).
	Window time.Duration
	// DeadLetters counts the dead letters (optional).
	DeadLetters func(ctx context.Context) (int, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// second is one second of the series.
type second struct {
	unix                       int64
	created, completed, failed int
	latencies                  []float64 // milliseconds, at most maxSamples
	seen                       int       // latencies observed, for the reservoir
	// p50 and p99 of latencies, computed by the first Snapshot after the last sample (stale: to do), so
	// that a second is sorted once, not once per stream and per snapshot while it is in the window.
	p50, p99 float64
	stale    bool
}

// Board aggregates the pipeline's state. It is safe for concurrent use.
type Board struct {
	opts Options

	mu       sync.Mutex
	counts   map[order.Status]int64
	failures map[[2]string]int64
	series   []second // ring, indexed by unix second modulo its length
	subs     map[chan contracts.LiveEvent]struct{}
	closed   bool
	rng      uint64

	dlMu    sync.Mutex
	dlAt    time.Time
	dlCount int
}

// New returns a board starting from the given counts per status (from the store; missing statuses are
// zero).
func New(counts map[order.Status]int64, opts Options) *Board {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	opts.Window = max(opts.Window, time.Second)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Board{
		opts: opts, counts: map[order.Status]int64{}, failures: map[[2]string]int64{},
		series: make([]second, int(opts.Window/time.Second)), subs: map[chan contracts.LiveEvent]struct{}{},
		rng: uint64(opts.Now().UnixNano()) | 1,
	}
	for s, n := range counts {
		b.counts[s] = n
	}
	return b
}

// slot returns the series entry of the second of t, resetting it if it held an older second, or nil
// when t is outside the window (older than it, or later than the next second by the clock), which must
// not wipe a newer second that shares the entry. The caller holds b.mu.
func (b *Board) slot(t time.Time) *second {
	u, now := t.Unix(), b.opts.Now().Unix()
	n := int64(len(b.series))
	if u <= now-n || u > now+1 {
		return nil
	}
	s := &b.series[int(u%n)]
	switch {
	case s.unix == u:
	case s.unix < u:
		*s = second{unix: u, latencies: s.latencies[:0]}
	default:
		return nil
	}
	return s
}

// Accepted records an order the API accepted (stored as PENDING) at t.
func (b *Board) Accepted(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.counts[order.Pending]++
	if s := b.slot(t); s != nil {
		s.created++
	}
}

// Changed records a committed status change of o from the status from to its current one. The time of
// the change is the last entry of its history.
func (b *Board) Changed(from order.Status, o *order.Order) {
	to := o.Status()
	if from == to {
		return
	}
	at := b.opts.Now()
	if c, ok := o.LastChange(); ok {
		at = c.At
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.counts[from]--
	b.counts[to]++
	switch to {
	case order.Completed:
		if s := b.slot(at); s != nil {
			s.completed++
			b.sample(s, float64(at.Sub(o.CreatedAt()))/float64(time.Millisecond))
		}
	case order.Failed:
		if s := b.slot(at); s != nil {
			s.failed++
		}
		if f := o.Failure(); f != nil {
			b.failures[[2]string{f.Stage, f.Code}]++
		}
	}
}

// sample adds a latency to the second's reservoir. The caller holds b.mu.
func (b *Board) sample(s *second, ms float64) {
	s.seen++
	s.stale = true
	if len(s.latencies) < maxSamples {
		s.latencies = append(s.latencies, ms)
		return
	}
	// xorshift: no lock or allocation, and good enough to pick which sample to replace.
	b.rng ^= b.rng << 13
	b.rng ^= b.rng >> 7
	b.rng ^= b.rng << 17
	if i := int(b.rng % uint64(s.seen)); i < maxSamples {
		s.latencies[i] = ms
	}
}

// Published hands events the server published to every stream. A stream that has fallen
// subscriberBuffer events behind misses the newer ones.
func (b *Board) Published(events ...contracts.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.subs) == 0 {
		return
	}
	for _, e := range events {
		le := Event(e)
		for ch := range b.subs {
			select {
			case ch <- le:
			default:
			}
		}
	}
}

// Event is the feed entry of an event.
func Event(e contracts.Event) contracts.LiveEvent {
	le := contracts.LiveEvent{ID: e.ID, DetailType: e.DetailType, Source: e.Source, Time: e.Time}
	// One decoding gives both: the order is the first resource, as pipeline.EventOrderID reads it, or
	// else the detail's.
	var meta contracts.DetailMeta
	_ = jsonv1.Unmarshal(e.Detail, &meta) // a detail that is not one leaves both empty
	le.OrderID, le.Reference = meta.OrderID, meta.Reference
	if len(e.Resources) > 0 && e.Resources[0] != "" {
		le.OrderID = e.Resources[0]
	}
	return le
}

// Subscribe returns a feed of the events published from now on, and the function that ends it. The
// channel is closed when the feed ends or the board is closed.
func (b *Board) Subscribe() (<-chan contracts.LiveEvent, func()) {
	ch := make(chan contracts.LiveEvent, subscriberBuffer)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(ch)
		return ch, func() {}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if _, ok := b.subs[ch]; ok {
				delete(b.subs, ch)
				close(ch)
			}
		})
	}
}

// Close ends every feed, so that the streams reading them return (a server shutting down waits for
// its requests).
func (b *Board) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}

// Snapshot returns the state right now.
func (b *Board) Snapshot(ctx context.Context) (contracts.LiveSnapshot, error) {
	dl, err := b.deadLetters(ctx)
	if err != nil {
		return contracts.LiveSnapshot{}, err
	}
	now := b.opts.Now().UTC()
	snap := contracts.LiveSnapshot{At: now, DeadLetters: dl, Statuses: make([]contracts.StatusCount, 0, len(order.Statuses))}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range order.Statuses {
		snap.Statuses = append(snap.Statuses, contracts.StatusCount{Status: string(s), Count: max(b.counts[s], 0)})
	}
	snap.Failures = make([]contracts.FailureCount, 0, len(b.failures))
	for k, n := range b.failures {
		snap.Failures = append(snap.Failures, contracts.FailureCount{Stage: k[0], Code: k[1], Count: n})
	}
	sort.Slice(snap.Failures, func(i, j int) bool {
		a, c := snap.Failures[i], snap.Failures[j]
		if a.Count != c.Count {
			return a.Count > c.Count
		}
		if a.Stage != c.Stage {
			return a.Stage < c.Stage
		}
		return a.Code < c.Code
	})
	n := int64(len(b.series))
	end := now.Unix()
	snap.Series = make([]contracts.LiveSecond, 0, n)
	for u := end - n + 1; u <= end; u++ {
		ls := contracts.LiveSecond{At: time.Unix(u, 0).UTC()}
		if s := &b.series[int(u%n)]; s.unix == u {
			ls.Created, ls.Completed, ls.Failed = s.created, s.completed, s.failed
			if len(s.latencies) > 0 {
				if s.stale {
					s.p50, s.p99 = percentiles(s.latencies)
					s.stale = false
				}
				p50, p99 := s.p50, s.p99
				ls.LatencyP50Ms, ls.LatencyP99Ms = &p50, &p99
			}
		}
		snap.Series = append(snap.Series, ls)
	}
	return snap, nil
}

// deadLetters counts the dead letters, at most once per deadLetterCacheTTL.
func (b *Board) deadLetters(ctx context.Context) (int, error) {
	if b.opts.DeadLetters == nil {
		return 0, nil
	}
	b.dlMu.Lock()
	defer b.dlMu.Unlock()
	now := b.opts.Now()
	if !b.dlAt.IsZero() && now.Sub(b.dlAt) < deadLetterCacheTTL {
		return b.dlCount, nil
	}
	n, err := b.opts.DeadLetters(ctx)
	if err != nil {
		return 0, err
	}
	b.dlAt, b.dlCount = now, n
	return n, nil
}

// percentiles returns the 50th and 99th percentile (nearest rank) of the samples.
func percentiles(samples []float64) (p50, p99 float64) {
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	rank := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return rank(0.50), rank(0.99)
}
