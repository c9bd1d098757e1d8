package sqlite_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
)

// TestClonedOrdersCountAsDeliveredHistory: the copies' events are history, so the cursors at the end of
// the log move past them; while a consumer still has events to deliver, the fill is refused.
func TestClonedOrdersCountAsDeliveredHistory(t *testing.T) {
	t.Parallel()
	db := open(t, sqlite.Options{Router: router(t)})
	ctx := t.Context()
	tmpl := pipelinetest.NewOrder(t, "cust-1", now)
	if err := db.Create(ctx, tmpl, nil); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := db.Update(ctx, tmpl.ID(), func(o *order.Order) ([]contracts.Event, error) {
		if err := o.StartValidation(now); err != nil {
			return nil, err
		}
		e, err := pipeline.LocalEnvelope.Event(o, contracts.SourceOrders, contracts.DetailOrderCreated, contracts.OrderCreatedDetail{DetailMeta: pipeline.Meta(o)}, now)
		return []contracts.Event{e}, err
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	entries, err := db.Log(ctx, 0, 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("Log = %d, %v; want the template's event", len(entries), err)
	}
	if _, err := db.Cursors(ctx, []string{"done", "behind"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Advance(ctx, localbus.Cursor{Target: "done", Seq: entries[0].Seq}); err != nil {
		t.Fatal(err)
	}
	clone := func(i int) (string, string, string) {
		o := pipelinetest.NewOrder(t, "cust-2", now.Add(time.Duration(i+1)*time.Second))
		return o.ID(), o.Reference(), ""
	}
	// A consumer with events still to deliver would be sent every copy's: the fill refuses, adding nothing.
	if err := db.CloneOrder(ctx, tmpl.ID(), 3, clone); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("CloneOrder with a consumer behind = %v, want a fault.Conflict error", err)
	}
	if all, _ := db.Log(ctx, 0, 10); len(all) != 1 {
		t.Fatalf("the refused fill added %d events", len(all)-1)
	}
	if err := db.Advance(ctx, localbus.Cursor{Target: "behind", Seq: entries[0].Seq}); err != nil {
		t.Fatal(err)
	}
	// Cursor moves are stored with the next batch: wait for it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got, err := db.Cursors(ctx, []string{"done", "behind"}); err == nil && got["behind"] == entries[0].Seq && got["done"] == entries[0].Seq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cursor moves were not stored within 5 s")
		}
	}
	if err := db.CloneOrder(ctx, tmpl.ID(), 3, clone); err != nil {
		t.Fatalf("CloneOrder: %v", err)
	}
	all, err := db.Log(ctx, 0, 10)
	if err != nil || len(all) != 4 {
		t.Fatalf("Log after cloning = %d, %v; want 4 events", len(all), err)
	}
	got, err := db.Cursors(ctx, []string{"done", "behind"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"done": all[3].Seq, "behind": all[3].Seq}, got); diff != "" {
		t.Errorf("cursors after cloning (-want +got):\n%s", diff)
	}
}
