// Package ledgertest is the contract test suite of paysim.Ledger. Every ledger runs it, so that the
// simulated gateway can rely on Apply being atomic per order: no lost update, nothing stored on error.
package ledgertest

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/services/adapters/paysim"
)

// Run runs the suite. open must return an empty ledger of its own, cleaned up when the test ends.
func Run(t *testing.T, open func(t *testing.T) paysim.Ledger) {
	apply := func(t *testing.T, l paysim.Ledger, orderID string, fn func(r *paysim.Record) error) {
		t.Helper()
		if err := l.Apply(t.Context(), orderID, fn); err != nil {
			t.Fatalf("Apply(%s): %v", orderID, err)
		}
	}
	// read returns the stored record of orderID, through an Apply that changes nothing.
	read := func(t *testing.T, l paysim.Ledger, orderID string) paysim.Record {
		t.Helper()
		var got paysim.Record
		apply(t, l, orderID, func(r *paysim.Record) error { got = *r; return nil })
		return got
	}
	authorized := paysim.Record{
		OrderID: "order-1", State: paysim.StateAuthorized, AuthorizationID: "auth-1",
		Amount: 12999, Currency: "USD", Attempts: 2,
	}

	t.Run("an unknown order starts from an empty record with its id", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		if diff := cmp.Diff(paysim.Record{OrderID: "order-1"}, read(t, l, "order-1")); diff != "" {
			t.Errorf("record (-want +got):\n%s", diff)
		}
	})
	t.Run("apply stores every field of the record", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		declined := paysim.Record{OrderID: "order-2", State: paysim.StateDeclined, Amount: 5, Currency: "EUR", Attempts: 1, DeclineCode: "INSUFFICIENT_FUNDS"}
		for _, want := range []paysim.Record{authorized, declined} {
			apply(t, l, want.OrderID, func(r *paysim.Record) error { *r = want; return nil })
		}
		for _, want := range []paysim.Record{authorized, declined} {
			if diff := cmp.Diff(want, read(t, l, want.OrderID)); diff != "" {
				t.Errorf("record of %s (-want +got):\n%s", want.OrderID, diff)
			}
		}
	})
	t.Run("a failing function stores nothing and its error comes back", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		apply(t, l, "order-1", func(r *paysim.Record) error { *r = authorized; return nil })
		boom := errors.New("declined by the simulation")
		err := l.Apply(t.Context(), "order-1", func(r *paysim.Record) error {
			r.State, r.Attempts = paysim.StateVoided, 99
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("Apply error = %v, want %v", err, boom)
		}
		if diff := cmp.Diff(authorized, read(t, l, "order-1")); diff != "" {
			t.Errorf("record after a failed Apply (-want +got):\n%s", diff)
		}
	})
	t.Run("50 concurrent applies to one order lose no update", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if err := l.Apply(t.Context(), "order-1", func(r *paysim.Record) error { r.Attempts++; return nil }); err != nil {
					t.Errorf("Apply: %v", err)
				}
			})
		}
		wg.Wait()
		if got := read(t, l, "order-1").Attempts; got != 50 {
			t.Errorf("attempts = %d, want 50", got)
		}
	})
	t.Run("orders have separate records", func(t *testing.T) {
		t.Parallel()
		l := open(t)
		apply(t, l, "order-1", func(r *paysim.Record) error { *r = authorized; return nil })
		if diff := cmp.Diff(paysim.Record{OrderID: "order-2"}, read(t, l, "order-2")); diff != "" {
			t.Errorf("record of another order (-want +got):\n%s", diff)
		}
	})
}
