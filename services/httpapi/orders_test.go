package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/httpapi"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
)

func TestCreateOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.do(t, request{
		method: "POST", path: "/orders", key: clientKey, body: orderBody,
		header: map[string]string{"X-Correlation-Id": "corr-abc"},
	})
	if res.status != http.StatusCreated {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var o contracts.Order
	res.decode(t, &o)
	if loc := res.header.Get("Location"); loc != "/orders/"+o.OrderID {
		t.Errorf("Location = %q, want /orders/%s", loc, o.OrderID)
	}
	if o.Status != "PENDING" || o.TotalAmount != 2600 || o.Currency != "EUR" || len(o.Items) != 2 || len(o.History) != 1 {
		t.Errorf("order = %+v", o)
	}
	if got := res.header.Get("X-Correlation-Id"); got != "corr-abc" {
		t.Errorf("X-Correlation-Id = %q, want corr-abc", got)
	}
	if got := e.orders.snapshot(o.OrderID).CorrelationID; got != "corr-abc" {
		t.Errorf("stored correlation id = %q, want the request's corr-abc", got)
	}
	// Money goes out as it came in: a number with two decimals.
	if !strings.Contains(string(res.body), `"totalAmount":26.00`) {
		t.Errorf("body %s does not hold totalAmount 26.00", res.body)
	}
}

func TestCreateOrderIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.do(t, request{method: "POST", path: "/orders", key: clientKey, body: orderBody, header: map[string]string{"Idempotency-Key": "k-1"}})
	if first.status != http.StatusCreated {
		t.Fatalf("first: status %d: %s", first.status, first.body)
	}

	tests := []struct {
		name       string
		key        string
		idemKey    string
		body       string
		wantStatus int
		wantCode   string
		wantSame   bool
	}{
		{name: "same key and body replays the original", key: clientKey, idemKey: "k-1", body: orderBody, wantStatus: 201, wantSame: true},
		{name: "same key and reformatted body replays", key: clientKey, idemKey: "k-1", body: compact(orderBody), wantStatus: 201, wantSame: true},
		{name: "same key with another body is refused", key: clientKey, idemKey: "k-1", body: orderFor("cust-2"), wantStatus: 422, wantCode: contracts.CodeIdempotencyKeyReused},
		{name: "same key from another API key is a new order", key: otherKey, idemKey: "k-1", body: orderBody, wantStatus: 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(t, request{method: "POST", path: "/orders", key: tt.key, body: tt.body, header: map[string]string{"Idempotency-Key": tt.idemKey}})
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantCode != "" {
				if got := res.errorBody(t).Error.Code; got != tt.wantCode {
					t.Errorf("code %s, want %s", got, tt.wantCode)
				}
				return
			}
			same := string(res.body) == string(first.body)
			if same != tt.wantSame {
				t.Errorf("same body as the first response = %v, want %v\nfirst: %s\ngot:   %s", same, tt.wantSame, first.body, res.body)
			}
			if got := res.header.Get("Idempotent-Replayed") == "true"; got != tt.wantSame {
				t.Errorf("Idempotent-Replayed = %v, want %v", got, tt.wantSame)
			}
			if tt.wantSame && res.header.Get("Location") != first.header.Get("Location") {
				t.Errorf("Location %q, want the original %q", res.header.Get("Location"), first.header.Get("Location"))
			}
		})
	}
	if n := e.orders.Len(); n != 2 {
		t.Errorf("%d orders stored, want 2 (the original and the other API key's)", n)
	}
}

func TestGetOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.createOrder(t, "cust-1")
	tests := []struct {
		name       string
		path       string
		wantStatus int
	}{
		{name: "existing order", path: "/orders/" + created.OrderID, wantStatus: 200},
		{name: "unknown order", path: "/orders/0190c8a1-0000-7000-8000-000000000000", wantStatus: 404},
		{name: "escaped garbage id", path: "/orders/%00%ff", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := e.do(t, request{method: "GET", path: tt.path, key: clientKey})
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantStatus != 200 {
				if code := res.errorBody(t).Error.Code; code != contracts.CodeNotFound {
					t.Errorf("code %s, want NOT_FOUND", code)
				}
				return
			}
			var got contracts.Order
			res.decode(t, &got)
			if diff := cmp.Diff(created, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var want []string // newest first
	for range 5 {
		want = append([]string{e.createOrder(t, "cust-list").OrderID}, want...)
	}
	e.createOrder(t, "someone-else")

	var got []string
	cursor := ""
	for page := 0; ; page++ {
		path := "/orders?customerId=cust-list&limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := e.do(t, request{method: "GET", path: path, key: clientKey})
		if res.status != 200 {
			t.Fatalf("page %d: status %d: %s", page, res.status, res.body)
		}
		var raw map[string]json.RawMessage
		res.decode(t, &raw)
		if _, ok := raw["nextCursor"]; !ok {
			t.Fatalf("page %d: body %s has no nextCursor", page, res.body)
		}
		var list contracts.OrderList
		res.decode(t, &list)
		if len(list.Orders) > 2 {
			t.Fatalf("page %d has %d orders, limit 2", page, len(list.Orders))
		}
		for _, o := range list.Orders {
			got = append(got, o.OrderID)
		}
		if list.NextCursor == nil {
			if string(raw["nextCursor"]) != "null" {
				t.Errorf("last page nextCursor = %s, want null", raw["nextCursor"])
			}
			break
		}
		cursor = *list.NextCursor
		if page > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("orders across pages, newest first (-want +got):\n%s", diff)
	}

	res := e.do(t, request{method: "GET", path: "/orders?customerId=nobody", key: clientKey})
	if res.status != 200 || !strings.Contains(string(res.body), `"orders":[]`) || e.orders.listLimit() != 20 {
		t.Errorf("empty list: status %d body %s limit %d; want 200, an empty array, default limit 20", res.status, res.body, e.orders.listLimit())
	}
}

// TestAPageOfOrdersStaysWithinItsByteBudget lists orders whose page would exceed the byte budget (on
// AWS, more than a function may return): each page holds fewer orders and stays within it, and its cursor
// goes on from its last order, so that paging still yields every order once, newest first.
func TestAPageOfOrdersStaysWithinItsByteBudget(t *testing.T) {
	t.Parallel()
	const budget = 3000
	e := newEnv(t, func(c *httpapi.Config, _ *httpapi.Deps) { c.MaxPageBytes = budget })
	var want []string // newest first
	for range 9 {
		want = append([]string{e.createOrder(t, "cust-big").OrderID}, want...)
	}
	one := e.do(t, request{method: "GET", path: "/orders?customerId=cust-big&limit=1", key: clientKey})
	if len(one.body) > budget/2 {
		t.Fatalf("one order's page is %d bytes: the budget of %d must hold at least two", len(one.body), budget)
	}
	var got []string
	cursor, pages := "", 0
	for ; pages < 20; pages++ {
		path := "/orders?customerId=cust-big&limit=100"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := e.do(t, request{method: "GET", path: path, key: clientKey})
		if res.status != 200 {
			t.Fatalf("page %d: status %d: %s", pages, res.status, res.body)
		}
		if len(res.body) > budget+1 { // the budget is of the JSON, the newline after it aside
			t.Errorf("page %d is %d bytes, over the budget of %d", pages, len(res.body), budget)
		}
		var list contracts.OrderList
		res.decode(t, &list)
		if len(list.Orders) == 0 && list.NextCursor != nil {
			t.Fatalf("page %d is empty but not the last", pages)
		}
		for _, o := range list.Orders {
			got = append(got, o.OrderID)
		}
		if list.NextCursor == nil {
			break
		}
		cursor = *list.NextCursor
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("orders across pages, newest first (-want +got):\n%s", diff)
	}
	if pages < 2 {
		t.Errorf("%d orders came in one page of at most %d bytes", len(got), budget)
	}
}

// TestAPageOfQuotedOrdersFitsALambdaResponse lists, through API Gateway proxy events, 80 orders whose
// item names are all double quotes: the page's body doubles as the proxy response's JSON string, and
// over 6 MB the gateway would answer 502. The page holds fewer orders instead and is answered.
func TestAPageOfQuotedOrdersFitsALambdaResponse(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	orders := newMemOrders()
	cfg := httpapi.Config{ClientKeys: []string{clientKey}, Logger: quiet}
	deps := httpapi.Deps{Orders: orders, Ingest: ingest.NewService(orders, nopQueue{}, orders, ingest.Config{Logger: quiet}),
		Inventory: newMemInventory(), Chatbot: &fakeChatbot{}, Observer: &recordingObserver{}}
	srv := httptest.NewServer(behindAPIGateway(cfg, deps))
	defer srv.Close()
	e := &env{srv: srv, orders: orders}
	items := make([]map[string]any, 100)
	for i := range items {
		items[i] = map[string]any{"productId": fmt.Sprintf("P%03d", i), "name": strings.Repeat(`"`, 200), "quantity": 1, "price": 1}
	}
	body, _ := json.Marshal(map[string]any{"customerId": "cust-q", "items": items, "totalAmount": 100, "customerEmail": "a@example.com",
		"shippingAddress": map[string]string{"street": "1 Main St", "city": "Berlin", "state": "BE", "zipCode": "10115", "country": "DE"}})
	for i := range 80 {
		if res := e.do(t, request{method: "POST", path: "/orders", key: clientKey, body: string(body)}); res.status != 201 {
			t.Fatalf("create %d: %d %.200s", i, res.status, res.body)
		}
	}
	res := e.do(t, request{method: "GET", path: "/orders?customerId=cust-q&limit=100", key: clientKey})
	var list contracts.OrderList
	if res.status != 200 {
		t.Fatalf("GET /orders: %d %.200s, want 200", res.status, res.body)
	}
	res.decode(t, &list)
	if len(list.Orders) == 0 || len(list.Orders) == 80 || list.NextCursor == nil {
		t.Errorf("page of %d orders (next %v), want fewer than 80 and a cursor to the rest", len(list.Orders), list.NextCursor)
	}
}

func TestListOrdersRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		query string
		want  []contracts.FieldIssue
	}{
		{query: "", want: []contracts.FieldIssue{{Field: "customerId", Issue: "is required"}}},
		{query: "?customerId=", want: []contracts.FieldIssue{{Field: "customerId", Issue: "is required"}}},
		{query: "?customerId=c&limit=0", want: []contracts.FieldIssue{{Field: "limit", Issue: "must be an integer from 1 to 100"}}},
		{query: "?customerId=c&limit=101", want: []contracts.FieldIssue{{Field: "limit", Issue: "must be an integer from 1 to 100"}}},
		{query: "?customerId=c&limit=ten", want: []contracts.FieldIssue{{Field: "limit", Issue: "must be an integer from 1 to 100"}}},
		{query: "?limit=-1", want: []contracts.FieldIssue{{Field: "customerId", Issue: "is required"}, {Field: "limit", Issue: "must be an integer from 1 to 100"}}},
		{query: "?customerId=c&cursor=bogus"}, // the store's own Invalid error
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			res := e.do(t, request{method: "GET", path: "/orders" + tt.query, key: clientKey})
			if res.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", res.status, res.body)
			}
			b := res.errorBody(t)
			if b.Error.Code != contracts.CodeValidationFailed {
				t.Errorf("code %s, want VALIDATION_FAILED", b.Error.Code)
			}
			if diff := cmp.Diff(tt.want, b.Error.Details); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCancelOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pending := e.createOrder(t, "c").OrderID
	shipped := e.createOrder(t, "c").OrderID
	e.orders.moveTo(t, shipped, order.Fulfillment)
	failed := e.createOrder(t, "c").OrderID
	e.orders.moveTo(t, failed, order.Failed)

	tests := []struct {
		name       string
		id         string
		wantStatus int
		wantCode   string
	}{
		{name: "pending order is cancelled", id: pending, wantStatus: 200},
		{name: "cancelled order is returned again", id: pending, wantStatus: 200},
		{name: "order in fulfillment cannot be cancelled", id: shipped, wantStatus: 409, wantCode: contracts.CodeConflict},
		{name: "failed order cannot be cancelled", id: failed, wantStatus: 409, wantCode: contracts.CodeConflict},
		{name: "unknown order", id: "nope", wantStatus: 404, wantCode: contracts.CodeNotFound},
	}
	for _, tt := range tests { // in order: the second case depends on the first
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(t, request{method: "POST", path: "/orders/" + tt.id + "/cancel", key: clientKey})
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantCode != "" {
				if code := res.errorBody(t).Error.Code; code != tt.wantCode {
					t.Errorf("code %s, want %s", code, tt.wantCode)
				}
				return
			}
			var o contracts.Order
			res.decode(t, &o)
			if o.Status != "CANCELLED" || o.OrderID != tt.id {
				t.Errorf("got %s %s, want %s CANCELLED", o.OrderID, o.Status, tt.id)
			}
		})
	}

	res := e.do(t, request{method: "GET", path: "/orders/" + pending + "/events", key: clientKey})
	if res.status != 200 {
		t.Fatalf("events: status %d: %s", res.status, res.body)
	}
	var list contracts.EventList
	res.decode(t, &list)
	if len(list.Events) != 1 || list.Events[0].DetailType != contracts.DetailOrderCancelled {
		t.Errorf("events = %s, want exactly one OrderCancelled", res.body)
	}
}

func TestOrderEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createOrder(t, "c").OrderID
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{path: "/orders/" + id + "/events", wantStatus: 200, wantBody: `{"events":[]}`},
		{path: "/orders/unknown/events", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			res := e.do(t, request{method: "GET", path: tt.path, key: clientKey})
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantBody != "" && strings.TrimSpace(string(res.body)) != tt.wantBody {
				t.Errorf("body %s, want %s", res.body, tt.wantBody)
			}
		})
	}
}

func compact(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.String()
}
