package dynamodb_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderflow/orderflow/services/adapters/dynamodb"
)

// Two Lambda instances handling one event at the same moment: exactly one wins the claim.
func TestOneOfManyConcurrentClaimsWins(t *testing.T) {
	t.Parallel()
	client, names := tables(t)
	d := dynamodb.NewDeduper(client, names.Dedup, dynamodb.DeduperOptions{})
	for round := range 5 {
		var wins atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				won, err := d.Claim(t.Context(), "notifier", "event-"+string(rune('a'+round)))
				if err != nil {
					t.Errorf("Claim: %v", err)
				}
				if won {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("round %d: %d of 8 concurrent claims won, want 1", round, wins.Load())
		}
	}
}

func TestAClaimEndsWhenHandledUnclaimedOrItsLeaseRunsOut(t *testing.T) {
	t.Parallel()
	client, names := tables(t)
	clk := newClock(time.Now())
	d := dynamodb.NewDeduper(client, names.Dedup, dynamodb.DeduperOptions{Lease: 30 * time.Second, Retention: time.Hour, Now: clk.now})
	claim := func(id string) bool {
		t.Helper()
		won, err := d.Claim(t.Context(), "notifier", id)
		if err != nil {
			t.Fatalf("Claim %s: %v", id, err)
		}
		return won
	}
	// Handled: no claim wins again within the retention, one does after it.
	if !claim("done") {
		t.Fatal("first claim lost")
	}
	if err := d.MarkSeen(t.Context(), "notifier", "done"); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute) // past the lease: a handled event stays handled
	if claim("done") {
		t.Error("a handled event was claimed again")
	}
	// Unclaimed after a failure: the redelivery wins at once.
	if !claim("failed") || claim("failed") {
		t.Fatal("claim, then a second claim: want won, lost")
	}
	if err := d.Unclaim(t.Context(), "notifier", "failed"); err != nil {
		t.Fatal(err)
	}
	if !claim("failed") {
		t.Error("the redelivery of an unclaimed event lost its claim")
	}
	// Crashed holding the claim: the redelivery wins once the lease has run out, not before.
	if !claim("crashed") {
		t.Fatal("first claim lost")
	}
	clk.add(29 * time.Second)
	if claim("crashed") {
		t.Error("a claim was won while another delivery's lease ran")
	}
	clk.add(2 * time.Second)
	if !claim("crashed") {
		t.Error("the redelivery after the lease ran out lost its claim")
	}
	// Unclaiming a handled event keeps it handled.
	if err := d.Unclaim(t.Context(), "notifier", "done"); err != nil {
		t.Fatal(err)
	}
	if claim("done") {
		t.Error("unclaim turned a handled event back into an unhandled one")
	}
	clk.add(2 * time.Hour) // past the retention: the record is as good as gone
	if !claim("done") {
		t.Error("an event past the retention could not be claimed")
	}
}
