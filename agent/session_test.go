package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
)

func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	now := evalNow
	ss := newSessions(time.Minute, 10, 10)
	ss.add("c", "s", turn{Query: "q1"}, now)
	if got := ss.get("c", "s", now.Add(59*time.Second)); len(got) != 1 {
		t.Fatalf("before the TTL: %d turns, want 1", len(got))
	}
	ss.add("c", "s", turn{Query: "q2"}, now.Add(59*time.Second)) // a turn extends the session
	if got := ss.get("c", "s", now.Add(90*time.Second)); len(got) != 2 {
		t.Fatalf("after a new turn: %d turns, want 2", len(got))
	}
	if got := ss.get("c", "s", now.Add(59*time.Second+time.Minute)); got != nil {
		t.Errorf("after the TTL: %v, want nothing", got)
	}
	if ss.len() != 0 {
		t.Errorf("an expired session is still held")
	}
}

func TestSessionsAreBounded(t *testing.T) {
	t.Parallel()
	ss := newSessions(time.Hour, 2, 3)
	for i, q := range []string{"q1", "q2", "q3", "q4"} {
		ss.add("c", "a", turn{Query: q}, evalNow.Add(time.Duration(i)*time.Second))
	}
	var got []string
	for _, tr := range ss.get("c", "a", evalNow) {
		got = append(got, tr.Query)
	}
	if diff := cmp.Diff([]string{"q2", "q3", "q4"}, got); diff != "" {
		t.Errorf("turns kept (-want +got):\n%s", diff)
	}
	ss.add("c", "b", turn{Query: "b"}, evalNow)
	ss.get("c", "a", evalNow) // a get does not make "a" recent; adds do
	ss.add("c", "c", turn{Query: "c"}, evalNow)
	if ss.len() != 2 || ss.get("c", "a", evalNow) != nil {
		t.Errorf("want the least recently used session forgotten; held %d, a = %v", ss.len(), ss.get("c", "a", evalNow))
	}
}

func TestSessionsBelongToOneCustomer(t *testing.T) {
	t.Parallel()
	ss := newSessions(time.Hour, 10, 10)
	ss.add("alice", "s", turn{Query: "q", OrderIDs: []string{aliceCompleted}}, evalNow)
	if got := ss.get("bob", "s", evalNow); got != nil {
		t.Errorf("bob sees alice's session: %v", got)
	}
}

func TestFollowUpQuestionOffline(t *testing.T) {
	t.Parallel()
	clock := evalNow
	bot, _ := newBot(t, fixture(t), nil, Options{SessionTTL: time.Minute, Now: func() time.Time { return clock }})
	first, err := bot.Answer(context.Background(), contracts.ChatRequest{Query: "Status of 0193a1b2?", CustomerID: "cust-alice"})
	if err != nil {
		t.Fatal(err)
	}
	if first.SessionID == "" {
		t.Fatal("no session id returned")
	}
	follow := contracts.ChatRequest{Query: "and where is it now?", CustomerID: "cust-alice", SessionID: first.SessionID}
	resp, err := bot.Answer(context.Background(), follow)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Answer, "1Z999AA10123456784") || resp.SessionID != first.SessionID {
		t.Errorf("follow-up = %+v, want the tracking of order 0193a1b2 in the same session", resp)
	}
	clock = clock.Add(2 * time.Minute)
	resp, err = bot.Answer(context.Background(), follow)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(resp.Answer, "1Z999AA10123456784") {
		t.Errorf("after the session expired the follow-up still knew the order: %q", resp.Answer)
	}
}

func TestMaybeReferences(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff([]string{"DE11-VERY", "G1FT-CARD"}, maybeReferences("where is my delivery? the gift-card, 7k3m-q9tx")); diff != "" {
		t.Errorf("maybeReferences (-want +got):\n%s", diff)
	}
}

func TestExtractOrderRefs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		want  []string
	}{
		{"What's the status of order 0193a1b2...?", []string{"0193a1b2"}},
		{"Order ID: 0193A1B2… please", []string{"0193a1b2"}},
		{"order " + aliceCompleted, []string{aliceCompleted}},
		{"0193a1b2 and 0194a7b8, and 0193a1b2 again", []string{"0193a1b2", "0194a7b8"}},
		{"deadbeef is not an id, nor is 1Z999AA10123456784", nil},
		{"where is my package?", nil},
		{"Order: 7K3M-Q9TX, where is it?", []string{"7K3M-Q9TX"}},
		{"status of m2fq6tjb and 0193a1b2", []string{"M2FQ-6TJB", "0193a1b2"}},
		{"is BOBE-5PR3 shipped", []string{"B0BE-5PR3"}}, // O read as 0
		{"where is my delivery? the gift-card", nil},    // words, even if they read as references
		{"SHIPPING", []string{"SH1P-P1NG"}},             // capitals, as the texts write references
		{"7K3M-Q9TU", nil},                              // U is not in a reference
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, extractOrderRefs(tt.query)); diff != "" {
			t.Errorf("extractOrderRefs(%q) (-want +got):\n%s", tt.query, diff)
		}
	}
}
