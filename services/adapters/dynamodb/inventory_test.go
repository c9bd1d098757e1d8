package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/services/adapters/dynamodb"
	"github.com/orderflow/orderflow/services/fault"
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

// readCounter counts what the inventory reads: Scans, the keys a Query returns and the keys asked of
// BatchGetItem. unprocessed, when set, is how many keys of every other BatchGetItem call (the first,
// the third…) to hold back and answer as UnprocessedKeys, as DynamoDB does over its throughput (-1: all
// keys of every call).
type readCounter struct {
	dynamodb.API
	scans, queried, batchKeys, batches atomic.Int64
	unprocessed                        int
}

func (r *readCounter) Scan(ctx context.Context, in *awsdynamodb.ScanInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.ScanOutput, error) {
	r.scans.Add(1)
	return r.API.Scan(ctx, in, opts...)
}

func (r *readCounter) Query(ctx context.Context, in *awsdynamodb.QueryInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.QueryOutput, error) {
	out, err := r.API.Query(ctx, in, opts...)
	if err == nil {
		r.queried.Add(int64(len(out.Items)))
	}
	return out, err
}

func (r *readCounter) BatchGetItem(ctx context.Context, in *awsdynamodb.BatchGetItemInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.BatchGetItemOutput, error) {
	if r.unprocessed == 0 || (r.unprocessed > 0 && r.batches.Add(1)%2 == 0) {
		for _, ka := range in.RequestItems {
			r.batchKeys.Add(int64(len(ka.Keys)))
		}
		return r.API.BatchGetItem(ctx, in, opts...)
	}
	sent := map[string]types.KeysAndAttributes{}
	held := map[string]types.KeysAndAttributes{}
	for table, ka := range in.RequestItems {
		hold := r.unprocessed
		if hold < 0 || hold > len(ka.Keys) {
			hold = len(ka.Keys)
		}
		send := ka
		send.Keys = ka.Keys[:len(ka.Keys)-hold]
		ka.Keys = ka.Keys[len(ka.Keys)-hold:]
		if len(send.Keys) > 0 {
			sent[table] = send
		}
		held[table] = ka
		r.batchKeys.Add(int64(len(send.Keys)))
	}
	out := &awsdynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	if len(sent) > 0 {
		var err error
		if out, err = r.API.BatchGetItem(ctx, &awsdynamodb.BatchGetItemInput{RequestItems: sent}, opts...); err != nil {
			return nil, err
		}
	}
	out.UnprocessedKeys = held
	return out, nil
}

// Listing the catalog costs what the catalog holds: after 60 orders' reservations (kept, one item each),
// it reads the keys of the 3 products from the catalog index and the 3 products, and scans nothing.
func TestListingTheCatalogReadsNoReservation(t *testing.T) {
	client, names := tables(t)
	healthy := dynamodb.NewInventory(client, names.Inventory)
	for _, id := range []string{"B", "A", "C"} {
		if err := healthy.PutProduct(t.Context(), inventory.Product{ID: id, Name: "product " + id, Price: 100, Available: 100}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 60 {
		if err := healthy.Reserve(t.Context(), fmt.Sprintf("order-%02d", i), []inventory.Line{{ProductID: "ABC"[i%3 : i%3+1], Quantity: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	api := &readCounter{API: client}
	ps, err := dynamodb.NewInventory(api, names.Inventory).Products(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.Product{{ID: "A", Name: "product A", Price: 100, Available: 80}, {ID: "B", Name: "product B", Price: 100, Available: 80}, {ID: "C", Name: "product C", Price: 100, Available: 80}}
	if d := cmp.Diff(want, ps); d != "" {
		t.Errorf("products (-want +got):\n%s", d)
	}
	if s, q, b := api.scans.Load(), api.queried.Load(), api.batchKeys.Load(); s != 0 || q != 3 || b != 3 {
		t.Errorf("listing read %d scans, %d index keys, %d items; want 0, 3, 3 (none of the 60 reservations)", s, q, b)
	}
}

// Keys that DynamoDB leaves unprocessed are asked for again until every product is read; keys it never
// processes make the listing a fault.Unavailable error, not a short catalog.
func TestProductsAsksAgainForUnprocessedKeys(t *testing.T) {
	client, names := tables(t)
	_, want := seedMany(t, dynamodb.NewInventory(client, names.Inventory), 3) // 150: two BatchGetItem calls' worth
	api := &readCounter{API: client, unprocessed: 40}
	if got := stockOf(t, dynamodb.NewInventory(api, names.Inventory)); !cmp.Equal(want, got) {
		t.Errorf("with 40 keys of every other call unprocessed, the catalog read (-want +got):\n%s", cmp.Diff(want, got))
	}
	if n := api.batches.Load(); n != 4 {
		t.Errorf("%d BatchGetItem calls, want 4 (each of the two chunks asked for again once)", n)
	}
	_, err := dynamodb.NewInventory(&readCounter{API: client, unprocessed: -1}, names.Inventory).Products(t.Context())
	if !fault.Is(err, fault.Unavailable) {
		t.Errorf("with every key unprocessed: %v, want a fault.Unavailable error", err)
	}
}

// Products written before the catalog index existed (no catalog attribute) are missing from the listing
// until BackfillCatalog has run once; it lists them again, with their stock, creates nothing and changes
// nothing when run again.
func TestBackfillCatalogListsTheProductsWrittenBeforeTheIndex(t *testing.T) {
	client, names := tables(t)
	inv := dynamodb.NewInventory(client, names.Inventory)
	for _, id := range []string{"OLD1", "OLD2"} { // as the adapter wrote products before the index
		if _, err := client.PutItem(t.Context(), &awsdynamodb.PutItemInput{TableName: &names.Inventory, Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "PRODUCT#" + id}, "productId": &types.AttributeValueMemberS{Value: id},
			"name": &types.AttributeValueMemberS{Value: "old " + id}, "price": &types.AttributeValueMemberN{Value: "100"},
			"available": &types.AttributeValueMemberN{Value: "7"},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := inv.PutProduct(t.Context(), inventory.Product{ID: "NEW1", Name: "new", Price: 100, Available: 5}); err != nil {
		t.Fatal(err)
	}
	if err := inv.Reserve(t.Context(), "order-1", []inventory.Line{{ProductID: "OLD1", Quantity: 2}}); err != nil {
		t.Fatal(err)
	}
	ids := func() []string {
		t.Helper()
		ps, err := inv.Products(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, fmt.Sprintf("%s:%d", p.ID, p.Available))
		}
		return out
	}
	if got := ids(); !cmp.Equal(got, []string{"NEW1:5"}) {
		t.Fatalf("before the backfill, products = %v, want only NEW1 (the others carry no catalog attribute)", got)
	}
	n, err := inv.BackfillCatalog(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("BackfillCatalog = %d, %v; want 2 products changed", n, err)
	}
	if d := cmp.Diff([]string{"NEW1:5", "OLD1:5", "OLD2:7"}, ids()); d != "" {
		t.Errorf("after the backfill, products (-want +got):\n%s", d)
	}
	if n, err := inv.BackfillCatalog(t.Context()); err != nil || n != 0 {
		t.Errorf("second BackfillCatalog = %d, %v; want 0, nil", n, err)
	}
}
