package order_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
)

var t0 = time.Date(2026, 1, 15, 14, 30, 25, 0, time.UTC)

func draft() order.Draft {
	return order.Draft{
		ID: "o1", CustomerID: "c1", CustomerEmail: "c@example.com", Currency: "EUR", PaymentToken: "tok_visa",
		Items: []order.Item{{ProductID: "LAPTOP001", Name: "Gaming Laptop", Quantity: 2, Price: 129999}},
		Total: 259998,
	}
}

func newOrder(t *testing.T) *order.Order {
	t.Helper()
	o, err := order.New(draft(), t0)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// moveTo drives a new order into status s along the happy path (or via Fail/Cancel).
func moveTo(t *testing.T, s order.Status) *order.Order {
	t.Helper()
	o := newOrder(t)
	path := []order.Status{order.Validating, order.InventoryCheck, order.PaymentProcessing, order.Fulfillment, order.Completed}
	switch s {
	case order.Pending:
		return o
	case order.Failed:
		if err := o.Fail("X", "y", t0); err != nil {
			t.Fatal(err)
		}
		return o
	case order.Cancelled:
		if err := o.Cancel(t0); err != nil {
			t.Fatal(err)
		}
		return o
	}
	for _, next := range path {
		if err := step(o, next); err != nil {
			t.Fatal(err)
		}
		if next == s {
			return o
		}
	}
	t.Fatalf("no path to %s", s)
	return nil
}

// step performs the transition method that leads to next.
func step(o *order.Order, next order.Status) error {
	switch next {
	case order.Validating:
		return o.StartValidation(t0)
	case order.InventoryCheck:
		return o.PassValidation(t0)
	case order.PaymentProcessing:
		return o.ReserveInventory(t0)
	case order.Fulfillment:
		return o.AuthorizePayment("auth1", t0)
	case order.Completed:
		return o.Complete(contracts.Shipment{Carrier: "DHL", TrackingNumber: "JD1", EstimatedDelivery: "2026-01-19"}, t0)
	case order.Failed:
		return o.Fail("CODE", "reason", t0)
	case order.Cancelled:
		return o.Cancel(t0)
	}
	return fmt.Errorf("no method leads to %s", next)
}

func TestEveryTransition(t *testing.T) {
	t.Parallel()
	allowed := map[[2]order.Status]bool{
		{order.Pending, order.Validating}: true, {order.Pending, order.Failed}: true, {order.Pending, order.Cancelled}: true,
		{order.Validating, order.InventoryCheck}: true, {order.Validating, order.Failed}: true, {order.Validating, order.Cancelled}: true,
		{order.InventoryCheck, order.PaymentProcessing}: true, {order.InventoryCheck, order.Failed}: true, {order.InventoryCheck, order.Cancelled}: true,
		{order.PaymentProcessing, order.Fulfillment}: true, {order.PaymentProcessing, order.Failed}: true, {order.PaymentProcessing, order.Cancelled}: true,
		{order.Fulfillment, order.Completed}: true, {order.Fulfillment, order.Failed}: true,
	}
	for _, from := range order.Statuses {
		for _, to := range order.Statuses {
			if to == order.Pending {
				continue // no method leads back to PENDING
			}
			want := allowed[[2]order.Status{from, to}]
			t.Run(fmt.Sprintf("%s→%s", from, to), func(t *testing.T) {
				t.Parallel()
				o := moveTo(t, from)
				before := o.Snapshot()
				err := step(o, to)
				if want {
					if err != nil {
						t.Fatalf("allowed transition refused: %v", err)
					}
					if o.Status() != to || o.History()[len(o.History())-1].Status != to {
						t.Fatalf("status %s, history %v; want %s recorded", o.Status(), o.History(), to)
					}
					return
				}
				if err == nil {
					t.Fatalf("refused transition %s→%s was allowed", from, to)
				}
				if !order.IsInvalidTransition(err) || fault.KindOf(err) != fault.Conflict {
					t.Fatalf("err = %v, want an invalid-transition conflict", err)
				}
				if diff := cmp.Diff(before, o.Snapshot()); diff != "" {
					t.Errorf("a refused transition changed the order (-before +after):\n%s", diff)
				}
			})
		}
	}
}

func TestCancelRefusals(t *testing.T) {
	t.Parallel()
	if err := moveTo(t, order.Cancelled).Cancel(t0); !errors.Is(err, order.ErrAlreadyCancelled) {
		t.Errorf("cancel twice: %v, want ErrAlreadyCancelled", err)
	}
	for _, s := range []order.Status{order.Fulfillment, order.Completed, order.Failed} {
		if err := moveTo(t, s).Cancel(t0); !errors.Is(err, order.ErrNotCancellable) {
			t.Errorf("cancel %s: %v, want ErrNotCancellable", s, err)
		}
	}
}

func TestFailRecordsTheStage(t *testing.T) {
	t.Parallel()
	o := moveTo(t, order.PaymentProcessing)
	if err := o.Fail("PAYMENT_DECLINED", "declined", t0); err != nil {
		t.Fatal(err)
	}
	want := &contracts.Failure{Stage: "PAYMENT_PROCESSING", Code: "PAYMENT_DECLINED", Reason: "declined"}
	if diff := cmp.Diff(want, o.Failure()); diff != "" {
		t.Errorf("failure (-want +got):\n%s", diff)
	}
}

func TestHistoryListsEveryStatusInOrder(t *testing.T) {
	t.Parallel()
	o := moveTo(t, order.Completed)
	var got []string
	for _, c := range o.View().History {
		got = append(got, c.Status)
	}
	want := []string{"PENDING", "VALIDATING", "INVENTORY_CHECK", "PAYMENT_PROCESSING", "FULFILLMENT", "COMPLETED"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if o.View().Shipment == nil || o.AuthorizationID() != "auth1" {
		t.Errorf("completed order lacks shipment or authorization: %+v", o.View())
	}
}

func TestNewRefusesBrokenInvariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*order.Draft)
		field  string
	}{
		{"no id", func(d *order.Draft) { d.ID = "" }, "orderId"},
		{"no customer", func(d *order.Draft) { d.CustomerID = " " }, "customerId"},
		{"no items", func(d *order.Draft) { d.Items = nil }, "items"},
		{"zero quantity", func(d *order.Draft) { d.Items[0].Quantity = 0 }, "items[0].quantity"},
		{"too many units", func(d *order.Draft) { d.Items[0].Quantity = 1001 }, "items[0].quantity"},
		{"negative price", func(d *order.Draft) { d.Items[0].Price = -1 }, "items[0].price"},
		{"wrong total", func(d *order.Draft) { d.Total++ }, "totalAmount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := draft()
			d.Items = append([]order.Item(nil), d.Items...)
			tt.change(&d)
			_, err := order.New(d, t0)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.Invalid {
				t.Fatalf("err = %v, want invalid", err)
			}
			if len(fe.Fields) == 0 || fe.Fields[0].Field != tt.field {
				t.Errorf("fields = %+v, want %s first", fe.Fields, tt.field)
			}
		})
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	o := moveTo(t, order.Completed)
	back := order.FromSnapshot(o.Snapshot())
	if diff := cmp.Diff(o.View(), back.View()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestOrdersRebuiltFromOneSnapshotDoNotChangeItOrEachOther(t *testing.T) {
	t.Parallel()
	s := moveTo(t, order.InventoryCheck).Snapshot()
	// Spare capacity behind the history, as a slice grown by append has: an order that appended in
	// place would write into it, where another order rebuilt from s appends too.
	s.History = append(make([]order.Change, 0, len(s.History)+4), s.History...)
	want := order.FromSnapshot(s).Snapshot()

	paid, failed := order.FromSnapshot(s), order.FromSnapshot(s)
	if err := paid.ReserveInventory(t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := paid.AuthorizePayment("auth-1", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := failed.Fail("OUT_OF_STOCK", "none left", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("the snapshot changed (-before +after):\n%s", diff)
	}
	wantPaid := []order.Status{order.Pending, order.Validating, order.InventoryCheck, order.PaymentProcessing, order.Fulfillment}
	wantFailed := []order.Status{order.Pending, order.Validating, order.InventoryCheck, order.Failed}
	for _, c := range []struct {
		name string
		o    *order.Order
		want []order.Status
	}{{"paid", paid, wantPaid}, {"failed", failed, wantFailed}} {
		var got []order.Status
		for _, h := range c.o.History() {
			got = append(got, h.Status)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s order's history (-want +got):\n%s", c.name, diff)
		}
	}
	if paid.Failure() != nil || failed.AuthorizationID() != "" {
		t.Errorf("one order's change shows in the other: paid failure %v, failed authorization %q", paid.Failure(), failed.AuthorizationID())
	}
}

func TestEnteredAndLastChangeReadTheHistory(t *testing.T) {
	t.Parallel()
	o := moveTo(t, order.PaymentProcessing)
	h := o.History()
	for _, c := range h {
		if got, ok := o.Entered(c.Status); !ok || got != c {
			t.Errorf("Entered(%s) = %v, %t; want %v, true", c.Status, got, ok, c)
		}
	}
	if got, ok := o.Entered(order.Completed); ok {
		t.Errorf("Entered(COMPLETED) of an order being paid = %v, true; want false", got)
	}
	if got, ok := o.LastChange(); !ok || got != h[len(h)-1] || got.Status != order.PaymentProcessing {
		t.Errorf("LastChange() = %v, %t; want %v, true", got, ok, h[len(h)-1])
	}
	if got, ok := order.FromSnapshot(order.Snapshot{ID: "o9"}).LastChange(); ok {
		t.Errorf("LastChange() of an order without a history = %v, true; want false", got)
	}
}
