// Package mailboxtest is the contract test suite of localbus.Mailbox, driven through the ports that fill
// it: pipeline.Publisher (each new event appended to the log) and ingest.Queue (one message for the
// dispatcher). Every mailbox runs it, so that the delivery engine can rely on the log being read in order
// with its routes, cursors starting, moving and surviving a restart, and messages (queued, or deferred
// from the log after a failure) being due, retried, buried and redriven as the port says.
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

// Store is what the suite drives: the mailbox, the two ports that fill it, and Close, after which the
// store can be opened again on the same data.
type Store interface {
	localbus.Mailbox
	pipeline.Publisher
	ingest.Queue
	Close() error
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

// Run runs the suite. open must return the store kept in dir, which routes events with route, uses the
// wall clock, and is closed when the test ends; a fresh dir holds an empty store, and opening a dir again
// after Close gives the same data back.
func Run(t *testing.T, open func(t *testing.T, dir string, route func(contracts.Event) []string) Store) {
	o := func(t *testing.T) Store { return open(t, t.TempDir(), Route) }
	reopen := func(t *testing.T, dir string) Store { return open(t, dir, Route) }
	t.Run("filling", func(t *testing.T) { t.Parallel(); testFilling(t, o) })
	t.Run("log", func(t *testing.T) { t.Parallel(); testLog(t, o) })
	t.Run("cursors", func(t *testing.T) { t.Parallel(); testCursors(t, reopen) })
	t.Run("defer", func(t *testing.T) { t.Parallel(); testDefer(t, o) })
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
	t.Run("publish appends each new event to the log with its routed targets, and queues nothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		e := event("e1", "Fanout")
		publish(t, s, e, event("e2", "Plain"), event("e3", "Unrouted"))
		entries := readLog(t, s, 0, 10)
		want := []entrySummary{{"e1", []string{"a", "b"}}, {"e2", []string{"a"}}, {"e3", nil}}
		if diff := cmp.Diff(want, summarizeLog(t, entries)); diff != "" {
			t.Errorf("log (-want +got):\n%s", diff)
		}
		for i := 1; i < len(entries); i++ {
			if entries[i].Seq <= entries[i-1].Seq {
				t.Errorf("log positions %d then %d, want increasing", entries[i-1].Seq, entries[i].Seq)
			}
		}
		var got contracts.Event
		if err := json.Unmarshal(entries[0].Body, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(e, got); diff != "" {
			t.Errorf("entry body (-want +got):\n%s", diff)
		}
		if msgs := due(t, s, later(), 10, nil); len(msgs) != 0 {
			t.Errorf("Due = %d messages after publishing, want none: events are delivered from the log", len(msgs))
		}
	})
	t.Run("an event id published again appends nothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Fanout"))
		publish(t, s, event("e1", "Fanout"))
		publish(t, s, event("e1", "Plain"), event("e2", "Plain"))
		want := []entrySummary{{"e1", []string{"a", "b"}}, {"e2", []string{"a"}}}
		if diff := cmp.Diff(want, summarizeLog(t, readLog(t, s, 0, 10))); diff != "" {
			t.Errorf("log (-want +got):\n%s", diff)
		}
	})
}

func readLog(t *testing.T, s Store, after int64, limit int) []localbus.Entry {
	t.Helper()
	entries, err := s.Log(t.Context(), after, limit)
	if err != nil {
		t.Fatalf("Log: %v", err)
	}
	return entries
}

// entrySummary is what an entry of the log says, without its position.
type entrySummary struct {
	EventID string
	Targets []string
}

func summarizeLog(t *testing.T, entries []localbus.Entry) []entrySummary {
	t.Helper()
	out := []entrySummary{}
	for _, en := range entries {
		var e contracts.Event
		if err := json.Unmarshal(en.Body, &e); err != nil {
			t.Fatalf("entry %d body is not an event: %v", en.Seq, err)
		}
		out = append(out, entrySummary{e.ID, en.Targets})
	}
	return out
}

func seqsOf(entries []localbus.Entry) []int64 {
	out := []int64{}
	for _, en := range entries {
		out = append(out, en.Seq)
	}
	return out
}

func testLog(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	for i := range 5 {
		publish(t, s, event(fmt.Sprintf("e%d", i), "Plain"))
	}
	all := readLog(t, s, 0, 100)
	if len(all) != 5 {
		t.Fatalf("Log = %d entries, want 5", len(all))
	}
	tests := []struct {
		name  string
		after int64
		limit int
		want  []int64
	}{
		{"returns every event in log order", 0, 100, seqsOf(all)},
		{"honours the limit", 0, 2, seqsOf(all[:2])},
		{"starts after the position", all[1].Seq, 2, seqsOf(all[2:4])},
		{"returns nothing after the end", all[4].Seq, 100, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, seqsOf(readLog(t, s, tt.after, tt.limit))); diff != "" {
				t.Errorf("Log positions (-want +got):\n%s", diff)
			}
		})
	}
}

func cursors(t *testing.T, s Store, targets ...string) map[string]int64 {
	t.Helper()
	got, err := s.Cursors(t.Context(), targets)
	if err != nil {
		t.Fatalf("Cursors: %v", err)
	}
	return got
}

func advance(t *testing.T, s Store, cs ...localbus.Cursor) {
	t.Helper()
	if err := s.Advance(t.Context(), cs...); err != nil {
		t.Fatalf("Advance: %v", err)
	}
}

func closeStore(t *testing.T, s Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func testCursors(t *testing.T, open func(t *testing.T, dir string) Store) {
	t.Run("a target without a cursor starts at the end of the log as the store was opened", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := open(t, dir)
		publish(t, s, event("e1", "Plain"), event("e2", "Plain"))
		closeStore(t, s)
		s = open(t, dir)
		publish(t, s, event("e3", "Plain"))
		entries := readLog(t, s, 0, 10)
		// e3 was published after the store opened, so it is still to be delivered.
		want := map[string]int64{"a": entries[1].Seq, "b": entries[1].Seq}
		if diff := cmp.Diff(want, cursors(t, s, "a", "b")); diff != "" {
			t.Errorf("cursors (-want +got):\n%s", diff)
		}
	})
	t.Run("advanced cursors move forward only and survive a restart", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := open(t, dir)
		publish(t, s, event("e1", "Plain"), event("e2", "Plain"), event("e3", "Plain"))
		seqs := seqsOf(readLog(t, s, 0, 10))
		if diff := cmp.Diff(map[string]int64{"a": 0, "b": 0}, cursors(t, s, "a", "b")); diff != "" {
			t.Errorf("cursors of a fresh store (-want +got):\n%s", diff)
		}
		advance(t, s, localbus.Cursor{Target: "a", Seq: seqs[2]}, localbus.Cursor{Target: "b", Seq: seqs[0]})
		advance(t, s, localbus.Cursor{Target: "a", Seq: seqs[1]})
		closeStore(t, s) // keeps the moves advanced before it
		s = open(t, dir)
		want := map[string]int64{"a": seqs[2], "b": seqs[0]}
		if diff := cmp.Diff(want, cursors(t, s, "a", "b")); diff != "" {
			t.Errorf("cursors after a restart (-want +got):\n%s", diff)
		}
	})
	t.Run("the cursors of targets no longer listed are forgotten", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := open(t, dir)
		cursors(t, s, "a", "b")
		publish(t, s, event("e1", "Plain"))
		seq := readLog(t, s, 0, 10)[0].Seq
		advance(t, s, localbus.Cursor{Target: "a", Seq: seq}, localbus.Cursor{Target: "b", Seq: seq})
		closeStore(t, s)
		s = open(t, dir)
		if diff := cmp.Diff(map[string]int64{"a": seq}, cursors(t, s, "a")); diff != "" {
			t.Errorf("cursors of a alone (-want +got):\n%s", diff)
		}
		// b comes back as a new target: at the end of the log as this store was opened.
		if got := cursors(t, s, "a", "b")["b"]; got != seq {
			t.Errorf("cursor of b listed again = %d, want %d (the end of the log at open)", got, seq)
		}
	})
}

// deferred publishes the events and defers every delivery the log names, due now with no attempts, and
// returns the messages due: as many mailbox messages as deliveries, each carrying its event.
func deferred(t *testing.T, s Store, events ...contracts.Event) []localbus.Message {
	t.Helper()
	publish(t, s, events...)
	entries := readLog(t, s, 0, 1000)
	for _, en := range entries {
		for _, target := range en.Targets {
			if _, err := s.Defer(t.Context(), target, en.Seq, 0, time.Now(), ""); err != nil {
				t.Fatalf("Defer: %v", err)
			}
		}
	}
	return due(t, s, later(), 1000, nil)
}

func testDefer(t *testing.T, open func(t *testing.T) Store) {
	t.Run("a deferred delivery waits in the mailbox with its attempts and error, carrying the event", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		e := event("e1", "Fanout")
		publish(t, s, e)
		en := readLog(t, s, 0, 10)[0]
		next := time.Now().Add(time.Hour)
		id, err := s.Defer(t.Context(), "b", en.Seq, 1, next, "handler exploded")
		if err != nil {
			t.Fatalf("Defer: %v", err)
		}
		if msgs := due(t, s, later(), 10, nil); len(msgs) != 0 {
			t.Errorf("Due before the next attempt = %+v, want nothing", msgs)
		}
		got := due(t, s, next.Add(time.Second), 10, nil)
		want := []localbus.Message{{ID: id, Target: "b", Body: en.Body, Attempts: 1, LastError: "handler exploded"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Due after the next attempt (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]summary{{"b", "e1"}}, summarize(t, got)); diff != "" {
			t.Errorf("deferred message (-want +got):\n%s", diff)
		}
	})
	t.Run("a delivery from the log is buried without a mailbox message", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		publish(t, s, event("e1", "Plain"))
		en := readLog(t, s, 0, 10)[0]
		if err := s.Bury(t.Context(), localbus.Message{Target: "a", Body: en.Body, Seq: en.Seq, Attempts: 1}, "invalid"); err != nil {
			t.Fatalf("Bury: %v", err)
		}
		dl, err := s.DeadLetters(t.Context(), 10)
		if err != nil || len(dl) != 1 || dl[0].Target != "a" || string(dl[0].Body) != string(en.Body) || dl[0].Attempts != 1 || dl[0].Error != "invalid" {
			t.Fatalf("DeadLetters = %+v, %v; want the event for a with its error", dl, err)
		}
		if msgs := due(t, s, later(), 10, nil); len(msgs) != 0 {
			t.Errorf("Due = %+v, want nothing", msgs)
		}
	})
}

func testDue(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	var events []contracts.Event
	for i := range 5 {
		events = append(events, event(fmt.Sprintf("e%d", i), "Plain"))
	}
	all := deferred(t, s, events...)
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
		msgs := deferred(t, s, event("e1", "Fanout"), event("e2", "Plain"))
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
		deferred(t, s, event("e1", "Plain"))
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
		msgs := deferred(t, s, event("e1", "Plain"), event("e2", "Plain"))
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
		msgs := deferred(t, s, event("e1", "Fanout"))
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
		msgs := deferred(t, s, event("e1", "Plain"), event("e2", "Plain"), event("e3", "Plain"))
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
		msgs := deferred(t, s, event("e1", "Fanout"), event("e2", "Plain"))
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
		for _, m := range deferred(t, s, event("e1", "Fanout"), event("e2", "Plain")) {
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
	t.Run("redrive naming an id twice brings its message back once", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		bury(t, s, deferred(t, s, event("e1", "Plain"))[0], 8, "boom")
		dl := letters(t, s, 10)
		n, err := s.Redrive(t.Context(), dl[0].ID, dl[0].ID)
		if err != nil || n != 1 {
			t.Errorf("Redrive(id, id) = %d, %v; want 1", n, err)
		}
		if got := due(t, s, later(), 10, nil); len(got) != 1 {
			t.Errorf("Due after redrive = %d messages, want 1", len(got))
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
		bury(t, s, deferred(t, s, event("e1", "Plain"))[0], 8, "first")
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
