package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/httpapi"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/input/inputtest"
)

// FuzzCreateOrder checks that no body makes POST /orders answer 5xx, that every error is a proper error
// body, and that whatever it accepts reads back exactly as sent: every string byte for byte, every number
// as the same decimal value (sameOrder), from the answer and from GET /orders/{id}. It calls the handler
// in process (no loopback) so that the fuzzer runs fast.
func FuzzCreateOrder(f *testing.F) {
	for _, seed := range []string{
		orderBody,
		compact(orderBody),
		`{}`, `[]`, `null`, `""`, `0`, `{"items":null}`, `{"items":[null]}`, `{"items":[{}]}`,
		`{"items":[{"quantity":1e400,"price":1e400}],"totalAmount":-0}`,
		`{"totalAmount":99999999999999999999999999,"items":[{"productId":"a","name":"b","quantity":1000,"price":999999999999.99}]}`,
		`{"shippingAddress":[],"customerEmail":"@","customerPhone":"+"}`,
		`{"customerId":"\u0000","currency":"\ud800"}`,
		`{"a":{"b":{"c":[[[[[]]]]]}}}`,
		`{"customerId":"c",`,
		inputtest.OrderBody,
		inputtest.AtEveryLimit("fuzz-"),
		strings.Replace(inputtest.OrderBody, `"hostile-1"`, `"a\u00e9\ud83d\ude00"`, 1),
		inputtest.Set(inputtest.Set(inputtest.Set(inputtest.OrderBody, "currency", `"JPY"`), "price", "1300"), "totalAmount", "2600"),
	} {
		f.Add(seed)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := newMemOrders()
	h := httpapi.New(httpapi.Config{ClientKeys: []string{clientKey}, Logger: quiet}, httpapi.Deps{
		Orders:    store,
		Ingest:    ingest.NewService(store, nopQueue{}, store, ingest.Config{Logger: quiet}),
		Inventory: newMemInventory(),
	})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", clientKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code >= 400 {
			var b contracts.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Code == "" {
				t.Fatalf("status %d with a body that is not an error body: %s", rec.Code, rec.Body)
			}
			return
		}
		var o contracts.Order
		if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil {
			t.Fatalf("status %d with a body that is not an order: %s", rec.Code, rec.Body)
		}
		sameOrder(t, body, o)
		get := httptest.NewRequest(http.MethodGet, "/orders/"+o.OrderID, nil)
		get.Header.Set("X-API-Key", clientKey)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, get)
		if err := json.Unmarshal(rec.Body.Bytes(), &o); rec.Code != http.StatusOK || err != nil {
			t.Fatalf("GET the accepted order: %d %s", rec.Code, rec.Body)
		}
		sameOrder(t, body, o)
	})
}
