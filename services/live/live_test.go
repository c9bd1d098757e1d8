package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/live"
	"github.com/orderflow/orderflow/services/order"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func newOrder(t *testing.T, id string, at time.Time) *order.Order {
	t.Helper()
	o, err := order.New(order.Draft{ID: id, CustomerID: "c1", Items: []order.Item{{ProductID: "P", Name: "p", Quantity: 1, Price: 100}}, Total: 100, Currency: "EUR"}, at)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// step applies one transition and tells the board, as the runtime does after each commit.
func step(t *testing.T, b *live.Board, o *order.Order, fn func(o *order.Order) error) {
	t.Helper()
	from := o.Status()
	if err := fn(o); err != nil {
		t.Fatal(err)
	}
	b.Changed(from, o)
}

func counts(s contracts.LiveSnapshot) map[string]int64 {
	m := map[string]int64{}
	for _, c := range s.Statuses {
		m[c.Status] = c.Count
	}
	return m
}

func TestBoardFollowsOrdersThroughThePipeline(t *testing.T) {
	now := t0
	b := live.New(map[order.Status]int64{order.Completed: 10, order.Pending: 1}, live.Options{
		Now:         func() time.Time { return now },
		DeadLetters: func(context.Context) (int, error) { return 3, nil },
	})

	done := newOrder(t, "o1", t0)
	b.Accepted(t0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	step(t, b, done, func(o *order.Order) error { return o.StartValidation(at(2)) })
	step(t, b, done, func(o *order.Order) error { return o.PassValidation(at(4)) })
	step(t, b, done, func(o *order.Order) error { return o.ReserveInventory(at(6)) })
	step(t, b, done, func(o *order.Order) error { return o.AuthorizePayment("auth-1", at(8)) })
	step(t, b, done, func(o *order.Order) error {
		return o.Complete(contracts.Shipment{Carrier: "UPS", TrackingNumber: "1Z", EstimatedDelivery: "2026-12-03"}, at(12))
	})

	failed := newOrder(t, "o2", t0)
	b.Accepted(t0)
	step(t, b, failed, func(o *order.Order) error { return o.StartValidation(at(1)) })
	step(t, b, failed, func(o *order.Order) error { return o.PassValidation(at(2)) })
	step(t, b, failed, func(o *order.Order) error { return o.Fail("OUT_OF_STOCK", "no stock", at(3)) })

	waiting := newOrder(t, "o3", t0)
	b.Accepted(t0)
	step(t, b, waiting, func(o *order.Order) error { return o.StartValidation(at(1)) })

	now = t0.Add(1500 * time.Millisecond)
	snap, err := b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"PENDING": 1, "VALIDATING": 1, "INVENTORY_CHECK": 0, "PAYMENT_PROCESSING": 0,
		"FULFILLMENT": 0, "COMPLETED": 11, "FAILED": 1, "CANCELLED": 0}
	got := counts(snap)
	for s, n := range want {
		if got[s] != n {
			t.Errorf("%s: %d orders, want %d (all: %v)", s, got[s], n, got)
		}
	}
	if len(snap.Statuses) != len(order.Statuses) || snap.Statuses[0].Status != "PENDING" {
		t.Errorf("statuses %v: want every status in pipeline order", snap.Statuses)
	}
	if len(snap.Failures) != 1 || snap.Failures[0] != (contracts.FailureCount{Stage: "INVENTORY_CHECK", Code: "OUT_OF_STOCK", Count: 1}) {
		t.Errorf("failures %v", snap.Failures)
	}
	if snap.DeadLetters != 3 {
		t.Errorf("dead letters %d, want 3", snap.DeadLetters)
	}
	if n := len(snap.Series); n != int(live.DefaultWindow/time.Second) {
		t.Fatalf("series of %d seconds, want %d", n, int(live.DefaultWindow/time.Second))
	}
	last := snap.Series[len(snap.Series)-1]
	if !last.At.Equal(t0.Add(time.Second)) || last.Created != 0 {
		t.Errorf("last second %+v: want the empty second of now", last)
	}
	first := snap.Series[len(snap.Series)-2]
	if !first.At.Equal(t0) || first.Created != 3 || first.Completed != 1 || first.Failed != 1 {
		t.Errorf("second of t0 %+v: want 3 created, 1 completed, 1 failed", first)
	}
	if first.LatencyP50Ms == nil || *first.LatencyP50Ms != 12 || *first.LatencyP99Ms != 12 {
		t.Errorf("latency %v/%v: want 12 ms create→COMPLETED", first.LatencyP50Ms, first.LatencyP99Ms)
	}
	if last.LatencyP50Ms != nil {
		t.Errorf("a second without completions has latency %v", *last.LatencyP50Ms)
	}
}

func TestSeriesForgetsSecondsOutsideTheWindow(t *testing.T) {
	now := t0
	b := live.New(nil, live.Options{Window: 10 * time.Second, Now: func() time.Time { return now }})
	b.Accepted(t0)
	now = t0.Add(10 * time.Second) // the slot of t0 is reused by t0+10s
	b.Accepted(now)
	snap, err := b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range snap.Series {
		total += s.Created
	}
	if len(snap.Series) != 10 || total != 1 || snap.Series[9].Created != 1 {
		t.Errorf("series %+v: want 10 seconds holding only the latest order", snap.Series)
	}
	if c := counts(snap)["PENDING"]; c != 2 {
		t.Errorf("PENDING %d, want 2: counts are not windowed", c)
	}
	// A change stamped before the window (a slow clock, a late notice) shares the newest second's entry:
	// it must not wipe it.
	b.Accepted(t0)
	if snap, _ = b.Snapshot(context.Background()); snap.Series[9].Created != 1 {
		t.Errorf("an order stamped a window ago wiped the current second: %+v", snap.Series[9])
	}
	// A window under a second is a second, not a panic.
	short := live.New(nil, live.Options{Window: 100 * time.Millisecond, Now: func() time.Time { return now }})
	short.Accepted(now)
	if snap, _ := short.Snapshot(context.Background()); len(snap.Series) != 1 || snap.Series[0].Created != 1 {
		t.Errorf("a 100 ms window: %+v", snap.Series)
	}
}

func TestLatencyPercentilesOfManyOrders(t *testing.T) {
	now := t0
	b := live.New(nil, live.Options{Now: func() time.Time { return now }})
	for i := 1; i <= 1000; i++ { // latencies 1..1000 ms, more than the reservoir holds
		completeAt(t, b, time.Duration(i)*time.Millisecond)
	}
	snap, err := b.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := snap.Series[len(snap.Series)-1]
	if s.Completed != 1000 || s.LatencyP50Ms == nil {
		t.Fatalf("second %+v: want 1000 completions with latencies", s)
	}
	// A uniform sample of 512 of 1..1000: the median is near 500, the 99th percentile near 990.
	if p50 := *s.LatencyP50Ms; p50 < 400 || p50 > 600 {
		t.Errorf("p50 %.0f ms, want about 500", p50)
	}
	if p99 := *s.LatencyP99Ms; p99 < 950 {
		t.Errorf("p99 %.0f ms, want about 990", p99)
	}
}

func TestStreamsGetPublishedEventsUntilClosed(t *testing.T) {
	b := live.New(nil, live.Options{})
	feed, stop := b.Subscribe()
	other, _ := b.Subscribe()
	detail, _ := json.Marshal(contracts.OrderCompletedDetail{DetailMeta: contracts.DetailMeta{OrderID: "o1", Reference: "7K3M-Q9TX"}})
	b.Published(contracts.Event{ID: "e1", DetailType: "OrderCompleted", Source: "orderflow.fulfillment", Time: t0, Resources: []string{"o1"}, Detail: detail})
	got := <-feed
	want := contracts.LiveEvent{ID: "e1", DetailType: "OrderCompleted", Source: "orderflow.fulfillment", OrderID: "o1", Reference: "7K3M-Q9TX", Time: t0}
	if got != want {
		t.Errorf("feed got %+v, want %+v", got, want)
	}
	stop()
	stop() // twice is harmless
	if _, open := <-feed; open {
		t.Error("feed still open after stop")
	}
	<-other
	// A stream that stops reading is not waited for: events beyond its buffer are dropped for it.
	for i := 0; i < 1000; i++ {
		b.Published(contracts.Event{ID: "e"})
	}
	b.Close()
	n := 0
	for range other {
		n++
	}
	if n == 0 || n >= 1000 {
		t.Errorf("a stalled stream kept %d of 1000 events; want its buffer's worth", n)
	}
	if late, _ := b.Subscribe(); late != nil {
		if _, open := <-late; open {
			t.Error("a feed subscribed after Close is open")
		}
	}
}

func TestDeadLettersAreCountedAtMostOncePerSecond(t *testing.T) {
	now := t0
	calls := 0
	fail := false
	b := live.New(nil, live.Options{Now: func() time.Time { return now }, DeadLetters: func(context.Context) (int, error) {
		calls++
		if fail {
			return 0, errors.New("disk gone")
		}
		return calls, nil
	}})
	for i := 0; i < 5; i++ {
		if s, err := b.Snapshot(context.Background()); err != nil || s.DeadLetters != 1 {
			t.Fatalf("snapshot %d: %d dead letters, %v", i, s.DeadLetters, err)
		}
	}
	now = now.Add(time.Second)
	if s, _ := b.Snapshot(context.Background()); s.DeadLetters != 2 || calls != 2 {
		t.Errorf("after a second: %d dead letters from %d counts, want 2 from 2", s.DeadLetters, calls)
	}
	now, fail = now.Add(time.Second), true
	if _, err := b.Snapshot(context.Background()); err == nil {
		t.Error("a failed count gave no error")
	}
}

func TestASecondsPercentilesFollowCompletionsAfterASnapshot(t *testing.T) {
	now := t0
	b := live.New(nil, live.Options{Now: func() time.Time { return now }})
	p99 := func() float64 {
		snap, err := b.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s := snap.Series[len(snap.Series)-1]
		if s.LatencyP99Ms == nil {
			t.Fatalf("second %+v has no latency", s)
		}
		return *s.LatencyP99Ms
	}
	completeAt(t, b, 10*time.Millisecond)
	if got := p99(); got != 10 {
		t.Fatalf("p99 %.0f ms, want 10", got)
	}
	// The same second, snapshotted already, gets a slower completion: the next snapshot shows it.
	completeAt(t, b, 80*time.Millisecond)
	if got := p99(); got != 80 {
		t.Errorf("p99 %.0f ms after a slower completion, want 80", got)
	}
}

// completeAt takes an order placed latency before t0 through the pipeline to COMPLETED at t0.
func completeAt(t *testing.T, b *live.Board, latency time.Duration) {
	t.Helper()
	o := newOrder(t, "o", t0.Add(-latency))
	for _, fn := range []func(*order.Order) error{
		func(o *order.Order) error { return o.StartValidation(t0) },
		func(o *order.Order) error { return o.PassValidation(t0) },
		func(o *order.Order) error { return o.ReserveInventory(t0) },
		func(o *order.Order) error { return o.AuthorizePayment("a", t0) },
		func(o *order.Order) error { return o.Complete(contracts.Shipment{Carrier: "UPS"}, t0) },
	} {
		step(t, b, o, fn)
	}
}
