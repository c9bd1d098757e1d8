package ingest_test

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
)

// references returns a generator handing out refs in turn, and how many it handed out.
func references(refs ...string) (func() string, func() int) {
	n := 0
	return func() string {
			r := refs[min(n, len(refs)-1)]
			n++
			return r
		}, func() int {
			return n
		}
}

func TestOrdersCreatedInTheSameMillisecondHaveTheirOwnReferences(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	// The clock stands still: every order is created at the same instant, with the real generator.
	svc := ingest.NewService(store, &memQueue{}, store, ingest.Config{
		Now: func() time.Time { return t0 }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	seen := map[string]string{}
	for range 50 {
		o, _, err := svc.Create(t.Context(), validRequest(), "scope", "")
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if other, ok := seen[o.Reference]; ok {
			t.Fatalf("orders %s and %s, created at the same instant, share reference %s", other, o.OrderID, o.Reference)
		}
		seen[o.Reference] = o.OrderID
		got, err := store.GetByReference(t.Context(), "cust-1", o.Reference)
		if err != nil || got.ID() != o.OrderID {
			t.Errorf("GetByReference(%s) = %v, %v; want order %s", o.Reference, got, err, o.OrderID)
		}
	}
}

func TestCreateDrawsAFreshReferenceWhenItIsTaken(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	gen, drawn := references("7K3M-Q9TX", "7K3M-Q9TX", "7K3M-Q9TX", "8P4N-R0VY")
	svc := ingest.NewService(store, &memQueue{}, store, ingest.Config{
		Now: func() time.Time { return t0 }, NewReference: gen, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	first, _, err := svc.Create(t.Context(), validRequest(), "scope", "")
	if err != nil {
		t.Fatalf("first Create: %v", err)
	}
	second, _, err := svc.Create(t.Context(), validRequest(), "scope", "key-2")
	if err != nil {
		t.Fatalf("second Create: %v", err)
	}
	if first.Reference != "7K3M-Q9TX" || second.Reference != "8P4N-R0VY" {
		t.Errorf("references %s and %s, want 7K3M-Q9TX and then, after two collisions, 8P4N-R0VY", first.Reference, second.Reference)
	}
	if drawn() != 4 {
		t.Errorf("%d references drawn, want 4", drawn())
	}
	// The idempotency record keeps the response with the reference that was stored.
	replay, replayed, err := svc.Create(t.Context(), validRequest(), "scope", "key-2")
	if err != nil || !replayed || replay.Reference != "8P4N-R0VY" || replay.OrderID != second.OrderID {
		t.Errorf("replay = %s %s (replayed %v), %v; want order %s with 8P4N-R0VY", replay.OrderID, replay.Reference, replayed, err, second.OrderID)
	}
}

func TestCreateGivesUpOnAStoreThatRefusesEveryReference(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	gen, drawn := references("7K3M-Q9TX")
	svc := ingest.NewService(store, &memQueue{}, store, ingest.Config{
		Now: func() time.Time { return t0 }, NewReference: gen, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if _, _, err := svc.Create(t.Context(), validRequest(), "scope", ""); err != nil {
		t.Fatalf("first Create: %v", err)
	}
	_, _, err := svc.Create(t.Context(), validRequest(), "scope", "")
	if !errors.Is(err, ingest.ErrReferenceTaken) || fault.KindOf(err) != fault.Internal {
		t.Errorf("Create = %v, want an internal error wrapping ErrReferenceTaken", err)
	}
	if n := drawn(); n != 1+5 {
		t.Errorf("%d references drawn, want 1 + 5 attempts", n)
	}
	if store.Len() != 1 {
		t.Errorf("%d orders stored, want 1", store.Len())
	}
}
