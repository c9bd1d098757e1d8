package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/httpapi"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/inventory"
)

const (
	clientKey = "client-key-0123456789"
	otherKey  = "client-key-abcdefghij"
	adminKey  = "admin-key-0123456789"
)

// env is an API over loopback with in-memory services behind it.
type env struct {
	srv       *httptest.Server
	orders    *memOrders
	inventory *memInventory
	chatbot   *fakeChatbot
	observer  *recordingObserver
}

type option func(*httpapi.Config, *httpapi.Deps)

func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	e := &env{
		orders:    newMemOrders(),
		inventory: newMemInventory(inventory.Product{ID: "BOOK001", Name: "Go book", Price: 1025, Available: 7}),
		chatbot:   &fakeChatbot{resp: contracts.ChatResponse{Answer: "Your order is on its way.", SessionID: "s-1", OrderIDs: []string{}, Source: contracts.ChatSourceFallback}},
		observer:  &recordingObserver{},
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := httpapi.Config{ClientKeys: []string{clientKey, otherKey}, AdminKeys: []string{adminKey}, Logger: quiet}
	deps := httpapi.Deps{
		Orders:    e.orders,
		Ingest:    ingest.NewService(e.orders, nopQueue{}, e.orders, ingest.Config{Logger: quiet}),
		Inventory: e.inventory,
		Chatbot:   e.chatbot,
		Observer:  e.observer,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = io.WriteString(w, "# HELP up up\nup 1\n")
		}),
	}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	if viaAPIGateway {
		e.srv = httptest.NewServer(behindAPIGateway(cfg, deps))
		t.Cleanup(e.srv.Close)
		return e
	}
	e.srv = httptest.NewServer(httpapi.New(cfg, deps))
	t.Cleanup(e.srv.Close)
	return e
}

// request is one call to the API.
type request struct {
	method, path, key, body string
	// contentType defaults to application/json when there is a body.
	contentType string
	header      map[string]string
}

// response is what came back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(t *testing.T, r request) response {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = bytes.NewBufferString(r.body)
	}
	req, err := http.NewRequest(r.method, e.srv.URL+r.path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if r.key != "" {
		req.Header.Set("X-API-Key", r.key)
	}
	switch {
	case r.contentType == "-":
	case r.contentType != "":
		req.Header.Set("Content-Type", r.contentType)
	case r.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// errorBody decodes an error response, failing the test if it is not one.
func (r response) errorBody(t *testing.T) contracts.ErrorBody {
	t.Helper()
	var b contracts.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("status %d: body %s is not an error body (%v)", r.status, r.body, err)
	}
	return b
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// orderBody is a valid POST /orders body: 2 × 10.25 + 1 × 5.50 = 26.00.
const orderBody = `{
	"customerId": "cust-1",
	"items": [
		{"productId": "BOOK001", "name": "Go book", "quantity": 2, "price": 10.25},
		{"productId": "PEN001", "name": "Pen", "quantity": 1, "price": 5.50}
	],
	"totalAmount": 26.00,
	"customerEmail": "ada@example.com",
	"customerPhone": "+4915112345678",
	"shippingAddress": {"street": "1 Main St", "city": "Berlin", "state": "BE", "zipCode": "10115", "country": "DE"}
}`

// orderFor is a valid body for another customer or total.
func orderFor(customer string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(orderBody), &m)
	m["customerId"] = customer
	b, _ := json.Marshal(m)
	return string(b)
}

// createOrder posts a valid order and returns it.
func (e *env) createOrder(t *testing.T, customer string) contracts.Order {
	t.Helper()
	res := e.do(t, request{method: "POST", path: "/orders", key: clientKey, body: orderFor(customer)})
	if res.status != http.StatusCreated {
		t.Fatalf("create order: status %d: %s", res.status, res.body)
	}
	var o contracts.Order
	res.decode(t, &o)
	return o
}
