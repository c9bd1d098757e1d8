package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
)

// searchFixture stores 9 orders, o1 (oldest) to o9, of customers a, b and c in turn; o3, o6 and o9 (c's)
// are moved to VALIDATING, o9 further to FAILED.
func searchFixture(t *testing.T) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db := open(t, sqlite.Options{})
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= 9; i++ {
		customer := string(rune('a' + (i-1)%3))
		o, err := order.New(order.Draft{ID: fmt.Sprintf("o%d", i), CustomerID: customer, Items: []order.Item{{ProductID: "P", Name: "p", Quantity: 1, Price: 100}}, Total: 100, Currency: "EUR"}, t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Create(ctx, o, nil); err != nil {
			t.Fatal(err)
		}
		if customer != "c" {
			continue
		}
		if _, err := db.Update(ctx, o.ID(), func(o *order.Order) ([]contracts.Event, error) {
			if err := o.StartValidation(t0.Add(time.Minute)); err != nil {
				return nil, err
			}
			if o.ID() == "o9" {
				return nil, o.Fail("INVALID_ITEMS", "no such product", t0.Add(time.Minute))
			}
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func ids(orders []*order.Order) []string {
	out := []string{}
	for _, o := range orders {
		out = append(out, o.ID())
	}
	return out
}

func TestSearchSelectsAndPagesNewestFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := searchFixture(t)
	for _, tc := range []struct {
		name string
		q    order.Search
		want []string
	}{
		{"everything", order.Search{Limit: 100}, []string{"o9", "o8", "o7", "o6", "o5", "o4", "o3", "o2", "o1"}},
		{"by customer", order.Search{CustomerID: "b", Limit: 100}, []string{"o8", "o5", "o2"}},
		{"by status", order.Search{Status: order.Validating, Limit: 100}, []string{"o6", "o3"}},
		{"by status and customer", order.Search{Status: order.Pending, CustomerID: "a", Limit: 100}, []string{"o7", "o4", "o1"}},
		{"status and customer that never meet", order.Search{Status: order.Failed, CustomerID: "a", Limit: 100}, []string{}},
		{"unknown customer", order.Search{CustomerID: "zed", Limit: 100}, []string{}},
	} {
		got, next, err := db.Search(ctx, tc.q)
		if err != nil || fmt.Sprint(ids(got)) != fmt.Sprint(tc.want) || next != "" {
			t.Errorf("%s: %v, next %q, %v; want %v", tc.name, ids(got), next, err, tc.want)
		}
	}

	// Pages of 4: every order once, in order, and no cursor after the last page.
	var all []string
	cursor := ""
	for page := 0; ; page++ {
		got, next, err := db.Search(ctx, order.Search{Limit: 4, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids(got)...)
		if next == "" {
			break
		}
		if page > 3 {
			t.Fatal("the pages never end")
		}
		cursor = next
	}
	if fmt.Sprint(all) != "[o9 o8 o7 o6 o5 o4 o3 o2 o1]" {
		t.Errorf("paged: %v", all)
	}
	got, next, err := db.Search(ctx, order.Search{CustomerID: "c", Limit: 1})
	if err != nil || fmt.Sprint(ids(got)) != "[o9]" || next == "" {
		t.Fatalf("c's first page: %v %q %v", ids(got), next, err)
	}
	got, _, _ = db.Search(ctx, order.Search{CustomerID: "c", Limit: 5, Cursor: next})
	if fmt.Sprint(ids(got)) != "[o6 o3]" {
		t.Errorf("c's next page: %v", ids(got))
	}
}

func TestSearchByReferenceFindsAnyCustomersOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := searchFixture(t)
	o5, err := db.Get(ctx, "o5")
	if err != nil {
		t.Fatal(err)
	}
	got, next, err := db.Search(ctx, order.Search{Reference: o5.Reference(), Limit: 20})
	if err != nil || fmt.Sprint(ids(got)) != "[o5]" || next != "" {
		t.Errorf("by reference: %v %q %v", ids(got), next, err)
	}
	if got, _, _ := db.Search(ctx, order.Search{Reference: o5.Reference(), Status: order.Failed, Limit: 20}); len(got) != 0 {
		t.Errorf("reference with another status: %v", ids(got))
	}
	if got, _, _ := db.Search(ctx, order.Search{Reference: "0000-0000", Limit: 20}); len(got) != 0 {
		t.Errorf("unknown reference: %v", ids(got))
	}
}

func TestSearchRefusesBadPages(t *testing.T) {
	t.Parallel()
	db := searchFixture(t)
	for _, q := range []order.Search{{Limit: 0}, {Limit: sqlite.MaxSearchLimit + 1}, {Limit: 10, Cursor: "!!not-base64"}} {
		if _, _, err := db.Search(context.Background(), q); fault.KindOf(err) != fault.Invalid {
			t.Errorf("Search(%+v) = %v, want a fault.Invalid error", q, err)
		}
	}
}

func TestCountByStatus(t *testing.T) {
	t.Parallel()
	empty := open(t, sqlite.Options{})
	counts, err := empty.CountByStatus(context.Background())
	if err != nil || len(counts) != len(order.Statuses) || counts[order.Completed] != 0 {
		t.Errorf("empty store: %v, %v; want every status at zero", counts, err)
	}
	counts, err = searchFixture(t).CountByStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[order.Status]int64{order.Pending: 6, order.Validating: 2, order.Failed: 1}
	for _, s := range order.Statuses {
		if counts[s] != want[s] {
			t.Errorf("%s: %d orders, want %d", s, counts[s], want[s])
		}
	}
}
