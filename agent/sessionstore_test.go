package agent_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/agent/internal/agenttest"
	"github.com/orderflow/orderflow/agent/sessiontest"
	"github.com/orderflow/orderflow/contracts"
)

func TestMemorySessionsContract(t *testing.T) {
	t.Parallel()
	sessiontest.Run(t, func(t *testing.T) agent.SessionStore {
		return agent.NewMemorySessions(sessiontest.TTL, 100, sessiontest.MaxTurns)
	})
}

// recordingStore is a SessionStore that remembers what it was asked, and can be made to fail.
type recordingStore struct {
	agent.SessionStore
	mu    sync.Mutex
	adds  []agent.Turn
	broke error
}

func (s *recordingStore) Turns(ctx context.Context, customerID, sessionID string, now time.Time) ([]agent.Turn, error) {
	if s.broke != nil {
		return nil, s.broke
	}
	return s.SessionStore.Turns(ctx, customerID, sessionID, now)
}

func (s *recordingStore) AddTurn(ctx context.Context, customerID, sessionID string, t agent.Turn, now time.Time) error {
	s.mu.Lock()
	s.adds = append(s.adds, t)
	s.mu.Unlock()
	if s.broke != nil {
		return s.broke
	}
	return s.SessionStore.AddTurn(ctx, customerID, sessionID, t, now)
}

func TestTheChatbotRemembersThroughTheSessionStoreItIsGiven(t *testing.T) {
	t.Parallel()
	_, orders, err := agenttest.LoadFixture("testdata/eval.json")
	if err != nil {
		t.Fatal(err)
	}
	store := &recordingStore{SessionStore: agent.NewMemorySessions(time.Hour, 10, 10)}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	bot, err := agent.New(orders, nil, nil, agent.Options{Sessions: store, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	first, err := bot.Answer(t.Context(), contracts.ChatRequest{Query: "Status of 0193a1b2?", CustomerID: "cust-alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(store.adds) != 1 || store.adds[0].Query != "Status of 0193a1b2?" || len(store.adds[0].OrderIDs) != 1 {
		t.Fatalf("turns given to the store = %+v, want the question with its order", store.adds)
	}
	follow, err := bot.Answer(t.Context(), contracts.ChatRequest{Query: "and where is it now?", CustomerID: "cust-alice", SessionID: first.SessionID})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(follow.Answer, "1Z999AA10123456784") {
		t.Errorf("follow-up = %q, want the tracking of the order the store remembered", follow.Answer)
	}

	// A store that cannot be read or written costs the context, never the answer.
	store.broke = errors.New("table unavailable")
	resp, err := bot.Answer(t.Context(), contracts.ChatRequest{Query: "Status of 0193a1b2?", CustomerID: "cust-alice", SessionID: first.SessionID})
	if err != nil || resp.Answer == "" {
		t.Errorf("Answer with a broken session store = %+v, %v; want an answer", resp, err)
	}
}
