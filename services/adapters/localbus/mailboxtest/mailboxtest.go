// Package mailboxtest is the contract test suite of localbus.Mailbox, driven through the ports that fill
// a mailbox: pipeline.Publisher (one message per routed target of each new event) and ingest.Queue (one
// message for the dispatcher). Every mailbox runs it, so that the delivery engine can rely on messages
// being due, retried, buried and redriven as the port says.
package mailboxtest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/routing"
)

// Store is what the suite drives: the mailbox and the two ports that put messages into it.
type Store interface {
	localbus.Mailbox
	pipeline.Publisher
	ingest.Queue
}

// Route is the routing the suite opens stores with: an event whose detail type is "Fanout" goes to
// targets "a" and "b", every other event to "a" only, and an event of type "Unrouted" nowhere.
func Route(e contracts.Event) []string {
	switch e.DetailType {
	case "Fanout":
		return []string{"a", "b"}
	case "Unrouted":
		return nil
	}
	return []string{"a"}
}

// Run runs the suite. open must return an empty store of its own that routes events with route, uses
// the wall clock, and is cleaned up when the test ends.
func Run(t *testing.T, open func(t *testing.T, route func(contracts.Event) []string) Store) {
	o := func(t *testing.T) Store { return open(t, Route) }
	t.Run("filling", func(t *testing.T) { t.Parallel(); testFilling(t, o) })
	t.Run("due", func(t *testing.T) { t.Parallel(); testDue(t, o) })
	t.Run("ack", func(t *testing.T) { t.Parallel(); testAck(t, o) })
	t.Run("retry", func(t *testing.T) { t.Parallel(); testRetry(t, o) })
	t.Run("dead letters", func(t *testing.T) { t.Parallel(); testDeadLetters(t, o) })
}

// later is far enough ahead that every message stored so far is due.
func later() time.Time { return time.Now().Add(time.Minute) }

func event(id, detailType string) contracts.Event {
	return contracts.Event{
		Version: "0", ID: id, DetailType: detailType, Source: contracts.SourceOrders,
		Account: "000000000000", Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Region: "local",
		Resources: []string{"order-" + id}, Detail: json.RawMessage(`{"orderId":"order-` + id + `"}`),
	}
}

func publish(t *testing.T, s Store, events ...contracts.Event) {
	t.Helper()
	if err := s.Publish(t.Context(), events...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func due(t *testing.T, s Store, at time.Time, limit int, skip map[int64]bool) []localbus.Message {
	t.Helper()
	msgs, err := s.Due(t.Context(), at, limit, skip)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	return msgs
}

// summary is what a message says, without its id.
type summary struct {
	Target  string
	EventID string
}

func summarize(t *testing.T, msgs []localbus.Message) []summary {
	t.Helper()
	out := []summary{}
	for _, m := range msgs {
		var e contracts.Event
		if err := json.Unmarshal(m.Body, &e); err != nil {
			t.Fatalf("message %d body is not an event: %v", m.ID, err)
		}
		out = append(out, summary{m.Target, e.ID})
	}
	return out
}

func idsOf(msgs []localbus.Message) []int64 {
	out := []int64{}
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func testFilling(t *testing.T, open func(t *testing.T) Store) {
	t.Run("send queues one message for the dispatcher", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		want := contracts.OrderMessage{OrderID: "order-1", CorrelationID: "corr-1"}
		if err := s.Send(t.Context(), want); err != nil {
			t.Fatalf("Send: %v", err)
		}
		msgs := due(t, s, later(), 10, nil)
		if len(msgs) != 1 || msgs[0].Target != routing.Dispatcher || msgs[0].Attempts != 0 {
			t.Fatalf("Due = %+v, want one fresh message for %s", msgs, routing.Dispatcher)
		}
		var got contracts.OrderMessage
		if err := json.Unmarshal(msgs[0].Body, &got); err != nil {
			t.Fatalf("body is not an order message: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
	})
	t.Run("publish queues one message per routed target, carrying the event", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		e := event("e1", "Fanout")
		publish(t, s, e, event("e2", "Plain"), event("e3", "Unrouted"))
		msgs := due(t, s, later(), 10, nil)
		want := []summary{{"a", "e1"}, {"b", "e1"}, {"a", "e2"}}
		if diff := cmp.Diff(want, summarize(t, msgs)); diff != "" {
			t.Errorf("messages (-want +got):\n%s", diff)
		}
		var got contracts.Event
		if err := json.Unmarshal(msgs[0].Body, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(e, got); diff != "" {
			t.Errorf("message body (-want +got):\n%s", diff)
		}
	})
	t.Run("an event id published again queues nothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Fanout"))
		publish(t, s, event("e1", "Fanout"))
		publish(t, s, event("e1", "Plain"), event("e2", "Plain"))
		want := []summary{{"a", "e1"}, {"b", "e1"}, {"a", "e2"}}
		if diff := cmp.Diff(want, summarize(t, due(t, s, later(), 10, nil))); diff != "" {
			t.Errorf("messages (-want +got):\n%s", diff)
		}
	})
	t.Run("an event id published again after its messages were delivered queues nothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Plain"))
		if err := s.Ack(t.Context(), idsOf(due(t, s, later(), 10, nil))...); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		publish(t, s, event("e1", "Plain"))
		eventually(t, func() string {
			if msgs := due(t, s, later(), 10, nil); len(msgs) != 0 {
				return fmt.Sprintf("Due = %v, want nothing", summarize(t, msgs))
			}
			return ""
		})
	})
}

func testDue(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	for i := range 5 {
		publish(t, s, event(fmt.Sprintf("e%d", i), "Plain"))
	}
	all := due(t, s, later(), 100, nil)
	if len(all) != 5 {
		t.Fatalf("Due = %d messages, want 5", len(all))
	}
	tests := []struct {
		name  string
		at    time.Time
		limit int
		skip  map[int64]bool
		want  []int64
	}{
		{"returns due messages oldest first", later(), 100, nil, idsOf(all)},
		{"honours the limit", later(), 2, nil, idsOf(all[:2])},
		{"leaves out skipped ids without counting them against the limit", later(), 2,
			map[int64]bool{all[0].ID: true, all[2].ID: true}, []int64{all[1].ID, all[3].ID}},
		{"returns nothing before the messages are due", time.Now().Add(-time.Hour), 100, nil, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, idsOf(due(t, s, tt.at, tt.limit, tt.skip))); diff != "" {
				t.Errorf("Due ids (-want +got):\n%s", diff)
			}
		})
	}
}

// eventually retries check (which returns "" when satisfied) for a while, because Ack may complete
// asynchronously.
func eventually(t *testing.T, check func() string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Error(msg)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testAck(t *testing.T, open func(t *testing.T) Store) {
	t.Run("acked messages are no longer due", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Fanout"), event("e2", "Plain"))
		msgs := due(t, s, later(), 10, nil)
		if err := s.Ack(t.Context(), msgs[0].ID, msgs[2].ID); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		eventually(t, func() string {
			if diff := cmp.Diff([]int64{msgs[1].ID}, idsOf(due(t, s, later(), 10, nil))); diff != "" {
				return "due after ack (-want +got):\n" + diff
			}
			return ""
		})
	})
	t.Run("acking nothing or an unknown id is harmless", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Plain"))
		if err := s.Ack(t.Context()); err != nil {
			t.Errorf("Ack() = %v", err)
		}
		if err := s.Ack(t.Context(), 987654); err != nil {
			t.Errorf("Ack(unknown) = %v", err)
		}
		if got := due(t, s, later(), 10, nil); len(got) != 1 {
			t.Errorf("Due = %d messages, want 1", len(got))
		}
	})
}

func testRetry(t *testing.T, open func(t *testing.T) Store) {
	t.Run("a retried message waits until its next attempt and carries its attempts and error", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Plain"), event("e2", "Plain"))
		msgs := due(t, s, later(), 10, nil)
		next := time.Now().Add(time.Hour)
		if err := s.Retry(t.Context(), msgs[0].ID, 3, next, "handler exploded"); err != nil {
			t.Fatalf("Retry: %v", err)
		}
		if diff := cmp.Diff([]int64{msgs[1].ID}, idsOf(due(t, s, later(), 10, nil))); diff != "" {
			t.Errorf("due before the retry time (-want +got):\n%s", diff)
		}
		got := due(t, s, next.Add(time.Second), 10, nil)
		want := msgs[0]
		want.Attempts, want.LastError = 3, "handler exploded"
		// The retried message is due later than the other one, so it comes last.
		if diff := cmp.Diff([]localbus.Message{msgs[1], want}, got); diff != "" {
			t.Errorf("due after the retry time (-want +got):\n%s", diff)
		}
	})
}

func testDeadLetters(t *testing.T, open func(t *testing.T) Store) {
	bury := func(t *testing.T, s Store, m localbus.Message, attempts int, reason string) {
		t.Helper()
		m.Attempts = attempts
		if err := s.Bury(t.Context(), m, reason); err != nil {
			t.Fatalf("Bury(%d): %v", m.ID, err)
		}
	}
	count := func(t *testing.T, s Store) int {
		t.Helper()
		n, err := s.CountDeadLetters(t.Context())
		if err != nil {
			t.Fatalf("CountDeadLetters: %v", err)
		}
		return n
	}
	letters := func(t *testing.T, s Store, limit int) []localbus.DeadLetter {
		t.Helper()
		dl, err := s.DeadLetters(t.Context(), limit)
		if err != nil {
			t.Fatalf("DeadLetters: %v", err)
		}
		return dl
	}

	t.Run("a buried message leaves the queue for the dead letters with its error", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Fanout"))
		msgs := due(t, s, later(), 10, nil)
		before := time.Now()
		bury(t, s, msgs[0], 8, "gave up: boom")
		if diff := cmp.Diff([]int64{msgs[1].ID}, idsOf(due(t, s, later(), 10, nil))); diff != "" {
			t.Errorf("due after bury (-want +got):\n%s", diff)
		}
		dl := letters(t, s, 10)
		if len(dl) != 1 {
			t.Fatalf("DeadLetters = %d, want 1", len(dl))
		}
		d := dl[0]
		if d.Target != msgs[0].Target || string(d.Body) != string(msgs[0].Body) || d.Attempts != 8 || d.Error != "gave up: boom" {
			t.Errorf("dead letter = %+v, want target %s, the message's body, 8 attempts and its error", d, msgs[0].Target)
		}
		if d.FailedAt.Before(before.Add(-time.Minute)) || d.FailedAt.After(time.Now().Add(time.Minute)) {
			t.Errorf("dead letter FailedAt = %v, want about now", d.FailedAt)
		}
		if n := count(t, s); n != 1 {
			t.Errorf("CountDeadLetters = %d, want 1", n)
		}
	})
	t.Run("dead letters are listed oldest first up to the limit", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Plain"), event("e2", "Plain"), event("e3", "Plain"))
		msgs := due(t, s, later(), 10, nil)
		for _, i := range []int{1, 0, 2} {
			bury(t, s, msgs[i], 1, fmt.Sprintf("error %d", i))
		}
		var got []string
		for _, d := range letters(t, s, 2) {
			got = append(got, d.Error)
		}
		if diff := cmp.Diff([]string{"error 1", "error 0"}, got); diff != "" {
			t.Errorf("dead letters (-want +got):\n%s", diff)
		}
		if n := count(t, s); n != 3 {
			t.Errorf("CountDeadLetters = %d, want 3", n)
		}
	})
	t.Run("redrive by id brings those messages back with no attempts", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Fanout"), event("e2", "Plain"))
		msgs := due(t, s, later(), 10, nil)
		for _, m := range msgs {
			bury(t, s, m, 8, "boom")
		}
		dl := letters(t, s, 10)
		n, err := s.Redrive(t.Context(), dl[0].ID, dl[2].ID)
		if err != nil || n != 2 {
			t.Fatalf("Redrive = %d, %v; want 2", n, err)
		}
		back := due(t, s, later(), 10, nil)
		if diff := cmp.Diff([]summary{{"a", "e1"}, {"a", "e2"}}, summarize(t, back)); diff != "" {
			t.Errorf("redriven messages (-want +got):\n%s", diff)
		}
		for _, m := range back {
			if m.Attempts != 0 {
				t.Errorf("redriven message %d has %d attempts, want 0", m.ID, m.Attempts)
			}
		}
		if c := count(t, s); c != 1 {
			t.Errorf("CountDeadLetters after redrive = %d, want 1", c)
		}
	})
	t.Run("redrive without ids brings every dead letter back", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Fanout"), event("e2", "Plain"))
		for _, m := range due(t, s, later(), 10, nil) {
			bury(t, s, m, 8, "boom")
		}
		n, err := s.Redrive(t.Context())
		if err != nil || n != 3 {
			t.Fatalf("Redrive() = %d, %v; want 3", n, err)
		}
		if got := due(t, s, later(), 10, nil); len(got) != 3 {
			t.Errorf("Due after redrive = %d messages, want 3", len(got))
		}
		if c := count(t, s); c != 0 {
			t.Errorf("CountDeadLetters after redrive = %d, want 0", c)
		}
		if n, err := s.Redrive(t.Context()); err != nil || n != 0 {
			t.Errorf("second Redrive() = %d, %v; want 0", n, err)
		}
	})
	t.Run("redrive of unknown ids moves nothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		n, err := s.Redrive(t.Context(), 123, 456)
		if err != nil || n != 0 {
			t.Errorf("Redrive(unknown) = %d, %v; want 0, nil", n, err)
		}
	})
	t.Run("a redriven message can fail and be buried again", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Plain"))
		bury(t, s, due(t, s, later(), 10, nil)[0], 8, "first")
		if _, err := s.Redrive(t.Context()); err != nil {
			t.Fatalf("Redrive: %v", err)
		}
		bury(t, s, due(t, s, later(), 10, nil)[0], 8, "second")
		dl := letters(t, s, 10)
		if len(dl) != 1 || dl[0].Error != "second" {
			t.Errorf("dead letters = %+v, want only the second burial", dl)
		}
	})
}
