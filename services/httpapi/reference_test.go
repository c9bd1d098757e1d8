package httpapi_test

import (
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/httpapi"
	"github.com/orderflow/orderflow/services/ingest"
)

// frozenClock makes every order of the env be created at the same instant.
func frozenClock() option {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return func(_ *httpapi.Config, d *httpapi.Deps) {
		store := d.Orders.(*memOrders)
		d.Ingest = ingest.NewService(store, nopQueue{}, store, ingest.Config{
			Now: func() time.Time { return at }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
	}
}

func TestListOrdersByReference(t *testing.T) {
	t.Parallel()
	e := newEnv(t, frozenClock())
	first, second := e.createOrder(t, "cust-ref"), e.createOrder(t, "cust-ref")
	other := e.createOrder(t, "cust-other")
	if first.Reference == "" || first.Reference == second.Reference {
		t.Fatalf("orders created in the same instant have references %q and %q, want two different ones", first.Reference, second.Reference)
	}
	find := func(customer, reference string) []string {
		t.Helper()
		res := e.do(t, request{method: "GET", key: clientKey,
			path: "/orders?customerId=" + url.QueryEscape(customer) + "&reference=" + url.QueryEscape(reference)})
		if res.status != 200 {
			t.Fatalf("GET by reference %q: status %d: %s", reference, res.status, res.body)
		}
		var list contracts.OrderList
		res.decode(t, &list)
		if list.NextCursor != nil {
			t.Errorf("GET by reference %q: nextCursor %q, want null", reference, *list.NextCursor)
		}
		ids := []string{}
		for _, o := range list.Orders {
			ids = append(ids, o.OrderID)
		}
		return ids
	}
	for _, o := range []contracts.Order{first, second} {
		for _, written := range []string{o.Reference, strings.ToLower(o.Reference), strings.ReplaceAll(o.Reference, "-", "")} {
			if diff := cmp.Diff([]string{o.OrderID}, find("cust-ref", written)); diff != "" {
				t.Errorf("reference %q (-want +got):\n%s", written, diff)
			}
		}
	}
	if got := find("cust-ref", other.Reference); len(got) != 0 {
		t.Errorf("another customer's reference found %v, want nothing", got)
	}
	if got := find("cust-ref", "ZZZZ-ZZZZ"); len(got) != 0 {
		t.Errorf("an unknown reference found %v, want nothing", got)
	}
}

func TestListOrdersByReferenceRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		query string
		field string
	}{
		{"?customerId=c&reference=", "reference"},
		{"?customerId=c&reference=7K3M-Q9T", "reference"},
		{"?customerId=c&reference=7K3M-Q9TU", "reference"},
		{"?customerId=c&reference=7K3M-Q9TX&cursor=abc", "cursor"},
		{"?reference=7K3M-Q9TX", "customerId"},
	}
	for _, tt := range tests {
		res := e.do(t, request{method: "GET", path: "/orders" + tt.query, key: clientKey})
		if res.status != 400 {
			t.Errorf("GET /orders%s = %d %s, want 400", tt.query, res.status, res.body)
			continue
		}
		body := res.errorBody(t)
		if len(body.Error.Details) != 1 || body.Error.Details[0].Field != tt.field {
			t.Errorf("GET /orders%s details = %+v, want one issue on %s", tt.query, body.Error.Details, tt.field)
		}
	}
}
