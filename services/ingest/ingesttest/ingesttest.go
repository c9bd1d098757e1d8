// Package ingesttest is the contract test suite of ingest.Store, together with the order reads the API
// serves from the same store (Get and List). Every adapter runs it, so that they all keep the promises
// the front door relies on: an idempotency key used once whatever the concurrency, nothing stored when
// it is taken, the reconciler's view of PENDING orders, and stable pagination.
package ingesttest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
)

// Store is what the suite drives: the port under test plus the reads that show what it stored.
type Store interface {
	ingest.Store
	// Get returns the order, or a fault.NotFound error.
	Get(ctx context.Context, id string) (*order.Order, error)
	// List returns up to limit orders of the customer, newest first, and the cursor of the next page
	// ("" on the last page).
	List(ctx context.Context, customerID string, limit int, cursor string) ([]*order.Order, string, error)
	// GetByReference returns the customer's order with the reference (canonical form), or a
	// fault.NotFound error, also when the order with that reference is another customer's.
	GetByReference(ctx context.Context, customerID, reference string) (*order.Order, error)
	// Update changes a stored order (pipeline.Orders.Update), here to move one out of PENDING.
	Update(ctx context.Context, id string, fn func(o *order.Order) ([]contracts.Event, error)) (*order.Order, error)
}

// Run runs the suite. open must return an empty store of its own, cleaned up when the test ends.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("create", func(t *testing.T) { t.Parallel(); testCreate(t, open) })
	t.Run("idempotency", func(t *testing.T) { t.Parallel(); testIdempotency(t, open) })
	t.Run("pending before", func(t *testing.T) { t.Parallel(); testPendingBefore(t, open) })
	t.Run("pending page", func(t *testing.T) { t.Parallel(); testPendingPage(t, open) })
	t.Run("pending page across a change", func(t *testing.T) { t.Parallel(); testPendingPageAcrossAChange(t, open) })
	t.Run("list", func(t *testing.T) { t.Parallel(); testList(t, open) })
	t.Run("reference", func(t *testing.T) { t.Parallel(); testReference(t, open) })
}

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newOrder returns a valid PENDING order with a fresh UUIDv7 id (so later calls sort after earlier ones)
// and a fresh reference.
func newOrder(t *testing.T, customerID string, at time.Time) *order.Order {
	t.Helper()
	return newOrderWithReference(t, customerID, at, "")
}

// newOrderWithReference is newOrder with the given reference ("" draws a fresh one).
func newOrderWithReference(t *testing.T, customerID string, at time.Time, reference string) *order.Order {
	t.Helper()
	o, err := order.New(order.Draft{
		ID:              uuid.Must(uuid.NewV7()).String(),
		Reference:       reference,
		CustomerID:      customerID,
		CustomerEmail:   "someone@example.com",
		Items:           []order.Item{{ProductID: "BOOK001", Name: "Book", Quantity: 3, Price: 1250}},
		Total:           3750,
		Currency:        "EUR",
		PaymentToken:    "tok_visa",
		ShippingAddress: contracts.Address{Street: "2 Rue Haute", City: "Lyon", ZipCode: "69001", Country: "FR"},
		CorrelationID:   uuid.NewString(),
	}, at)
	if err != nil {
		t.Fatalf("order.New: %v", err)
	}
	return o
}

// withReference is o made again (same id, customer and contents) with another reference.
func withReference(t *testing.T, o *order.Order, reference string, at time.Time) *order.Order {
	t.Helper()
	again, err := order.New(order.Draft{
		ID: o.ID(), Reference: reference, CustomerID: o.CustomerID(), CustomerEmail: o.CustomerEmail(),
		Items: o.Items(), Total: o.Total(), Currency: o.Currency(), PaymentToken: o.PaymentToken(),
		ShippingAddress: o.ShippingAddress(), CorrelationID: o.CorrelationID(),
	}, at)
	if err != nil {
		t.Fatalf("order.New: %v", err)
	}
	return again
}

func record(key string, o *order.Order) *ingest.IdempotencyRecord {
	return &ingest.IdempotencyRecord{
		Key: key, RequestHash: "sha256:" + key, OrderID: o.ID(),
		Response: []byte(`{"orderId":"` + o.ID() + `"}`), CreatedAt: start,
	}
}

func mustCreate(t *testing.T, s Store, o *order.Order, rec *ingest.IdempotencyRecord) {
	t.Helper()
	if err := s.Create(t.Context(), o, rec); err != nil {
		t.Fatalf("Create(%s): %v", o.ID(), err)
	}
}

func testCreate(t *testing.T, open func(t *testing.T) Store) {
	t.Run("a created order can be read back", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := newOrder(t, "cust-1", start)
		mustCreate(t, s, o, nil)
		got, err := s.Get(t.Context(), o.ID())
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if diff := cmp.Diff(o.View(), got.View()); diff != "" {
			t.Errorf("Get (-want +got):\n%s", diff)
		}
	})
	t.Run("an order with the most lines allowed is stored with its idempotency record", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := pipelinetest.NewLargeOrder(t, "cust-1", start)
		rec := record("key-large", o)
		rec.Response = bytes.Repeat([]byte("r"), 64<<10)
		mustCreate(t, s, o, rec)
		got, err := s.Get(t.Context(), o.ID())
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if diff := cmp.Diff(o.Items(), got.Items()); diff != "" {
			t.Errorf("items (-want +got):\n%s", diff)
		}
		stored, err := s.Idempotency(t.Context(), rec.Key)
		if err != nil || !bytes.Equal(stored.Response, rec.Response) {
			t.Errorf("Idempotency = %d response bytes, %v; want the %d stored", len(stored.Response), err, len(rec.Response))
		}
	})
	t.Run("an order id created twice is refused and the first kept", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := newOrder(t, "cust-1", start)
		mustCreate(t, s, o, nil)
		if err := s.Create(t.Context(), o, nil); err == nil {
			t.Errorf("second Create of %s = nil, want an error", o.ID())
		}
		if _, err := s.Get(t.Context(), o.ID()); err != nil {
			t.Errorf("Get after a refused second Create: %v", err)
		}
	})
}

func testIdempotency(t *testing.T, open func(t *testing.T) Store) {
	t.Run("create stores the record with the order", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := newOrder(t, "cust-1", start)
		rec := record("key-1", o)
		mustCreate(t, s, o, rec)
		got, err := s.Idempotency(t.Context(), "key-1")
		if err != nil {
			t.Fatalf("Idempotency: %v", err)
		}
		if diff := cmp.Diff(*rec, got); diff != "" {
			t.Errorf("Idempotency (-want +got):\n%s", diff)
		}
	})
	t.Run("unknown key is not found", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, err := s.Idempotency(t.Context(), "never-used")
		if !fault.Is(err, fault.NotFound) {
			t.Errorf("Idempotency(unknown) error = %v, want kind not found", err)
		}
	})
	t.Run("a taken key stores nothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		first := newOrder(t, "cust-1", start)
		mustCreate(t, s, first, record("key-1", first))
		second := newOrder(t, "cust-1", start)
		err := s.Create(t.Context(), second, record("key-1", second))
		if !errors.Is(err, ingest.ErrIdempotencyKeyTaken) || !fault.Is(err, fault.Conflict) {
			t.Fatalf("Create with a taken key error = %v, want ErrIdempotencyKeyTaken (conflict)", err)
		}
		if _, err := s.Get(t.Context(), second.ID()); !fault.Is(err, fault.NotFound) {
			t.Errorf("Get(second order) error = %v, want kind not found: nothing may be stored", err)
		}
		got, err := s.Idempotency(t.Context(), "key-1")
		if err != nil || got.OrderID != first.ID() {
			t.Errorf("Idempotency(key-1) = %+v, %v; want the first order's record", got, err)
		}
	})
	t.Run("20 requests racing with one key: exactly one order is stored", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		orders := make([]*order.Order, 20)
		errs := make([]error, len(orders))
		for i := range orders {
			orders[i] = newOrder(t, "cust-1", start)
		}
		var wg sync.WaitGroup
		for i, o := range orders {
			wg.Go(func() { errs[i] = s.Create(t.Context(), o, record("key-race", o)) })
		}
		wg.Wait()
		var winner *order.Order
		for i, err := range errs {
			switch {
			case err == nil && winner == nil:
				winner = orders[i]
			case err == nil:
				t.Errorf("two creates won the key: %s and %s", winner.ID(), orders[i].ID())
			case !errors.Is(err, ingest.ErrIdempotencyKeyTaken):
				t.Errorf("Create error = %v, want nil or ErrIdempotencyKeyTaken", err)
			}
		}
		if winner == nil {
			t.Fatal("no create won the key")
		}
		for _, o := range orders {
			_, err := s.Get(t.Context(), o.ID())
			if o == winner && err != nil {
				t.Errorf("Get(winner): %v", err)
			}
			if o != winner && !fault.Is(err, fault.NotFound) {
				t.Errorf("Get(loser %s) error = %v, want kind not found", o.ID(), err)
			}
		}
		rec, err := s.Idempotency(t.Context(), "key-race")
		if err != nil || rec.OrderID != winner.ID() {
			t.Errorf("Idempotency(key-race) = %+v, %v; want the winner's record", rec, err)
		}
	})
}

func testPendingBefore(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	// Created out of time order, so that "oldest first" is not just insertion order.
	var ids [5]string
	for _, i := range []int{3, 0, 4, 1, 2} {
		o := newOrder(t, "cust-1", start.Add(time.Duration(i)*time.Minute))
		ids[i] = o.ID()
		mustCreate(t, s, o, nil)
	}
	moved := newOrder(t, "cust-1", start)
	if err := moved.StartValidation(start); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, moved, nil) // not PENDING: never returned
	tests := []struct {
		name   string
		before time.Time
		limit  int
		want   []string
	}{
		{"returns pending orders created before the time, oldest first", start.Add(3 * time.Minute), 10, ids[:3]},
		{"honours the limit", start.Add(time.Hour), 2, ids[:2]},
		{"returns all of them when the limit allows", start.Add(time.Hour), 100, ids[:]},
		{"leaves out an order created at exactly the time", start, 10, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.PendingBefore(t.Context(), tt.before, tt.limit)
			if err != nil {
				t.Fatalf("PendingBefore: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("PendingBefore (-want +got):\n%s", diff)
			}
		})
	}
}

func testPendingPage(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	// Created out of time order, two of them at the same instant (which sort by id), so that a page
	// boundary falls between orders of equal creation time.
	minutes := []int{3, 0, 5, 1, 2, 2, 4}
	type created struct {
		at time.Time
		id string
	}
	var all []created
	for _, m := range minutes {
		o := newOrder(t, "cust-1", start.Add(time.Duration(m)*time.Minute))
		mustCreate(t, s, o, nil)
		all = append(all, created{o.CreatedAt(), o.ID()})
	}
	moved := newOrder(t, "cust-1", start.Add(time.Minute))
	if err := moved.StartValidation(start); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, moved, nil) // not PENDING: never returned
	slices.SortFunc(all, func(a, b created) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	idsBefore := func(before time.Time) []string {
		ids := []string{}
		for _, c := range all {
			if c.at.Before(before) {
				ids = append(ids, c.id)
			}
		}
		return ids
	}
	// pages reads every page and returns the ids and how many ids each page held.
	pages := func(t *testing.T, before time.Time, limit int) (ids []string, sizes []int) {
		t.Helper()
		ids = []string{}
		cursor := ""
		for range 100 {
			page, next, err := s.PendingPage(t.Context(), before, limit, cursor)
			if err != nil {
				t.Fatalf("PendingPage(cursor %q): %v", cursor, err)
			}
			ids, sizes = append(ids, page...), append(sizes, len(page))
			if next == "" {
				return ids, sizes
			}
			if len(page) != limit {
				t.Fatalf("PendingPage returned %d ids and a next cursor, want a full page of %d before a cursor", len(page), limit)
			}
			cursor = next
		}
		t.Fatal("PendingPage still had a next page after 100 pages")
		return nil, nil
	}
	tests := []struct {
		name      string
		before    time.Time
		limit     int
		wantSizes []int
	}{
		{"pages through the pending orders oldest first", start.Add(time.Hour), 2, []int{2, 2, 2, 1}},
		{"splits orders created at the same time between pages", start.Add(3 * time.Minute), 3, []int{3, 1}},
		{"has no next page after an exactly full last page", start.Add(3 * time.Minute), 2, []int{2, 2}},
		{"returns one page when the limit allows", start.Add(time.Hour), 100, []int{7}},
		{"returns an empty page when none is old enough", start, 10, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, sizes := pages(t, tt.before, tt.limit)
			if diff := cmp.Diff(idsBefore(tt.before), ids, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ids of every page (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSizes, sizes); diff != "" {
				t.Errorf("page sizes (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a cursor past the time gives an empty last page", func(t *testing.T) {
		_, next, err := s.PendingPage(t.Context(), start.Add(time.Hour), 6, "")
		if err != nil || next == "" {
			t.Fatalf("PendingPage = %q, %v; want a next cursor", next, err)
		}
		page, next, err := s.PendingPage(t.Context(), start, 6, next)
		if err != nil || len(page) != 0 || next != "" {
			t.Errorf("PendingPage before the cursor's order = %v, %q, %v; want an empty last page", page, next, err)
		}
	})
	t.Run("refuses a bad limit or cursor", func(t *testing.T) {
		for _, c := range []struct {
			limit  int
			cursor string
		}{{0, ""}, {10, "not a cursor"}, {10, "bm90IGEgY3Vyc29y"}} {
			if _, _, err := s.PendingPage(t.Context(), start.Add(time.Hour), c.limit, c.cursor); fault.KindOf(err) != fault.Invalid {
				t.Errorf("PendingPage(limit %d, cursor %q) error = %v, want kind %s", c.limit, c.cursor, err, fault.Invalid)
			}
		}
	})
}

// testPendingPageAcrossAChange is in its own store: the orders at and before a page's cursor leave
// PENDING before the next page is read, as the dispatcher moves them on.
func testPendingPageAcrossAChange(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	var ids []string
	for i := range 5 {
		o := newOrder(t, "cust-1", start.Add(time.Duration(i)*time.Minute))
		mustCreate(t, s, o, nil)
		ids = append(ids, o.ID())
	}
	before := start.Add(time.Hour)
	first, next, err := s.PendingPage(t.Context(), before, 2, "")
	if err != nil || next == "" {
		t.Fatalf("first PendingPage = %v, %q, %v; want a page and a next cursor", first, next, err)
	}
	if diff := cmp.Diff(ids[:2], first); diff != "" {
		t.Fatalf("first page (-want +got):\n%s", diff)
	}
	for _, id := range first { // the order at the cursor and the one before it
		if _, err := s.Update(t.Context(), id, func(o *order.Order) ([]contracts.Event, error) {
			return nil, o.StartValidation(start.Add(time.Hour))
		}); err != nil {
			t.Fatalf("Update(%s): %v", id, err)
		}
	}
	second, next, err := s.PendingPage(t.Context(), before, 2, next)
	if err != nil {
		t.Fatalf("second PendingPage: %v", err)
	}
	if diff := cmp.Diff(ids[2:4], second); diff != "" {
		t.Errorf("second page (-want +got):\n%s", diff)
	}
	third, next, err := s.PendingPage(t.Context(), before, 2, next)
	if err != nil || next != "" {
		t.Fatalf("third PendingPage = %v, %q, %v; want the last page", third, next, err)
	}
	if diff := cmp.Diff(ids[4:], third); diff != "" {
		t.Errorf("third page (-want +got):\n%s", diff)
	}
}

func testList(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	created := map[string][]string{} // customer → ids, oldest first
	for i := range 7 {
		for _, c := range []string{"seven", "six", "one"} {
			n := map[string]int{"seven": 7, "six": 6, "one": 1}[c]
			if i >= n {
				continue
			}
			o := newOrder(t, c, start.Add(time.Duration(i)*time.Second))
			mustCreate(t, s, o, nil)
			created[c] = append(created[c], o.ID())
		}
	}
	newestFirst := func(c string) []string {
		ids := slices.Clone(created[c])
		slices.Reverse(ids)
		return ids
	}
	tests := []struct {
		name     string
		customer string
		limit    int
		want     [][]string
	}{
		{"pages newest first and ends with an empty cursor", "seven", 3, [][]string{newestFirst("seven")[:3], newestFirst("seven")[3:6], newestFirst("seven")[6:]}},
		{"a last page that is exactly full has an empty cursor", "six", 3, [][]string{newestFirst("six")[:3], newestFirst("six")[3:]}},
		{"one page holds everything", "seven", 100, [][]string{newestFirst("seven")}},
		{"a single order", "one", 1, [][]string{newestFirst("one")}},
		{"a customer without orders gets an empty page", "nobody", 10, [][]string{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pages [][]string
			cursor := ""
			for page := 0; ; page++ {
				if page > len(tt.want)+1 {
					t.Fatalf("more pages than the %d expected", len(tt.want))
				}
				orders, next, err := s.List(t.Context(), tt.customer, tt.limit, cursor)
				if err != nil {
					t.Fatalf("List page %d: %v", page+1, err)
				}
				ids := []string{}
				for _, o := range orders {
					if o.CustomerID() != tt.customer {
						t.Errorf("List(%s) returned an order of %s", tt.customer, o.CustomerID())
					}
					ids = append(ids, o.ID())
				}
				pages = append(pages, ids)
				if next == "" {
					break
				}
				cursor = next
			}
			if diff := cmp.Diff(tt.want, pages, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a cursor that list did not return is invalid", func(t *testing.T) {
		_, _, err := s.List(t.Context(), "seven", 3, "not a cursor!")
		if !fault.Is(err, fault.Invalid) {
			t.Errorf("List(bad cursor) error = %v, want kind invalid", err)
		}
	})
	t.Run("orders created while paging do not disturb later pages", func(t *testing.T) {
		first, next, err := s.List(t.Context(), "seven", 2, "")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		mustCreate(t, s, newOrder(t, "seven", start.Add(time.Hour)), nil)
		rest, _, err := s.List(t.Context(), "seven", 100, next)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var got []string
		for _, o := range append(first, rest...) {
			got = append(got, o.ID())
		}
		if diff := cmp.Diff(newestFirst("seven"), got); diff != "" {
			t.Errorf("ids across pages (-want +got):\n%s", diff)
		}
	})
}

// Retention is how long the stores RunExpiry drives must honour an idempotency record.
const Retention = time.Hour

// RunExpiry runs the cases of a store whose idempotency records expire: open must return an empty store
// of its own that honours a record for Retention after storing it, by the clock now. Both stores do:
// DynamoDB by its TTL attribute, the embedded database by its expiry column and pruner.
func RunExpiry(t *testing.T, open func(t *testing.T, now func() time.Time) Store) {
	var mu sync.Mutex
	newClock := func() (now func() time.Time, advance func(time.Duration)) {
		at := time.Now()
		return func() time.Time { mu.Lock(); defer mu.Unlock(); return at },
			func(d time.Duration) { mu.Lock(); defer mu.Unlock(); at = at.Add(d) }
	}
	t.Run("a record is honoured until its retention ends", func(t *testing.T) {
		t.Parallel()
		now, advance := newClock()
		s := open(t, now)
		first := newOrder(t, "cust-1", start)
		mustCreate(t, s, first, record("key-1", first))
		advance(Retention - time.Second)
		if got, err := s.Idempotency(t.Context(), "key-1"); err != nil || got.OrderID != first.ID() {
			t.Fatalf("Idempotency just before the retention ends = %+v, %v; want the record", got, err)
		}
		second := newOrder(t, "cust-1", start)
		if err := s.Create(t.Context(), second, record("key-1", second)); !errors.Is(err, ingest.ErrIdempotencyKeyTaken) {
			t.Errorf("Create with a live key = %v, want ErrIdempotencyKeyTaken", err)
		}
	})
	t.Run("an expired record is not found and its key can be used again", func(t *testing.T) {
		t.Parallel()
		now, advance := newClock()
		s := open(t, now)
		first := newOrder(t, "cust-1", start)
		mustCreate(t, s, first, record("key-1", first))
		advance(Retention)
		if _, err := s.Idempotency(t.Context(), "key-1"); !fault.Is(err, fault.NotFound) {
			t.Fatalf("Idempotency of an expired key = %v, want kind not found", err)
		}
		second := newOrder(t, "cust-1", start)
		mustCreate(t, s, second, record("key-1", second))
		if got, err := s.Idempotency(t.Context(), "key-1"); err != nil || got.OrderID != second.ID() {
			t.Errorf("Idempotency after the key was used again = %+v, %v; want the second order's record", got, err)
		}
		if _, err := s.Get(t.Context(), first.ID()); err != nil {
			t.Errorf("the first order is gone with its key: %v", err)
		}
	})
}

func testReference(t *testing.T, open func(t *testing.T) Store) {
	t.Run("an order is found by its customer and reference", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := newOrder(t, "cust-1", start)
		mustCreate(t, s, o, nil)
		mustCreate(t, s, newOrder(t, "cust-1", start), nil)
		if o.Reference() == "" {
			t.Fatal("a new order has no reference")
		}
		got, err := s.GetByReference(t.Context(), "cust-1", o.Reference())
		if err != nil {
			t.Fatalf("GetByReference: %v", err)
		}
		if diff := cmp.Diff(o.View(), got.View()); diff != "" {
			t.Errorf("GetByReference (-want +got):\n%s", diff)
		}
	})
	t.Run("another customer's reference and an unknown one are not found", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		o := newOrder(t, "cust-1", start)
		mustCreate(t, s, o, nil)
		if _, err := s.GetByReference(t.Context(), "cust-2", o.Reference()); !fault.Is(err, fault.NotFound) {
			t.Errorf("GetByReference(another customer) error = %v, want kind not found", err)
		}
		if _, err := s.GetByReference(t.Context(), "cust-1", "0000-0000"); !fault.Is(err, fault.NotFound) {
			t.Errorf("GetByReference(unknown reference) error = %v, want kind not found", err)
		}
	})
	t.Run("a reference already taken stores nothing", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		first := newOrderWithReference(t, "cust-1", start, "7K3M-Q9TX")
		mustCreate(t, s, first, nil)
		// Another customer, the same millisecond, the same reference.
		second := newOrderWithReference(t, "cust-2", start, "7K3M-Q9TX")
		err := s.Create(t.Context(), second, record("key-ref", second))
		if !errors.Is(err, ingest.ErrReferenceTaken) || !fault.Is(err, fault.Conflict) {
			t.Fatalf("Create with a taken reference error = %v, want ErrReferenceTaken (conflict)", err)
		}
		if _, err := s.Get(t.Context(), second.ID()); !fault.Is(err, fault.NotFound) {
			t.Errorf("Get(second order) error = %v, want kind not found: nothing may be stored", err)
		}
		if _, err := s.Idempotency(t.Context(), "key-ref"); !fault.Is(err, fault.NotFound) {
			t.Errorf("Idempotency(key-ref) error = %v, want kind not found: nothing may be stored", err)
		}
		if got, err := s.GetByReference(t.Context(), "cust-1", "7K3M-Q9TX"); err != nil || got.ID() != first.ID() {
			t.Errorf("GetByReference after the refused Create = %v, %v; want the first order", got, err)
		}
		// Nothing of the refused order is left behind: with a fresh reference it goes in.
		retry := withReference(t, second, "7K3M-Q9TY", start)
		mustCreate(t, s, retry, record("key-ref", retry))
	})
	t.Run("an order id stored already is a conflict, whatever its reference", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		first := newOrderWithReference(t, "cust-1", start, "AAAA-AAAA")
		mustCreate(t, s, first, nil)
		mustCreate(t, s, newOrderWithReference(t, "cust-2", start, "BBBB-BBBB"), nil)
		// The first order again, with the second one's reference.
		err := s.Create(t.Context(), withReference(t, first, "BBBB-BBBB", start), nil)
		if !fault.Is(err, fault.Conflict) || errors.Is(err, ingest.ErrReferenceTaken) {
			t.Fatalf("Create of a stored id error = %v, want a conflict that is not ErrReferenceTaken", err)
		}
		if got, err := s.GetByReference(t.Context(), "cust-1", "AAAA-AAAA"); err != nil || got.ID() != first.ID() {
			t.Errorf("GetByReference(first) after the refused Create = %v, %v; want the first order", got, err)
		}
	})
	t.Run("orders racing for one reference: exactly one is stored", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		orders := make([]*order.Order, 10)
		errs := make([]error, len(orders))
		for i := range orders {
			orders[i] = newOrderWithReference(t, "cust-1", start, "RACE-0001")
		}
		var wg sync.WaitGroup
		for i, o := range orders {
			wg.Go(func() { errs[i] = s.Create(t.Context(), o, nil) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ingest.ErrReferenceTaken):
				t.Errorf("Create error = %v, want nil or ErrReferenceTaken", err)
			}
		}
		if won != 1 {
			t.Errorf("%d creates won the reference, want exactly 1", won)
		}
	})
}
