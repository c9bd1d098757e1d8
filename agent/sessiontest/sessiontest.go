// Package sessiontest is the contract test suite of agent.SessionStore. Every store runs it, so that the
// chatbot can rely on the same memory of a conversation wherever it runs: turns oldest first, bounded,
// forgotten a TTL after the last one, and never shared between customers.
package sessiontest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/orderflow/orderflow/agent"
)

// The bounds open must give the store under test.
const (
	// TTL is how long a conversation lives after its last turn.
	TTL = time.Minute
	// MaxTurns is how many of a conversation's last turns are kept.
	MaxTurns = 5
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Run runs the suite. open must return an empty store of its own with the bounds TTL and MaxTurns
// (and room for at least 10 conversations), cleaned up when the test ends.
func Run(t *testing.T, open func(t *testing.T) agent.SessionStore) {
	turns := func(t *testing.T, s agent.SessionStore, customer, session string, now time.Time) []agent.Turn {
		t.Helper()
		got, err := s.Turns(t.Context(), customer, session, now)
		if err != nil {
			t.Fatalf("Turns(%q, %q): %v", customer, session, err)
		}
		return got
	}
	add := func(t *testing.T, s agent.SessionStore, customer, session string, tr agent.Turn, now time.Time) {
		t.Helper()
		if err := s.AddTurn(t.Context(), customer, session, tr, now); err != nil {
			t.Fatalf("AddTurn(%q, %q): %v", customer, session, err)
		}
	}
	queries := func(ts []agent.Turn) []string {
		out := []string{}
		for _, tr := range ts {
			out = append(out, tr.Query)
		}
		return out
	}

	t.Run("an unknown session has no turns", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if got := turns(t, s, "alice", "s1", start); len(got) != 0 {
			t.Errorf("Turns of an unknown session = %v, want none", got)
		}
	})
	t.Run("turns come back whole, oldest first", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		want := []agent.Turn{
			{Query: "status of 0193a1b2?", Answer: "It shipped.", OrderIDs: []string{"0193a1b2-0000-7000-8000-000000000000"}},
			{Query: "thanks", Answer: "You're welcome."},
			{Query: "and my others?", Answer: "Two more.", OrderIDs: []string{"a", "b"}},
		}
		for i, tr := range want {
			add(t, s, "alice", "s1", tr, start.Add(time.Duration(i)*time.Second))
		}
		if diff := cmp.Diff(want, turns(t, s, "alice", "s1", start.Add(3*time.Second)), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Turns (-want +got):\n%s", diff)
		}
	})
	t.Run("only the last MaxTurns turns are kept", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var want []string
		for i := range MaxTurns + 3 {
			q := fmt.Sprintf("q%d", i)
			add(t, s, "alice", "s1", agent.Turn{Query: q}, start.Add(time.Duration(i)*time.Second))
			want = append(want, q)
		}
		if diff := cmp.Diff(want[3:], queries(turns(t, s, "alice", "s1", start.Add(time.Minute)))); diff != "" {
			t.Errorf("turns kept (-want +got):\n%s", diff)
		}
	})
	t.Run("a session expires TTL after its last turn, and each turn extends it", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		add(t, s, "alice", "s1", agent.Turn{Query: "q1"}, start)
		if got := turns(t, s, "alice", "s1", start.Add(TTL-time.Second)); len(got) != 1 {
			t.Fatalf("just before the TTL: %d turns, want 1", len(got))
		}
		add(t, s, "alice", "s1", agent.Turn{Query: "q2"}, start.Add(TTL-time.Second))
		if got := turns(t, s, "alice", "s1", start.Add(TTL+time.Second)); len(got) != 2 {
			t.Fatalf("after a new turn: %d turns, want 2", len(got))
		}
		if got := turns(t, s, "alice", "s1", start.Add(2*TTL-time.Second)); len(got) != 0 {
			t.Errorf("TTL after the last turn: %v, want nothing", queries(got))
		}
	})
	t.Run("a turn after expiry starts the session afresh", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		add(t, s, "alice", "s1", agent.Turn{Query: "old"}, start)
		add(t, s, "alice", "s1", agent.Turn{Query: "new"}, start.Add(TTL))
		if diff := cmp.Diff([]string{"new"}, queries(turns(t, s, "alice", "s1", start.Add(TTL)))); diff != "" {
			t.Errorf("turns (-want +got):\n%s", diff)
		}
	})
	t.Run("a session id reused by another customer starts empty", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		add(t, s, "alice", "s1", agent.Turn{Query: "alice's", OrderIDs: []string{"order-of-alice"}}, start)
		if got := turns(t, s, "bob", "s1", start); len(got) != 0 {
			t.Errorf("bob sees alice's session: %v", got)
		}
		add(t, s, "bob", "s1", agent.Turn{Query: "bob's"}, start)
		if diff := cmp.Diff([]string{"alice's"}, queries(turns(t, s, "alice", "s1", start))); diff != "" {
			t.Errorf("alice's turns after bob's (-want +got):\n%s", diff)
		}
	})
	t.Run("customer and session ids never run into each other", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		// Joined with any one separator, some of these pairs would make the same key.
		pairs := [][2]string{{"a", "b#c"}, {"a#b", "c"}, {"a\x00b", "c"}, {"a", "b\x00c"}, {"a:", "b"}, {"a", ":b"}, {"1:a", "b"}}
		for i, p := range pairs {
			add(t, s, p[0], p[1], agent.Turn{Query: fmt.Sprint(i)}, start)
		}
		for i, p := range pairs {
			if diff := cmp.Diff([]string{fmt.Sprint(i)}, queries(turns(t, s, p[0], p[1], start))); diff != "" {
				t.Errorf("turns of (%q, %q) (-want +got):\n%s", p[0], p[1], diff)
			}
		}
	})
	t.Run("concurrent turns of one session are all kept", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var wg sync.WaitGroup
		for i := range MaxTurns {
			wg.Go(func() {
				if err := s.AddTurn(t.Context(), "alice", "s1", agent.Turn{Query: fmt.Sprint(i)}, start); err != nil {
					t.Errorf("AddTurn: %v", err)
				}
			})
		}
		wg.Wait()
		got := queries(turns(t, s, "alice", "s1", start))
		if diff := cmp.Diff([]string{"0", "1", "2", "3", "4"}, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("turns (-want +got):\n%s", diff)
		}
	})
}
