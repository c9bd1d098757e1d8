package webhook

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/orderflow/orderflow/contracts"
)

// DefaultKeep is how many recent attempts a Log keeps per subscription when NewLog is given no bound.
const DefaultKeep = 50

// maxErrorLength bounds the error an attempt records, in bytes, so that the log stays small whatever
// an endpoint answers.
const maxErrorLength = 200

// Log remembers, per subscription, how many delivery attempts succeeded and failed since it was made
// and the most recent attempts, for the operations console. It lives in memory: a restart starts it
// afresh (the dead-letter table is what keeps failed events). It is safe for concurrent use; a nil
// *Log records nothing.
type Log struct {
	keep int
	mu   sync.Mutex // guards subs
	subs map[string]*subscriptionLog
}

// subscriptionLog is one subscription's part of a Log.
type subscriptionLog struct {
	sub  Subscription
	mu   sync.Mutex // guards what follows
	ok   int64
	fail int64
	// recent is a ring of up to keep attempts; next is where the next one goes once it is full.
	recent []contracts.Delivery
	next   int
}

// NewLog returns a log of the subscriptions' deliveries keeping the keep most recent attempts of each
// (DefaultKeep when keep is not positive).
func NewLog(subs []Subscription, keep int) *Log {
	if keep <= 0 {
		keep = DefaultKeep
	}
	l := &Log{keep: keep, subs: make(map[string]*subscriptionLog, len(subs))}
	for _, s := range subs {
		l.subscription(s)
	}
	return l
}

// subscription returns the log of s, adding it when the log does not know it yet; nil for a nil Log.
func (l *Log) subscription(s Subscription) *subscriptionLog {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	sl, ok := l.subs[s.Name]
	if !ok {
		sl = &subscriptionLog{sub: s, recent: make([]contracts.Delivery, 0, l.keep)}
		l.subs[s.Name] = sl
	}
	return sl
}

// Subscriptions returns every subscription with its counts and recent attempts, by name; each one's
// Recent is newest first, and empty (not nil) before its first attempt.
func (l *Log) Subscriptions() []contracts.Subscription {
	out := []contracts.Subscription{}
	if l == nil {
		return out
	}
	l.mu.Lock()
	logs := make([]*subscriptionLog, 0, len(l.subs))
	for _, sl := range l.subs {
		logs = append(logs, sl)
	}
	l.mu.Unlock()
	slices.SortFunc(logs, func(a, b *subscriptionLog) int { return strings.Compare(a.sub.Name, b.sub.Name) })
	for _, sl := range logs {
		out = append(out, sl.snapshot())
	}
	return out
}

// snapshot copies the subscription's log. The secret is not part of it.
func (sl *subscriptionLog) snapshot() contracts.Subscription {
	s := contracts.Subscription{
		Name: sl.sub.Name, Endpoint: sl.sub.Endpoint, EventPattern: slices.Clone(sl.sub.EventPattern),
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	s.Delivered, s.Failed = sl.ok, sl.fail
	s.Recent = make([]contracts.Delivery, 0, len(sl.recent))
	// Newest first: back from the last one written, wrapping around the ring.
	for i := range len(sl.recent) {
		s.Recent = append(s.Recent, sl.recent[(sl.next-1-i+2*len(sl.recent))%len(sl.recent)])
	}
	return s
}

// record adds one attempt; a nil subscriptionLog (of a nil Log) records nothing.
func (sl *subscriptionLog) record(d contracts.Delivery) {
	if sl == nil {
		return
	}
	d.Error = shorten(d.Error)
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if d.OK {
		sl.ok++
	} else {
		sl.fail++
	}
	if len(sl.recent) < cap(sl.recent) {
		sl.recent = append(sl.recent, d)
		sl.next = len(sl.recent) % cap(sl.recent)
		return
	}
	sl.recent[sl.next] = d
	sl.next = (sl.next + 1) % len(sl.recent)
}

// shorten bounds an error text to maxErrorLength bytes of valid UTF-8 on one line.
func shorten(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "�")), " ")
	if len(s) <= maxErrorLength {
		return s
	}
	cut := maxErrorLength
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
