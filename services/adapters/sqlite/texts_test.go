package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/fault"
)

func TestTextsAreReadBackOldestFirstPerOrder(t *testing.T) {
	t.Parallel()
	db := open(t, sqlite.Options{})
	ctx := context.Background()
	const order, other = "0195f000-0000-7000-8000-000000000001", "0195f000-0000-7000-8000-000000000002"
	created := contracts.Text{ID: "ev-created", OrderID: order, To: "+31629408162", Text: "🛒 Order Created!\nOrder: 7K3M-Q9TX", SentAt: now}
	completed := contracts.Text{ID: "ev-completed", OrderID: order, To: "+31629408162", Text: "✅ Order Completed!\nOrder: 7K3M-Q9TX", SentAt: now.Add(2 * time.Second)}
	unaddressed := contracts.Text{ID: "ev-other", OrderID: other, To: "", Text: "❌ Order Failed!", SentAt: now.Add(time.Second)}
	// Recorded out of order: the listing is by the time they were sent.
	for _, text := range []contracts.Text{completed, unaddressed, created} {
		if err := db.RecordText(ctx, text); err != nil {
			t.Fatalf("RecordText %s: %v", text.ID, err)
		}
	}
	got, err := db.Texts(ctx, order)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]contracts.Text{created, completed}, got); diff != "" {
		t.Errorf("Texts (-want +got):\n%s", diff)
	}
	got, err = db.Texts(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]contracts.Text{unaddressed}, got); diff != "" {
		t.Errorf("Texts of the other order (-want +got):\n%s", diff)
	}
}

func TestATextSentAgainIsKeptOnce(t *testing.T) {
	t.Parallel()
	db := open(t, sqlite.Options{})
	ctx := context.Background()
	first := contracts.Text{ID: "ev-1", OrderID: "o1", To: "+3100000000", Text: "🛒 Order Created!", SentAt: now}
	again := first
	again.SentAt = now.Add(time.Minute) // the redelivery's send
	for _, text := range []contracts.Text{first, again, again} {
		if err := db.RecordText(ctx, text); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Texts(ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]contracts.Text{first}, got); diff != "" {
		t.Errorf("Texts (-want +got):\n%s", diff)
	}
}

func TestAnOrderWithoutTextsHasAnEmptyList(t *testing.T) {
	t.Parallel()
	db := open(t, sqlite.Options{})
	got, err := db.Texts(context.Background(), "no-such-order")
	if err != nil {
		t.Fatalf("Texts of an unknown order: %v, want no error", err)
	}
	if got == nil || len(got) != 0 {
		t.Errorf("Texts = %#v, want an empty, non-nil list", got)
	}
}

func TestRecordTextRefusesATextWithoutAnID(t *testing.T) {
	t.Parallel()
	db := open(t, sqlite.Options{})
	err := db.RecordText(context.Background(), contracts.Text{OrderID: "o1", Text: "hi", SentAt: now})
	if !fault.Is(err, fault.Invalid) {
		t.Errorf("RecordText without id: %v, want a fault.Invalid error", err)
	}
}

func TestTextsSurviveReopening(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "orderflow.db")
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := contracts.Text{ID: "ev-1", OrderID: "o1", To: "+3100000000", Text: "🛒 Order Created!", SentAt: now}
	if err := db.RecordText(context.Background(), text); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = sqlite.Open(path, sqlite.Options{}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Texts(context.Background(), "o1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]contracts.Text{text}, got); diff != "" {
		t.Errorf("Texts after reopening (-want +got):\n%s", diff)
	}
}

func TestTextRecordedSaysWhetherATextIsStored(t *testing.T) {
	t.Parallel()
	db := open(t, sqlite.Options{})
	ctx := context.Background()
	text := contracts.Text{ID: "ev-created", OrderID: "0195f000-0000-7000-8000-000000000001", To: "+31629408162", Text: "🛒 Order Created!", SentAt: now}
	for _, step := range []struct {
		record bool
		want   bool
	}{{false, false}, {true, true}, {true, true}} {
		if step.record {
			if err := db.RecordText(ctx, text); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.TextRecorded(ctx, text.OrderID, text.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got != step.want {
			t.Errorf("TextRecorded after recording=%v = %v, want %v", step.record, got, step.want)
		}
	}
	if got, err := db.TextRecorded(ctx, text.OrderID, "ev-other"); err != nil || got {
		t.Errorf("TextRecorded(another id) = %v, %v; want false", got, err)
	}
	if got, err := db.TextRecorded(ctx, "0195f000-0000-7000-8000-000000000002", text.ID); err != nil || got {
		t.Errorf("TextRecorded(another order) = %v, %v; want false", got, err)
	}
}
