package dynamodb_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/services/adapters/dynamodb"
	"github.com/orderflow/orderflow/services/inventory"
)

// Reservations of more products than one transaction holds are taken in parts; these tests stop a
// reservation between its parts, as a crash would, and check that whoever comes next finishes or
// undoes it exactly.

const manyProducts = 150 // two parts

func seedMany(t *testing.T, inv inventory.Store, stock int) ([]inventory.Line, map[string]int) {
	t.Helper()
	want := map[string]int{}
	var lines []inventory.Line
	for i := range manyProducts {
		id := fmt.Sprintf("P%03d", i)
		if err := inv.PutProduct(t.Context(), inventory.Product{ID: id, Name: id, Price: 1, Available: stock}); err != nil {
			t.Fatal(err)
		}
		want[id] = stock
		lines = append(lines, inventory.Line{ProductID: id, Quantity: 1})
	}
	return lines, want
}

func stockOf(t *testing.T, inv inventory.Store) map[string]int {
	t.Helper()
	ps, err := inv.Products(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, p := range ps {
		out[p.ID] = p.Available
	}
	return out
}

var errCrash = errors.New("the process died here")

// crashingInventory returns an inventory whose transaction number crashAt fails before reaching
// DynamoDB, and the healthy inventory on the same table.
func crashingInventory(t *testing.T, crashAt int64) (crashing, healthy *dynamodb.Inventory) {
	client, names := tables(t)
	api := &flakyAPI{API: client}
	api.transact = func(n int64, _ *awsdynamodb.TransactWriteItemsInput) error {
		if n == crashAt {
			return errCrash
		}
		return nil
	}
	return dynamodb.NewInventory(api, names.Inventory), dynamodb.NewInventory(client, names.Inventory)
}

func TestAReservationStoppedBetweenPartsIsReleasedForWhatItTook(t *testing.T) {
	t.Parallel()
	crashing, inv := crashingInventory(t, 2)
	lines, seeded := seedMany(t, inv, 3)
	if err := crashing.Reserve(t.Context(), "order-1", lines); !errors.Is(err, errCrash) {
		t.Fatalf("Reserve = %v, want the crash", err)
	}
	released, ok, err := inv.Release(t.Context(), "order-1")
	if err != nil || !ok {
		t.Fatalf("Release = %v, %v; want true, nil", ok, err)
	}
	if len(released) != 99 {
		t.Errorf("released %d lines, want the 99 of the first part", len(released))
	}
	if diff := cmp.Diff(seeded, stockOf(t, inv)); diff != "" {
		t.Errorf("stock after the release (-want +got):\n%s", diff)
	}
	if err := inv.Reserve(t.Context(), "order-1", lines); !errors.Is(err, inventory.ErrReleased) {
		t.Errorf("Reserve after the release = %v, want ErrReleased", err)
	}
	again, ok, err := inv.Release(t.Context(), "order-1")
	if err != nil || ok || len(again) != len(released) {
		t.Errorf("second Release = %d lines, %v, %v; want the same %d lines, false", len(again), ok, err, len(released))
	}
	if diff := cmp.Diff(seeded, stockOf(t, inv)); diff != "" {
		t.Errorf("stock at the end (-want +got):\n%s", diff)
	}
}

func TestAReservationStoppedBetweenPartsIsFinishedByTheNextReserve(t *testing.T) {
	t.Parallel()
	crashing, inv := crashingInventory(t, 2)
	lines, seeded := seedMany(t, inv, 3)
	if err := crashing.Reserve(t.Context(), "order-1", lines); !errors.Is(err, errCrash) {
		t.Fatalf("Reserve = %v, want the crash", err)
	}
	for range 2 {
		if err := inv.Reserve(t.Context(), "order-1", lines); err != nil {
			t.Fatalf("Reserve after the crash: %v", err)
		}
	}
	for id := range seeded {
		seeded[id] = 2
	}
	if diff := cmp.Diff(seeded, stockOf(t, inv)); diff != "" {
		t.Errorf("stock, taken once (-want +got):\n%s", diff)
	}
	released, ok, err := inv.Release(t.Context(), "order-1")
	if err != nil || !ok || len(released) != manyProducts {
		t.Errorf("Release = %d lines, %v, %v; want %d, true", len(released), ok, err, manyProducts)
	}
	for id := range seeded {
		seeded[id] = 3
	}
	if diff := cmp.Diff(seeded, stockOf(t, inv)); diff != "" {
		t.Errorf("stock after the release (-want +got):\n%s", diff)
	}
}

func TestAnUndoStoppedHalfwayIsFinishedByTheNextReserve(t *testing.T) {
	t.Parallel()
	// Transactions: part 0 taken (1), part 1 short (2), record marked undoing (3), undo of part 0 (4).
	crashing, inv := crashingInventory(t, 4)
	lines, seeded := seedMany(t, inv, 3)
	last := lines[len(lines)-1].ProductID
	if err := inv.PutProduct(t.Context(), inventory.Product{ID: last, Name: last, Price: 1, Available: 0}); err != nil {
		t.Fatal(err)
	}
	seeded[last] = 0
	if err := crashing.Reserve(t.Context(), "order-1", lines); !errors.Is(err, errCrash) {
		t.Fatalf("Reserve = %v, want the crash", err)
	}
	if err := inv.Reserve(t.Context(), "order-1", lines); !errors.Is(err, inventory.ErrOutOfStock) {
		t.Fatalf("Reserve after the crash = %v, want ErrOutOfStock", err)
	}
	if diff := cmp.Diff(seeded, stockOf(t, inv)); diff != "" {
		t.Errorf("stock (-want +got):\n%s", diff)
	}
	if released, ok, err := inv.Release(t.Context(), "order-1"); err != nil || ok || len(released) != 0 {
		t.Errorf("Release = %v, %v, %v; want nothing released", released, ok, err)
	}
}

func TestOutOfStockNamesTheProduct(t *testing.T) {
	t.Parallel()
	client, names := tables(t)
	inv := dynamodb.NewInventory(client, names.Inventory)
	if err := inv.PutProduct(t.Context(), inventory.Product{ID: "A", Name: "A", Price: 1, Available: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lines []inventory.Line
		want  string
	}{
		{[]inventory.Line{{ProductID: "A", Quantity: 2}}, "product A (2 wanted, 1 available)"},
		{[]inventory.Line{{ProductID: "A", Quantity: 1}, {ProductID: "GHOST", Quantity: 1}}, "product GHOST (1 wanted) is not in the catalog"},
	} {
		err := inv.Reserve(t.Context(), "order-1", tt.lines)
		if !errors.Is(err, inventory.ErrOutOfStock) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Reserve(%v) = %v, want ErrOutOfStock saying %q", tt.lines, err, tt.want)
		}
	}
}
