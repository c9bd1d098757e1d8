package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/agent/internal/agenttest"
	"github.com/orderflow/orderflow/contracts"
)

// minEvalScore is the share of evaluation cases the offline responder must get fully right.
const minEvalScore = 0.95

var evalNow = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// TestOfflineEvaluation runs the evaluation set (testdata/eval.json: seeded orders in every status and
// customer questions with the facts each answer must carry) against the offline responder and reports
// its score.
func TestOfflineEvaluation(t *testing.T) {
	fx, orders, err := agenttest.LoadFixture("testdata/eval.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.Cases) < 40 {
		t.Fatalf("the evaluation set has %d cases, want at least 40", len(fx.Cases))
	}
	bot, err := New(orders, nil, prometheus.NewRegistry(), Options{Now: func() time.Time { return evalNow }})
	if err != nil {
		t.Fatal(err)
	}
	var passed, facts, found int
	for _, tc := range fx.Cases {
		req := contracts.ChatRequest{Query: tc.Query, CustomerID: tc.CustomerID}
		if tc.Session != "" {
			req.SessionID = "eval-" + tc.Session
		}
		resp, err := bot.Answer(context.Background(), req)
		if err != nil {
			t.Errorf("%s: Answer: %v", tc.Name, err)
			facts += len(tc.Facts)
			continue
		}
		var problems []string
		lower := strings.ToLower(resp.Answer)
		for _, f := range tc.Facts {
			facts++
			if strings.Contains(lower, strings.ToLower(f)) {
				found++
			} else {
				problems = append(problems, fmt.Sprintf("missing %q", f))
			}
		}
		for _, f := range tc.Forbidden {
			if strings.Contains(lower, strings.ToLower(f)) {
				problems = append(problems, fmt.Sprintf("leaks %q", f))
			}
		}
		if tc.OrderIDs != nil && !sameSet(tc.OrderIDs, resp.OrderIDs) {
			problems = append(problems, fmt.Sprintf("orderIds %v, want %v", resp.OrderIDs, tc.OrderIDs))
		}
		if resp.Source != contracts.ChatSourceFallback {
			problems = append(problems, fmt.Sprintf("source %q, want %q", resp.Source, contracts.ChatSourceFallback))
		}
		if len(problems) > 0 {
			t.Logf("FAIL %s: %q → %q: %s", tc.Name, tc.Query, resp.Answer, strings.Join(problems, "; "))
			// A leak is never a matter of score.
			for _, p := range problems {
				if strings.HasPrefix(p, "leaks") {
					t.Errorf("%s: %s", tc.Name, p)
				}
			}
			continue
		}
		passed++
		t.Logf("ok   %s: %q → %q", tc.Name, tc.Query, resp.Answer)
	}
	score := float64(passed) / float64(len(fx.Cases))
	summary := fmt.Sprintf("offline responder evaluation: %d/%d cases passed (%.1f%%), %d/%d facts found",
		passed, len(fx.Cases), 100*score, found, facts)
	t.Log(summary)
	fmt.Println(summary)
	if score < minEvalScore {
		t.Errorf("evaluation score %.1f%% is below %.0f%%", 100*score, 100*minEvalScore)
	}
}

func sameSet(want, got []string) bool {
	a, b := slices.Clone(want), slices.Clone(got)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
