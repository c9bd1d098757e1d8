// Package inventorytest is the contract test suite of inventory.Store. Every adapter of the port runs
// it, so that they all keep the promises the inventory service relies on: all-or-nothing reservations,
// stock that never goes negative under any concurrency, and a release that happens exactly once.
package inventorytest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/inventory"
)

// Run runs the suite. open must return an empty store of its own, cleaned up when the test ends.
func Run(t *testing.T, open func(t *testing.T) inventory.Store) {
	t.Run("catalog", func(t *testing.T) { t.Parallel(); testCatalog(t, open) })
	t.Run("reserve", func(t *testing.T) { t.Parallel(); testReserve(t, open) })
	t.Run("reserve is idempotent per order", func(t *testing.T) { t.Parallel(); testReserveIdempotent(t, open) })
	t.Run("release", func(t *testing.T) { t.Parallel(); testRelease(t, open) })
	t.Run("concurrency", func(t *testing.T) { t.Parallel(); testConcurrency(t, open) })
	t.Run("large orders", func(t *testing.T) { t.Parallel(); testLargeOrders(t, open) })
}

// seed stores products with the given stock, named after their ids and priced 1.00.
func seed(t *testing.T, s inventory.Store, stock map[string]int) {
	t.Helper()
	for id, n := range stock {
		if err := s.PutProduct(t.Context(), inventory.Product{ID: id, Name: "Product " + id, Price: 100, Available: n}); err != nil {
			t.Fatalf("PutProduct(%s): %v", id, err)
		}
	}
}

// stock returns the available stock of every product.
func stock(t *testing.T, s inventory.Store) map[string]int {
	t.Helper()
	ps, err := s.Products(t.Context())
	if err != nil {
		t.Fatalf("Products: %v", err)
	}
	out := map[string]int{}
	for _, p := range ps {
		out[p.ID] = p.Available
	}
	return out
}

// sum adds up lines per product.
func sum(lines []inventory.Line) map[string]int {
	out := map[string]int{}
	for _, l := range lines {
		out[l.ProductID] += l.Quantity
	}
	return out
}

func checkStock(t *testing.T, s inventory.Store, want map[string]int) {
	t.Helper()
	if diff := cmp.Diff(want, stock(t, s)); diff != "" {
		t.Errorf("stock (-want +got):\n%s", diff)
	}
}

func testCatalog(t *testing.T, open func(t *testing.T) inventory.Store) {
	t.Run("put product then read it back", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		p := inventory.Product{ID: "LAPTOP001", Name: "Laptop", Price: 129999, Available: 7}
		if err := s.PutProduct(t.Context(), p); err != nil {
			t.Fatalf("PutProduct: %v", err)
		}
		got, err := s.Product(t.Context(), p.ID)
		if err != nil {
			t.Fatalf("Product: %v", err)
		}
		if diff := cmp.Diff(p, got); diff != "" {
			t.Errorf("Product (-want +got):\n%s", diff)
		}
	})
	t.Run("put product replaces an existing product", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 5})
		p := inventory.Product{ID: "A", Name: "Renamed", Price: 250, Available: 9}
		if err := s.PutProduct(t.Context(), p); err != nil {
			t.Fatalf("PutProduct: %v", err)
		}
		got, err := s.Product(t.Context(), "A")
		if err != nil {
			t.Fatalf("Product: %v", err)
		}
		if diff := cmp.Diff(p, got); diff != "" {
			t.Errorf("Product (-want +got):\n%s", diff)
		}
	})
	t.Run("products are listed by id", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"C": 1, "A": 2, "B": 3})
		ps, err := s.Products(t.Context())
		if err != nil {
			t.Fatalf("Products: %v", err)
		}
		var ids []string
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		if diff := cmp.Diff([]string{"A", "B", "C"}, ids); diff != "" {
			t.Errorf("product ids (-want +got):\n%s", diff)
		}
	})
	t.Run("unknown product is not found", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, err := s.Product(t.Context(), "NOPE")
		if !fault.Is(err, fault.NotFound) {
			t.Errorf("Product(unknown) error = %v, want kind not found", err)
		}
	})
	t.Run("a conditional put writes only over the state it was read from", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 5})
		read, err := s.Product(t.Context(), "A")
		if err != nil {
			t.Fatal(err)
		}
		// Stock is taken after the admin read the product: their write must be refused, not undo it.
		if err := s.Reserve(t.Context(), "o1", []inventory.Line{{ProductID: "A", Quantity: 5}}); err != nil {
			t.Fatal(err)
		}
		stale := read
		stale.Name = "Renamed"
		if err := s.PutProductIf(t.Context(), stale, read.ETag()); !errors.Is(err, inventory.ErrChanged) {
			t.Fatalf("PutProductIf with a stale ETag = %v, want ErrChanged", err)
		}
		checkStock(t, s, map[string]int{"A": 0})
		fresh, _ := s.Product(t.Context(), "A")
		fresh.Name = "Renamed"
		if err := s.PutProductIf(t.Context(), fresh, mustProduct(t, s, "A").ETag()); err != nil {
			t.Fatalf("PutProductIf with the current ETag: %v", err)
		}
		if got := mustProduct(t, s, "A"); got.Name != "Renamed" || got.Available != 0 {
			t.Errorf("after the conditional put: %+v", got)
		}
		if err := s.PutProductIf(t.Context(), inventory.Product{ID: "NEW", Name: "n", Price: 1, Available: 1}, `"x"`); !errors.Is(err, inventory.ErrChanged) {
			t.Errorf("PutProductIf of a missing product = %v, want ErrChanged", err)
		}
	})
	t.Run("a conditional create writes only where there is no product", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 5})
		if err := s.PutProductIf(t.Context(), inventory.Product{ID: "A", Name: "Other", Price: 1, Available: 99}, inventory.Absent); !errors.Is(err, inventory.ErrChanged) {
			t.Fatalf("creating an existing product = %v, want ErrChanged", err)
		}
		if got := mustProduct(t, s, "A"); got.Name == "Other" || got.Available != 5 {
			t.Errorf("the refused create changed the product: %+v", got)
		}
		if err := s.PutProductIf(t.Context(), inventory.Product{ID: "NEW", Name: "New", Price: 250, Available: 7}, inventory.Absent); err != nil {
			t.Fatalf("creating a new product: %v", err)
		}
		if got := mustProduct(t, s, "NEW"); got.Name != "New" || got.Price != 250 || got.Available != 7 {
			t.Errorf("created product reads back as %+v", got)
		}
	})
	t.Run("a write on condition of existence writes only over a product", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 5})
		if err := s.PutProductIf(t.Context(), inventory.Product{ID: "NEW", Name: "New", Price: 1, Available: 1}, inventory.Present); !errors.Is(err, inventory.ErrChanged) {
			t.Fatalf("PutProductIf(Present) of a missing product = %v, want ErrChanged", err)
		}
		if _, err := s.Product(t.Context(), "NEW"); !fault.Is(err, fault.NotFound) {
			t.Errorf("the refused write created the product: %v", err)
		}
		if err := s.PutProductIf(t.Context(), inventory.Product{ID: "A", Name: "Renamed", Price: 300, Available: 9}, inventory.Present); err != nil {
			t.Fatalf("PutProductIf(Present) of an existing product: %v", err)
		}
		if got := mustProduct(t, s, "A"); got.Name != "Renamed" || got.Price != 300 || got.Available != 9 {
			t.Errorf("replaced product reads back as %+v", got)
		}
	})
	t.Run("negative stock is refused", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 3})
		if err := s.PutProduct(t.Context(), inventory.Product{ID: "A", Name: "A", Price: 100, Available: -1}); err == nil {
			t.Errorf("PutProduct(available -1) = nil, want an error")
		}
		checkStock(t, s, map[string]int{"A": 3})
	})
}

func testReserve(t *testing.T, open func(t *testing.T) inventory.Store) {
	tests := []struct {
		name      string
		stock     map[string]int
		lines     []inventory.Line
		wantErr   error
		wantStock map[string]int
	}{
		{
			name:      "takes the stock of every line",
			stock:     map[string]int{"A": 5, "B": 5},
			lines:     []inventory.Line{{ProductID: "A", Quantity: 2}, {ProductID: "B", Quantity: 1}},
			wantStock: map[string]int{"A": 3, "B": 4},
		},
		{
			name:      "takes exactly the last units",
			stock:     map[string]int{"A": 2},
			lines:     []inventory.Line{{ProductID: "A", Quantity: 2}},
			wantStock: map[string]int{"A": 0},
		},
		{
			name:      "adds up duplicate lines of one product",
			stock:     map[string]int{"A": 5},
			lines:     []inventory.Line{{ProductID: "A", Quantity: 2}, {ProductID: "A", Quantity: 3}},
			wantStock: map[string]int{"A": 0},
		},
		{
			name:      "refuses duplicate lines that together exceed the stock",
			stock:     map[string]int{"A": 4},
			lines:     []inventory.Line{{ProductID: "A", Quantity: 2}, {ProductID: "A", Quantity: 3}},
			wantErr:   inventory.ErrOutOfStock,
			wantStock: map[string]int{"A": 4},
		},
		{
			name:      "takes nothing when one line is short",
			stock:     map[string]int{"A": 5, "B": 1},
			lines:     []inventory.Line{{ProductID: "A", Quantity: 2}, {ProductID: "B", Quantity: 2}},
			wantErr:   inventory.ErrOutOfStock,
			wantStock: map[string]int{"A": 5, "B": 1},
		},
		{
			name:      "takes nothing when the first line is short",
			stock:     map[string]int{"A": 1, "B": 5},
			lines:     []inventory.Line{{ProductID: "A", Quantity: 2}, {ProductID: "B", Quantity: 2}},
			wantErr:   inventory.ErrOutOfStock,
			wantStock: map[string]int{"A": 1, "B": 5},
		},
		{
			name:      "refuses an unknown product as out of stock and takes nothing",
			stock:     map[string]int{"A": 5},
			lines:     []inventory.Line{{ProductID: "A", Quantity: 1}, {ProductID: "GHOST", Quantity: 1}},
			wantErr:   inventory.ErrOutOfStock,
			wantStock: map[string]int{"A": 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			seed(t, s, tt.stock)
			err := s.Reserve(t.Context(), "order-1", tt.lines)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Reserve error = %v, want %v", err, tt.wantErr)
			}
			checkStock(t, s, tt.wantStock)
			if tt.wantErr != nil {
				// A refused reservation holds nothing, so there is nothing to release.
				lines, ok, err := s.Release(t.Context(), "order-1")
				if err != nil || ok || len(lines) != 0 {
					t.Errorf("Release after a refused Reserve = %v, %v, %v; want nothing released", lines, ok, err)
				}
				checkStock(t, s, tt.wantStock)
			}
		})
	}
}

func testReserveIdempotent(t *testing.T, open func(t *testing.T) inventory.Store) {
	s := open(t)
	seed(t, s, map[string]int{"A": 5})
	lines := []inventory.Line{{ProductID: "A", Quantity: 2}}
	for i := range 3 {
		if err := s.Reserve(t.Context(), "order-1", lines); err != nil {
			t.Fatalf("Reserve #%d: %v", i+1, err)
		}
	}
	checkStock(t, s, map[string]int{"A": 3})
}

func testRelease(t *testing.T, open func(t *testing.T) inventory.Store) {
	t.Run("gives the stock back exactly once and repeats the lines later", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 5, "B": 5})
		if err := s.Reserve(t.Context(), "order-1", []inventory.Line{{ProductID: "A", Quantity: 2}, {ProductID: "B", Quantity: 1}, {ProductID: "A", Quantity: 1}}); err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		lines, ok, err := s.Release(t.Context(), "order-1")
		if err != nil || !ok {
			t.Fatalf("first Release = %v, %v; want true, nil", ok, err)
		}
		want := map[string]int{"A": 3, "B": 1}
		if diff := cmp.Diff(want, sum(lines)); diff != "" {
			t.Errorf("released lines (-want +got):\n%s", diff)
		}
		checkStock(t, s, map[string]int{"A": 5, "B": 5})
		for i := 2; i <= 3; i++ {
			lines, ok, err = s.Release(t.Context(), "order-1")
			if err != nil || ok {
				t.Errorf("Release #%d = %v, %v; want false, nil", i, ok, err)
			}
			if diff := cmp.Diff(want, sum(lines)); diff != "" {
				t.Errorf("Release #%d lines, the same as released the first time (-want +got):\n%s", i, diff)
			}
		}
		checkStock(t, s, map[string]int{"A": 5, "B": 5})
	})
	t.Run("reserve after release is refused", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 5})
		lines := []inventory.Line{{ProductID: "A", Quantity: 2}}
		if err := s.Reserve(t.Context(), "order-1", lines); err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		if _, _, err := s.Release(t.Context(), "order-1"); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if err := s.Reserve(t.Context(), "order-1", lines); !errors.Is(err, inventory.ErrReleased) {
			t.Errorf("Reserve after Release error = %v, want ErrReleased", err)
		}
		checkStock(t, s, map[string]int{"A": 5})
	})
	t.Run("release before any reserve blocks a later reserve", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 5})
		lines, ok, err := s.Release(t.Context(), "order-1")
		if err != nil || ok || len(lines) != 0 {
			t.Fatalf("Release without reservation = %v, %v, %v; want nothing released", lines, ok, err)
		}
		if err := s.Reserve(t.Context(), "order-1", []inventory.Line{{ProductID: "A", Quantity: 1}}); !errors.Is(err, inventory.ErrReleased) {
			t.Errorf("Reserve after Release error = %v, want ErrReleased", err)
		}
		checkStock(t, s, map[string]int{"A": 5})
	})
	t.Run("releasing one order leaves other reservations alone", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 5})
		for _, id := range []string{"order-1", "order-2"} {
			if err := s.Reserve(t.Context(), id, []inventory.Line{{ProductID: "A", Quantity: 2}}); err != nil {
				t.Fatalf("Reserve(%s): %v", id, err)
			}
		}
		if _, ok, err := s.Release(t.Context(), "order-1"); err != nil || !ok {
			t.Fatalf("Release(order-1) = %v, %v", ok, err)
		}
		checkStock(t, s, map[string]int{"A": 3})
	})
}

func testConcurrency(t *testing.T, open func(t *testing.T) inventory.Store) {
	scarce := []struct {
		name      string
		stock     int
		perOrder  int
		orders    int
		wantWins  int
		wantStock int
	}{
		{name: "50 orders racing for 10 units: exactly 10 win", stock: 10, perOrder: 1, orders: 50, wantWins: 10, wantStock: 0},
		{name: "50 orders of 2 racing for 25 units: exactly 12 win", stock: 25, perOrder: 2, orders: 50, wantWins: 12, wantStock: 1},
		{name: "50 orders racing for plenty: all win", stock: 100, perOrder: 2, orders: 50, wantWins: 50, wantStock: 0},
	}
	for _, tt := range scarce {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			seed(t, s, map[string]int{"A": tt.stock, "B": 1000})
			errs := make([]error, tt.orders)
			var wg sync.WaitGroup
			for i := range tt.orders {
				wg.Go(func() {
					lines := []inventory.Line{{ProductID: "B", Quantity: 1}, {ProductID: "A", Quantity: tt.perOrder}}
					errs[i] = s.Reserve(t.Context(), fmt.Sprintf("order-%d", i), lines)
				})
			}
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, inventory.ErrOutOfStock):
					t.Errorf("Reserve(order-%d) error = %v, want nil or ErrOutOfStock", i, err)
				}
			}
			if wins != tt.wantWins {
				t.Errorf("%d reservations succeeded, want %d", wins, tt.wantWins)
			}
			// B is taken only by the winners: the losers' B lines were rolled back.
			checkStock(t, s, map[string]int{"A": tt.wantStock, "B": 1000 - tt.wantWins})
		})
	}
	t.Run("the same order reserving from 20 goroutines takes stock once", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 10})
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if err := s.Reserve(t.Context(), "order-1", []inventory.Line{{ProductID: "A", Quantity: 3}}); err != nil {
					t.Errorf("Reserve: %v", err)
				}
			})
		}
		wg.Wait()
		checkStock(t, s, map[string]int{"A": 7})
	})
	t.Run("20 goroutines releasing one order release it once", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 10})
		if err := s.Reserve(t.Context(), "order-1", []inventory.Line{{ProductID: "A", Quantity: 3}}); err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		var mu sync.Mutex
		released := 0
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, ok, err := s.Release(t.Context(), "order-1")
				if err != nil {
					t.Errorf("Release: %v", err)
				}
				if ok {
					mu.Lock()
					released++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if released != 1 {
			t.Errorf("%d releases returned true, want 1", released)
		}
		checkStock(t, s, map[string]int{"A": 10})
	})
	t.Run("reserves racing releases of the same order never leak stock", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		seed(t, s, map[string]int{"A": 1000})
		var wg sync.WaitGroup
		for i := range 40 {
			id := fmt.Sprintf("order-%d", i%10)
			if i%2 == 0 {
				wg.Go(func() {
					err := s.Reserve(t.Context(), id, []inventory.Line{{ProductID: "A", Quantity: 5}})
					if err != nil && !errors.Is(err, inventory.ErrReleased) {
						t.Errorf("Reserve(%s): %v", id, err)
					}
				})
			} else {
				wg.Go(func() {
					if _, _, err := s.Release(t.Context(), id); err != nil {
						t.Errorf("Release(%s): %v", id, err)
					}
				})
			}
		}
		wg.Wait()
		// Releasing every order once more must bring all the stock back: nothing was taken twice or lost.
		for i := range 10 {
			if _, _, err := s.Release(t.Context(), fmt.Sprintf("order-%d", i)); err != nil {
				t.Fatalf("Release: %v", err)
			}
		}
		checkStock(t, s, map[string]int{"A": 1000})
	})
}

// MaxOrderLines is the most lines an order can have (order.MaxItems): a reservation of that many
// distinct products must work, although it is more than one DynamoDB transaction holds with the
// reservation's own record.
const MaxOrderLines = 100

func testLargeOrders(t *testing.T, open func(t *testing.T) inventory.Store) {
	// manyProducts seeds n products P000… with the given stock each and returns one line of q per product.
	manyProducts := func(t *testing.T, s inventory.Store, n, stock, q int) ([]inventory.Line, map[string]int) {
		t.Helper()
		seeded := map[string]int{}
		var lines []inventory.Line
		for i := range n {
			id := fmt.Sprintf("P%03d", i)
			seeded[id] = stock
			lines = append(lines, inventory.Line{ProductID: id, Quantity: q})
		}
		seed(t, s, seeded)
		return lines, seeded
	}
	t.Run("a reservation of 100 distinct products takes and gives back every line", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		lines, seeded := manyProducts(t, s, MaxOrderLines, 5, 2)
		if err := s.Reserve(t.Context(), "order-1", lines); err != nil {
			t.Fatalf("Reserve of %d products: %v", len(lines), err)
		}
		taken := map[string]int{}
		for id := range seeded {
			taken[id] = 3
		}
		checkStock(t, s, taken)
		if err := s.Reserve(t.Context(), "order-1", lines); err != nil {
			t.Fatalf("second Reserve: %v", err)
		}
		checkStock(t, s, taken)
		released, ok, err := s.Release(t.Context(), "order-1")
		if err != nil || !ok {
			t.Fatalf("Release = %v, %v; want true, nil", ok, err)
		}
		if diff := cmp.Diff(sum(lines), sum(released)); diff != "" {
			t.Errorf("released lines (-want +got):\n%s", diff)
		}
		checkStock(t, s, seeded)
		again, ok, err := s.Release(t.Context(), "order-1")
		if err != nil || ok {
			t.Errorf("second Release = %v, %v; want false, nil", ok, err)
		}
		if diff := cmp.Diff(sum(lines), sum(again)); diff != "" {
			t.Errorf("lines of the second Release (-want +got):\n%s", diff)
		}
		checkStock(t, s, seeded)
	})
	t.Run("one short line among 100 products takes nothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		lines, seeded := manyProducts(t, s, MaxOrderLines, 5, 2)
		// The last product by id is short, so an adapter that reserves in id order has taken the others.
		last := lines[len(lines)-1].ProductID
		seed(t, s, map[string]int{last: 1})
		seeded[last] = 1
		err := s.Reserve(t.Context(), "order-1", lines)
		if !errors.Is(err, inventory.ErrOutOfStock) {
			t.Fatalf("Reserve error = %v, want ErrOutOfStock", err)
		}
		checkStock(t, s, seeded)
		if released, ok, err := s.Release(t.Context(), "order-1"); err != nil || ok || len(released) != 0 {
			t.Errorf("Release after a refused Reserve = %v, %v, %v; want nothing released", released, ok, err)
		}
		checkStock(t, s, seeded)
	})
	t.Run("concurrent reservations of 100 products never go negative", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		lines, _ := manyProducts(t, s, MaxOrderLines, 5, 2)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = s.Reserve(t.Context(), fmt.Sprintf("order-%d", i), lines) })
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, inventory.ErrOutOfStock):
				t.Errorf("Reserve(order-%d) error = %v, want nil or ErrOutOfStock", i, err)
			}
		}
		if wins != 2 {
			t.Errorf("%d reservations of 2 of each of 5 units succeeded, want 2", wins)
		}
		for id, n := range stock(t, s) {
			if n != 1 {
				t.Errorf("stock of %s = %d, want 1", id, n)
			}
		}
	})
	t.Run("release before reserve refuses a large reservation", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		lines, seeded := manyProducts(t, s, MaxOrderLines, 5, 1)
		if _, ok, err := s.Release(t.Context(), "order-1"); err != nil || ok {
			t.Fatalf("Release without reservation = %v, %v", ok, err)
		}
		if err := s.Reserve(t.Context(), "order-1", lines); !errors.Is(err, inventory.ErrReleased) {
			t.Errorf("Reserve after Release error = %v, want ErrReleased", err)
		}
		checkStock(t, s, seeded)
	})
}

func mustProduct(t *testing.T, s inventory.Store, id string) inventory.Product {
	t.Helper()
	p, err := s.Product(t.Context(), id)
	if err != nil {
		t.Fatalf("Product(%s): %v", id, err)
	}
	return p
}
