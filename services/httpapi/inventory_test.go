package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/httpapi"
	"github.com/orderflow/orderflow/services/inventory"
)

func TestInventory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	res := e.do(t, request{method: "PUT", path: "/inventory/PEN001", key: adminKey, body: `{"name":"Pen","price":5.5,"available":40}`, contentType: "application/json; charset=UTF-8"})
	if res.status != 200 {
		t.Fatalf("put: status %d: %s", res.status, res.body)
	}
	want := contracts.InventoryItem{ProductID: "PEN001", Name: "Pen", Price: 550, Available: 40}
	var got contracts.InventoryItem
	res.decode(t, &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("put response (-want +got):\n%s", diff)
	}

	res = e.do(t, request{method: "GET", path: "/inventory/PEN001", key: adminKey})
	if strings.TrimSpace(string(res.body)) != `{"productId":"PEN001","name":"Pen","price":5.50,"available":40}` {
		t.Errorf("get: status %d body %s", res.status, res.body)
	}

	res = e.do(t, request{method: "PUT", path: "/inventory/PEN001", key: adminKey, body: `{"name":"Blue pen","price":0,"available":0}`})
	if res.status != 200 {
		t.Fatalf("replace: status %d: %s", res.status, res.body)
	}
	res = e.do(t, request{method: "GET", path: "/inventory", key: adminKey})
	var list contracts.InventoryList
	res.decode(t, &list)
	wantList := []contracts.InventoryItem{
		{ProductID: "BOOK001", Name: "Go book", Price: 1025, Available: 7},
		{ProductID: "PEN001", Name: "Blue pen", Price: 0, Available: 0},
	}
	if diff := cmp.Diff(wantList, list.Items); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	res = e.do(t, request{method: "GET", path: "/inventory/NOPE", key: adminKey})
	if res.status != 404 || res.errorBody(t).Error.Code != contracts.CodeNotFound {
		t.Errorf("unknown product: status %d body %s, want 404 NOT_FOUND", res.status, res.body)
	}
}

func TestPutInventoryRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	type issue = contracts.FieldIssue
	tests := []struct {
		name        string
		path        string
		body        string
		contentType string
		wantStatus  int
		wantCode    string
		wantDetails []issue
	}{
		{name: "empty name", body: `{"name":" ","price":1,"available":1}`, wantDetails: []issue{{Field: "name", Issue: "is required"}}},
		{name: "negative price", body: `{"name":"x","price":-1,"available":1}`, wantDetails: []issue{{Field: "price", Issue: "must not be negative"}}},
		{name: "price with three decimals", body: `{"name":"x","price":1.001,"available":1}`, wantDetails: []issue{{Field: "price", Issue: "must be an amount with at most 2 decimals"}}},
		{name: "price as string", body: `{"name":"x","price":"1","available":1}`, wantDetails: []issue{{Field: "price", Issue: "must be a number"}}},
		{name: "negative stock", body: `{"name":"x","price":1,"available":-1}`, wantDetails: []issue{{Field: "available", Issue: "must be an integer from 0 to 1000000000"}}},
		{name: "fractional stock", body: `{"name":"x","price":1,"available":1.5}`, wantDetails: []issue{{Field: "available", Issue: "must be an integer from 0 to 1000000000"}}},
		{name: "huge stock", body: `{"name":"x","price":1,"available":1e30}`, wantDetails: []issue{{Field: "available", Issue: "must be an integer from 0 to 1000000000"}}},
		{name: "unknown field", body: `{"name":"x","price":1,"available":1,"sku":"y"}`, wantDetails: []issue{{Field: "sku", Issue: "is not a known field"}}},
		{name: "name of wrong type", body: `{"name":1,"price":1,"available":1}`, wantDetails: []issue{{Field: "name", Issue: "must be a string"}}},
		{
			name: "everything missing", body: `{}`,
			wantDetails: []issue{{Field: "name", Issue: "is required"}, {Field: "price", Issue: "is required"}, {Field: "available", Issue: "is required"}},
		},
		{name: "not an object", body: `"x"`, wantDetails: []issue{{Field: "body", Issue: "must be a JSON object"}}},
		{name: "overlong product id", path: "/inventory/" + strings.Repeat("P", 129), body: `{"name":"x","price":1,"available":1}`, wantDetails: []issue{{Field: "productId", Issue: "must be at most 128 characters (has 129)"}}},
		{name: "blank product id", path: "/inventory/%20", body: `{"name":"x","price":1,"available":1}`, wantDetails: []issue{{Field: "productId", Issue: "is required"}}},
		{name: "syntax error", body: `{"name":`, wantStatus: 400, wantCode: contracts.CodeInvalidJSON, wantDetails: []issue{{Field: "name", Issue: "unexpected end of input (at byte 8)"}}},
		{name: "wrong content type", body: `{}`, contentType: "text/json", wantStatus: 415, wantCode: contracts.CodeUnsupportedMediaType},
		{name: "too large", body: `{"name":"` + strings.Repeat("n", 70000) + `"}`, wantStatus: 413, wantCode: contracts.CodePayloadTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.path == "" {
				tt.path = "/inventory/X1"
			}
			if tt.wantCode == "" {
				tt.wantStatus, tt.wantCode = 400, contracts.CodeValidationFailed
			}
			res := e.do(t, request{method: "PUT", path: tt.path, key: adminKey, body: tt.body, contentType: tt.contentType})
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			b := res.errorBody(t)
			if b.Error.Code != tt.wantCode {
				t.Errorf("code %s, want %s", b.Error.Code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantDetails, b.Error.Details); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
		})
	}
	t.Cleanup(func() {
		if _, err := e.inventory.Product(t.Context(), "X1"); err == nil {
			t.Error("a rejected PUT stored a product")
		}
	})
}

func TestPutInventoryCreatesOnlyWhatIsNew(t *testing.T) {
	e := newEnv(t)
	put := func(id string, header map[string]string) response {
		return e.do(t, request{method: "PUT", path: "/inventory/" + id, key: adminKey, header: header,
			body: `{"name":"Tea pot","price":24.5,"available":12}`})
	}
	if res := put("BOOK001", map[string]string{"If-None-Match": "*"}); res.status != 412 || res.errorBody(t).Error.Code != contracts.CodePreconditionFailed {
		t.Errorf("creating an existing product: %d %s, want 412", res.status, res.body)
	}
	if p, _ := e.inventory.Product(t.Context(), "BOOK001"); p.Name != "Go book" {
		t.Errorf("the refused create changed the product: %+v", p)
	}
	res := put("TEA001", map[string]string{"If-None-Match": "*"})
	if res.status != 200 || res.header.Get("ETag") == "" {
		t.Fatalf("creating a new product: %d %s", res.status, res.body)
	}
	if p, err := e.inventory.Product(t.Context(), "TEA001"); err != nil || p.Available != 12 || p.Price != 2450 {
		t.Errorf("created %+v, %v", p, err)
	}
	// If-Match: * writes only over an existing product.
	if res := put("NOPE001", map[string]string{"If-Match": "*"}); res.status != 412 {
		t.Errorf("If-Match: * on a missing product: %d, want 412", res.status)
	}
	if res := put("TEA001", map[string]string{"If-Match": "*"}); res.status != 200 {
		t.Errorf("If-Match: * on an existing product: %d %s, want 200", res.status, res.body)
	}
	for _, h := range []map[string]string{{"If-None-Match": `"abc"`}, {"If-None-Match": "*", "If-Match": `"abc"`}} {
		if res := put("TEA002", h); res.status != 400 || res.errorBody(t).Error.Details[0].Field != "If-None-Match" {
			t.Errorf("%v: %d %s, want 400 about If-None-Match", h, res.status, res.body)
		}
	}
	for _, etag := range []string{`W/"abc"`, `"abc", "def"`} {
		if res := put("TEA001", map[string]string{"If-Match": etag}); res.status != 400 || res.errorBody(t).Error.Details[0].Field != "If-Match" {
			t.Errorf("If-Match %s: %d %s, want 400 about If-Match", etag, res.status, res.body)
		}
	}
	if _, err := e.inventory.Product(t.Context(), "TEA002"); err == nil {
		t.Error("a refused request created TEA002")
	}
}

// TestTheCatalogIsPaged: with limit, pages of that many products by id, each cursor going on after its
// last; without it, one page of everything that fits the byte budget (on AWS, what a function may
// return), so that following nextCursor reads a catalog of any size, each product once.
func TestTheCatalogIsPaged(t *testing.T) {
	t.Parallel()
	const budget = 1500
	e := newEnv(t, func(c *httpapi.Config, _ *httpapi.Deps) { c.MaxPageBytes = budget })
	want := []string{"BOOK001"}
	for i := range 24 {
		id := fmt.Sprintf("P%03d", i)
		if err := e.inventory.PutProduct(t.Context(), inventory.Product{ID: id, Name: strings.Repeat("n", 20), Price: 100, Available: i}); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	all := func(query string) (ids []string, pages int) {
		t.Helper()
		cursor := ""
		for ; pages < 50; pages++ {
			path := "/inventory" + query
			if cursor != "" {
				path += map[bool]string{true: "&", false: "?"}[query != ""] + "cursor=" + cursor
			}
			res := e.do(t, request{method: "GET", path: path, key: adminKey})
			if res.status != 200 {
				t.Fatalf("GET %s: %d %s", path, res.status, res.body)
			}
			if len(res.body) > budget+1 {
				t.Errorf("GET %s: %d bytes, over the budget of %d", path, len(res.body), budget)
			}
			var l contracts.InventoryList
			res.decode(t, &l)
			for _, it := range l.Items {
				ids = append(ids, it.ProductID)
			}
			if l.NextCursor == nil {
				return ids, pages + 1
			}
			cursor = *l.NextCursor
		}
		t.Fatalf("GET /inventory%s: no last page after %d", query, pages)
		return nil, 0
	}
	ids, pages := all("?limit=10")
	if d := cmp.Diff(want, ids); d != "" || pages != 3 {
		t.Errorf("limit=10: %d pages (want 3), products (-want +got):\n%s", pages, d)
	}
	ids, pages = all("")
	if d := cmp.Diff(want, ids); d != "" || pages < 2 {
		t.Errorf("no limit, %d bytes a page: %d pages (want several), products (-want +got):\n%s", budget, pages, d)
	}
	for _, path := range []string{"/inventory?limit=0", "/inventory?limit=1001", "/inventory?limit=x", "/inventory?cursor=%21%21", "/inventory?cursor=" + strings.Repeat("QUFB", 50)} {
		if res := e.do(t, request{method: "GET", path: path, key: adminKey}); res.status != 400 || res.errorBody(t).Error.Code != contracts.CodeValidationFailed {
			t.Errorf("GET %s: %d %s, want 400 VALIDATION_FAILED", path, res.status, res.body)
		}
	}
}
