package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/input"
	"github.com/orderflow/orderflow/services/input/inputtest"
	"github.com/orderflow/orderflow/services/inventory"
)

// TestHostileOrderBodiesAreRefusedAndWriteNothing runs the table of hostile bodies: each is a 400 whose
// details name the field and the problem, and none writes anything. Like every test here it runs a
// second time through API Gateway proxy events (apigateway_test.go).
func TestHostileOrderBodiesAreRefusedAndWriteNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := inputtest.HostileOrders()
	if len(cases) < 60 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	t.Cleanup(func() {
		if n := e.orders.Len(); n != 0 {
			t.Errorf("hostile bodies stored %d orders, want none", n)
		}
	})
	for i, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			t.Parallel()
			// An Idempotency-Key too: a refused request must not take it either.
			res := e.do(t, request{method: "POST", path: "/orders", key: clientKey, body: tt.Body, contentType: "application/json", header: map[string]string{"Idempotency-Key": fmt.Sprintf("hostile-%d", i)}})
			if res.status != tt.Status {
				t.Fatalf("status %d, want %d: %s", res.status, tt.Status, res.body)
			}
			b := res.errorBody(t)
			if b.Error.Code != tt.Code {
				t.Errorf("code %s, want %s (%s)", b.Error.Code, tt.Code, b.Error.Message)
			}
			if diff := cmp.Diff(tt.Details, b.Error.Details); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOrderAtEveryLimitReadsBackExactly: an order whose every string is as long as it may be, in
// several scripts, is accepted and reads back byte for byte, found by its customer id too.
func TestOrderAtEveryLimitReadsBackExactly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := inputtest.AtEveryLimit("limit-")
	res := e.do(t, request{method: "POST", path: "/orders", key: clientKey, body: body})
	if res.status != http.StatusCreated {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var created contracts.Order
	res.decode(t, &created)
	sameOrder(t, body, created)

	var got contracts.Order
	e.do(t, request{method: "GET", path: "/orders/" + created.OrderID, key: clientKey}).decode(t, &got)
	sameOrder(t, body, got)

	var list contracts.OrderList
	e.do(t, request{method: "GET", path: "/orders?customerId=" + url.QueryEscape(created.CustomerID), key: clientKey}).decode(t, &list)
	if len(list.Orders) != 1 || list.Orders[0].OrderID != created.OrderID {
		t.Errorf("list of customer %q = %+v, want the order", created.CustomerID, list.Orders)
	}
}

// TestListAndPathIDsAreBounded: an id longer than any order can have is refused (a query) or not found
// (a path), never looked up; one of another alphabet is looked up (orders stored before the identifier
// rules stay reachable) and finds nothing.
func TestListAndPathIDsAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.do(t, request{method: "GET", path: "/orders?customerId=" + strings.Repeat("c", 2100), key: clientKey})
	if res.status != http.StatusBadRequest || res.errorBody(t).Error.Details[0] != (contracts.FieldIssue{Field: "customerId", Issue: "must be at most 128 characters (has 2100)"}) {
		t.Errorf("list of a customer id of 2,100 characters = %d %s, want 400 naming customerId", res.status, res.body)
	}
	for _, customer := range []string{"a\x00b", "a\u202eb", "e\u0301"} {
		var list contracts.OrderList
		res := e.do(t, request{method: "GET", path: "/orders?customerId=" + url.QueryEscape(customer), key: clientKey})
		if res.decode(t, &list); res.status != http.StatusOK || len(list.Orders) != 0 {
			t.Errorf("list of customer %q = %d %s, want 200 and no orders", customer, res.status, res.body)
		}
	}
	for _, path := range []string{"/orders/" + strings.Repeat("o", 2100), "/orders/a%00b", "/orders/" + strings.Repeat("o", 2100) + "/events"} {
		if res := e.do(t, request{method: "GET", path: path, key: clientKey}); res.status != http.StatusNotFound {
			t.Errorf("GET %.40s… = %d, want 404", path, res.status)
		}
	}
	if res := e.do(t, request{method: "POST", path: "/orders/" + strings.Repeat("o", 2100) + "/cancel", key: clientKey}); res.status != http.StatusNotFound {
		t.Errorf("cancel of an overlong id = %d, want 404", res.status)
	}
	if res := e.do(t, request{method: "GET", path: "/inventory/" + strings.Repeat("P", 2100), key: adminKey}); res.status != http.StatusNotFound {
		t.Errorf("GET /inventory/<2100 characters> = %d, want 404", res.status)
	}
}

// TestIDsThatAreNotUTF8AreNeverLookedUp: nothing stored has an id that is not UTF-8 (every body is
// checked for it, and so is a product id in a path), and DynamoDB would look one up as U+FFFD, another
// customer's or product's id. A customerId query that is not UTF-8 is refused; a path id is not found.
func TestIDsThatAreNotUTF8AreNeverLookedUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createOrder(t, "\ufffd")
	if err := e.inventory.PutProduct(t.Context(), inventory.Product{ID: "\ufffd", Name: "Replacement", Price: 100, Available: 1}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/orders?customerId=%FF", "/orders?customerId=%FF&reference=7K3M-Q9TX"} {
		res := e.do(t, request{method: "GET", path: path, key: clientKey})
		if res.status != http.StatusBadRequest {
			t.Errorf("GET %s = %d %s, want 400", path, res.status, res.body)
			continue
		}
		if want := []contracts.FieldIssue{{Field: "customerId", Issue: "must be valid UTF-8 (byte 0 is not)"}}; !cmp.Equal(want, res.errorBody(t).Error.Details) {
			t.Errorf("GET %s details = %s, want %+v", path, res.body, want)
		}
	}
	for _, path := range []string{"/inventory/%FF", "/inventory/X%FF"} {
		if res := e.do(t, request{method: "GET", path: path, key: adminKey}); res.status != http.StatusNotFound {
			t.Errorf("GET %s = %d %s, want 404", path, res.status, res.body)
		}
	}
	for _, path := range []string{"/orders/%FF", "/orders/%FF/events"} {
		if res := e.do(t, request{method: "GET", path: path, key: clientKey}); res.status != http.StatusNotFound {
			t.Errorf("GET %s = %d %s, want 404", path, res.status, res.body)
		}
	}
}

func TestHostileChatbotAndInventoryBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	type issue = contracts.FieldIssue
	tests := []struct {
		name, method, path, body string
		wantCode                 string
		want                     []issue
	}{
		{"chat: duplicate customer id", "POST", "/chatbot", `{"query":"hi","customerId":"a","customerId":"b"}`, contracts.CodeInvalidJSON, []issue{{Field: "customerId", Issue: `duplicate key "customerId" (at byte 31)`}}},
		{"chat: invalid UTF-8", "POST", "/chatbot", "{\"query\":\"h\xffi\",\"customerId\":\"a\"}", contracts.CodeInvalidJSON, []issue{{Field: "body", Issue: "is not valid UTF-8 (at byte 11)"}}},
		{"chat: NUL in the customer id", "POST", "/chatbot", `{"query":"hi","customerId":"a\u0000"}`, contracts.CodeValidationFailed, []issue{{Field: "customerId", Issue: "must not contain control characters (U+0000 at byte 1)"}}},
		{"chat: customer id of 129 characters", "POST", "/chatbot", `{"query":"hi","customerId":"` + strings.Repeat("c", 129) + `"}`, contracts.CodeValidationFailed, []issue{{Field: "customerId", Issue: "must be at most 128 characters (has 129)"}}},
		{"chat: session id with an override", "POST", "/chatbot", `{"query":"hi","customerId":"a","sessionId":"s\u202e"}`, contracts.CodeValidationFailed, []issue{{Field: "sessionId", Issue: "must not contain format characters such as U+202E (U+202E at byte 1)"}}},
		{"chat: session id of 129 characters", "POST", "/chatbot", `{"query":"hi","customerId":"a","sessionId":"` + strings.Repeat("s", 129) + `"}`, contracts.CodeValidationFailed, []issue{{Field: "sessionId", Issue: "must be at most 128 characters (has 129)"}}},
		{"chat: NUL in the query", "POST", "/chatbot", `{"query":"h\u0000i","customerId":"a"}`, contracts.CodeValidationFailed, []issue{{Field: "query", Issue: "must not contain control characters or line breaks (U+0000 at byte 1)"}}},
		{"inventory: duplicate available", "PUT", "/inventory/X1", `{"name":"x","price":1,"available":1,"available":1000}`, contracts.CodeInvalidJSON, []issue{{Field: "available", Issue: `duplicate key "available" (at byte 36)`}}},
		{"inventory: lone surrogate in the name", "PUT", "/inventory/X1", `{"name":"\udfff","price":1,"available":1}`, contracts.CodeInvalidJSON, []issue{{Field: "name", Issue: "escapes a lone UTF-16 surrogate, which is not a character (at byte 9)"}}},
		{"inventory: product id with an override", "PUT", "/inventory/X%E2%80%AE1", `{"name":"x","price":1,"available":1}`, contracts.CodeValidationFailed, []issue{{Field: "productId", Issue: "must not contain format characters such as U+202E (U+202E at byte 1)"}}},
		{"inventory: product id not UTF-8", "PUT", "/inventory/X%FF", `{"name":"x","price":1,"available":1}`, contracts.CodeValidationFailed, []issue{{Field: "productId", Issue: "must be valid UTF-8 (byte 1 is not)"}}},
		{"inventory: product id not in NFC", "PUT", "/inventory/e%CC%81", `{"name":"x","price":1,"available":1}`, contracts.CodeValidationFailed, []issue{{Field: "productId", Issue: "must be in Unicode Normalization Form C (NFC)"}}},
		{"inventory: name with a newline", "PUT", "/inventory/X1", `{"name":"a\nb","price":1,"available":1}`, contracts.CodeValidationFailed, []issue{{Field: "name", Issue: "must not contain control characters or line breaks (U+000A at byte 1)"}}},
		{"inventory: name of 201 characters", "PUT", "/inventory/X1", `{"name":"` + strings.Repeat("n", 201) + `","price":1,"available":1}`, contracts.CodeValidationFailed, []issue{{Field: "name", Issue: "must be at most 200 characters (has 201)"}}},
		{"inventory: stock past the maximum", "PUT", "/inventory/X1", `{"name":"x","price":1,"available":1000000001}`, contracts.CodeValidationFailed, []issue{{Field: "available", Issue: "must be an integer from 0 to 1000000000"}}},
		{"inventory: stock of 1e3", "PUT", "/inventory/X1", `{"name":"x","price":1,"available":1e3}`, contracts.CodeValidationFailed, []issue{{Field: "available", Issue: "must be an integer from 0 to 1000000000"}}},
		{"inventory: stock of -0", "PUT", "/inventory/X1", `{"name":"x","price":1,"available":-0}`, contracts.CodeValidationFailed, []issue{{Field: "available", Issue: "must be an integer from 0 to 1000000000"}}},
		{"inventory: price of 1e309", "PUT", "/inventory/X1", `{"name":"x","price":1e309,"available":1}`, contracts.CodeValidationFailed, []issue{{Field: "price", Issue: "must be a plain decimal number such as 12.50 (no exponent, no sign)"}}},
		{"inventory: huge price", "PUT", "/inventory/X1", `{"name":"x","price":99999999999999999999,"available":1}`, contracts.CodeValidationFailed, []issue{{Field: "price", Issue: "must be at most 1000000000000.00"}}},
		{"inventory: deeply nested", "PUT", "/inventory/X1", `{"name":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, contracts.CodeInvalidJSON, []issue{{Field: "name" + strings.Repeat("[0]", 31), Issue: "nests deeper than 32 levels (at byte 39)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := clientKey
			if strings.HasPrefix(tt.path, "/inventory") {
				key = adminKey
			}
			res := e.do(t, request{method: tt.method, path: tt.path, key: key, body: tt.body})
			if res.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", res.status, res.body)
			}
			b := res.errorBody(t)
			if b.Error.Code != tt.wantCode {
				t.Errorf("code %s, want %s", b.Error.Code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, b.Error.Details); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
		})
	}
	t.Cleanup(func() {
		if len(e.chatbot.got) != 0 {
			t.Errorf("the chatbot was asked %d refused questions", len(e.chatbot.got))
		}
		for _, id := range []string{"X1", "X\xff", "X\ufffd"} {
			if _, err := e.inventory.Product(t.Context(), id); err == nil {
				t.Errorf("a refused PUT stored product %q", id)
			}
		}
	})
}

// sameOrder checks that the order o gives back every field of the create request body exactly: strings
// byte for byte, numbers as the same decimal value (an amount is written back with two decimals).
func sameOrder(t *testing.T, body string, o contracts.Order) {
	t.Helper()
	v, err := input.Decode([]byte(body))
	if err != nil {
		t.Fatalf("the accepted body is not strict JSON: %v", err)
	}
	sent := v.(map[string]any)
	s := func(m map[string]any, k string) string { x, _ := m[k].(string); return x }
	amount := func(m map[string]any, k string) contracts.Amount {
		n, _ := m[k].(json.Number)
		a, err := contracts.ParseAmount(n.String())
		if err != nil {
			t.Errorf("accepted %s %q is not an amount: %v", k, n, err)
		}
		return a
	}
	currency := s(sent, "currency")
	if currency == "" {
		currency = "EUR"
	}
	want := contracts.Order{
		CustomerID: s(sent, "customerId"), Currency: currency, CustomerEmail: s(sent, "customerEmail"),
		CustomerPhone: s(sent, "customerPhone"), TotalAmount: amount(sent, "totalAmount"),
	}
	if a, ok := sent["shippingAddress"].(map[string]any); ok {
		want.ShippingAddress = contracts.Address{Street: s(a, "street"), City: s(a, "city"), State: s(a, "state"), ZipCode: s(a, "zipCode"), Country: s(a, "country")}
	}
	items, _ := sent["items"].([]any)
	for _, it := range items {
		m := it.(map[string]any)
		q, _ := m["quantity"].(json.Number).Int64()
		want.Items = append(want.Items, contracts.LineItem{ProductID: s(m, "productId"), Name: s(m, "name"), Quantity: int(q), Price: amount(m, "price")})
	}
	got := contracts.Order{
		CustomerID: o.CustomerID, Currency: o.Currency, CustomerEmail: o.CustomerEmail, CustomerPhone: o.CustomerPhone,
		TotalAmount: o.TotalAmount, ShippingAddress: o.ShippingAddress, Items: o.Items,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order read back differs from what was sent (-sent +read back):\n%s\nbody: %q", diff, body)
	}
}
