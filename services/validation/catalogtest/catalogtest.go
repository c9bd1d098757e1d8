// Package catalogtest is the contract test suite of validation.Catalog, the prices validation reads. It
// runs against every inventory adapter through validation.CatalogOf, which is what validation is given:
// a store may answer prices from memory, and they must follow every change of the catalog as soon as the
// change returns.
package catalogtest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/validation"
)

// Run runs the suite on validation.CatalogOf(store). open must return an empty store of its own, cleaned
// up when the test ends.
func Run(t *testing.T, open func(t *testing.T) inventory.Store) {
	put := func(t *testing.T, s inventory.Store, id string, price contracts.Amount, available int) {
		t.Helper()
		if err := s.PutProduct(t.Context(), inventory.Product{ID: id, Name: "Product " + id, Price: price, Available: available}); err != nil {
			t.Fatalf("PutProduct(%s, %s): %v", id, price, err)
		}
	}
	price := func(t *testing.T, c validation.Catalog, id string) contracts.Amount {
		t.Helper()
		p, err := c.Price(t.Context(), id)
		if err != nil {
			t.Fatalf("Price(%s): %v", id, err)
		}
		return p
	}
	t.Run("a product's price, and not found for one not in the catalog", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := validation.CatalogOf(s)
		put(t, s, "A", 1299, 3)
		for range 2 { // the second time from memory, if the store keeps prices
			if got := price(t, c, "A"); got != 1299 {
				t.Errorf("Price(A) = %s, want 12.99", got)
			}
			if _, err := c.Price(t.Context(), "nope"); !fault.Is(err, fault.NotFound) {
				t.Errorf("Price(nope) = %v, want a NotFound error", err)
			}
		}
	})
	t.Run("follows PutProduct, PutProductIf and a product added later", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := validation.CatalogOf(s)
		if _, err := c.Price(t.Context(), "B"); !fault.Is(err, fault.NotFound) {
			t.Fatalf("Price(B) before it exists = %v, want a NotFound error", err)
		}
		put(t, s, "B", 100, 1)
		if got := price(t, c, "B"); got != 100 {
			t.Fatalf("Price(B) after it was added = %s, want 1.00", got)
		}
		put(t, s, "B", 250, 1)
		if got := price(t, c, "B"); got != 250 {
			t.Errorf("Price(B) after PutProduct = %s, want 2.50", got)
		}
		if err := s.PutProductIf(t.Context(), inventory.Product{ID: "B", Name: "Product B", Price: 375, Available: 1}, inventory.Present); err != nil {
			t.Fatalf("PutProductIf: %v", err)
		}
		if got := price(t, c, "B"); got != 375 {
			t.Errorf("Price(B) after PutProductIf = %s, want 3.75", got)
		}
		if err := s.PutProductIf(t.Context(), inventory.Product{ID: "B", Name: "Product B", Price: 999, Available: 1}, "stale-etag"); err == nil {
			t.Fatalf("PutProductIf with a stale etag succeeded")
		}
		if got := price(t, c, "B"); got != 375 {
			t.Errorf("Price(B) after a refused PutProductIf = %s, want 3.75", got)
		}
	})
	t.Run("stock changes leave prices alone", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := validation.CatalogOf(s)
		put(t, s, "C", 100, 5)
		if err := s.Reserve(t.Context(), "o1", []inventory.Line{{ProductID: "C", Quantity: 5}}); err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		if got := price(t, c, "C"); got != 100 {
			t.Errorf("Price(C) of a product out of stock = %s, want 1.00", got)
		}
		if _, _, err := s.Release(t.Context(), "o1"); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if got := price(t, c, "C"); got != 100 {
			t.Errorf("Price(C) after a release = %s, want 1.00", got)
		}
	})
	t.Run("readers racing price changes never see an older price once a change returned", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := validation.CatalogOf(s)
		put(t, s, "D", 1, 1)
		var mu sync.Mutex
		returned := contracts.Amount(1) // the highest price whose PutProduct has returned
		stop := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					floor := returned
					mu.Unlock()
					p, err := c.Price(t.Context(), "D")
					if err == nil && p < floor {
						err = fmt.Errorf("Price(D) = %s after the change to %s returned", p, floor)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		for p := contracts.Amount(2); p <= 60; p++ {
			put(t, s, "D", p, 1)
			mu.Lock()
			returned = p
			mu.Unlock()
		}
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}
