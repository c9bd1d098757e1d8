// Package apitest drives orderflow's REST API over HTTP for end-to-end tests. The local server's tests
// and the AWS runtime's (behind its API Gateway, on the emulators) use the same client, the same order
// bodies and the same checks: every JSON response is validated against the OpenAPI document and every
// event read back against its schema, so both runtimes are held to one contract.
package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/schemas/validate"
	"github.com/orderflow/orderflow/services/app"
)

// Client calls one running orderflow. Copy it to use it from another (sub)test with its own T.
type Client struct {
	// T is the test that failures are reported to.
	T *testing.T
	// URL is the API's base URL; ClientKey and AdminKey are keys it accepts.
	URL, ClientKey, AdminKey string
	// HTTP is the client (default: one with a 10 s timeout).
	HTTP *http.Client
	// Patience is how long Await waits (default 20 s), Poll how often it looks (default 10 ms).
	Patience, Poll time.Duration
	// Explain, when set, says what the runtime did with an order that Await gave up on (the functions
	// it went through, their errors), for the failure message.
	Explain func(orderID string) string
}

// Response is what came back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode decodes the body into v, failing the test if it cannot.
func (r Response) Decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode is the code of an error body.
func (r Response) ErrorCode(t *testing.T) string {
	t.Helper()
	var e contracts.ErrorBody
	r.Decode(t, &e)
	return e.Error.Code
}

// Do sends a request with the key (none when ""), a JSON body (a string, bytes, or a value to encode)
// and header name/value pairs, and checks a JSON response against the OpenAPI document.
func (c *Client) Do(method, path, key string, body any, headers ...string) Response {
	c.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.T.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.URL+path, rd)
	if err != nil {
		c.T.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := hc.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := validate.Response(method, RoutePattern(path), res.StatusCode, b); err != nil {
			c.T.Errorf("%s %s → %d does not match the OpenAPI document: %v\n%s", method, path, res.StatusCode, err, b)
		}
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// RoutePattern turns a request path into the OpenAPI path it is documented under.
func RoutePattern(path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "orders":
		parts[1] = "{orderId}"
	case len(parts) >= 3 && parts[0] == "admin" && parts[1] == "orders":
		parts[2] = "{orderId}"
	case len(parts) == 2 && parts[0] == "inventory":
		parts[1] = "{productId}"
	case len(parts) == 2 && parts[0] == "schemas":
		parts[1] = "{name}"
	}
	return "/" + strings.Join(parts, "/")
}

// OrderBody is the seed system's example order for customer, changed by mods (nil ones are skipped).
func OrderBody(customer string, mods ...func(m map[string]any)) map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(app.ExampleOrder), &m)
	m["customerId"] = customer
	for _, mod := range mods {
		if mod != nil {
			mod(m)
		}
	}
	return m
}

// WithItem makes the order one line of qty × price.
func WithItem(productID, name string, qty int, price float64) func(map[string]any) {
	return func(m map[string]any) {
		m["items"] = []map[string]any{{"productId": productID, "name": name, "quantity": qty, "price": price}}
		m["totalAmount"] = float64(qty) * price
	}
}

// WithToken sets the payment token (tok_decline, tok_flaky, …).
func WithToken(tok string) func(map[string]any) {
	return func(m map[string]any) { m["paymentToken"] = tok }
}

// WithPhone sets the customer's phone.
func WithPhone(phone string) func(map[string]any) {
	return func(m map[string]any) { m["customerPhone"] = phone }
}

// Create places an order with the client key and returns it; anything but 201 with its Location fails.
func (c *Client) Create(body map[string]any, headers ...string) contracts.Order {
	c.T.Helper()
	r := c.Do("POST", "/orders", c.ClientKey, body, headers...)
	if r.Status != http.StatusCreated {
		c.T.Fatalf("POST /orders = %d %s", r.Status, r.Body)
	}
	var o contracts.Order
	r.Decode(c.T, &o)
	if got := r.Header.Get("Location"); got != "/orders/"+o.OrderID {
		c.T.Errorf("Location = %q, want /orders/%s", got, o.OrderID)
	}
	return o
}

// Get reads an order.
func (c *Client) Get(id string) contracts.Order {
	c.T.Helper()
	r := c.Do("GET", "/orders/"+id, c.ClientKey, nil)
	if r.Status != http.StatusOK {
		c.T.Fatalf("GET /orders/%s = %d %s", id, r.Status, r.Body)
	}
	var o contracts.Order
	r.Decode(c.T, &o)
	return o
}

// Await polls until the order is in one of the statuses (default: an end state), then returns it.
func (c *Client) Await(id string, want ...string) contracts.Order {
	c.T.Helper()
	if len(want) == 0 {
		want = []string{"COMPLETED", "FAILED", "CANCELLED"}
	}
	patience, poll := c.Patience, c.Poll
	if patience <= 0 {
		patience = 20 * time.Second
	}
	if poll <= 0 {
		poll = 10 * time.Millisecond
	}
	deadline := time.Now().Add(patience)
	for {
		o := c.Get(id)
		if slices.Contains(want, o.Status) {
			return o
		}
		if time.Now().After(deadline) {
			var why string
			if c.Explain != nil {
				why = "\n" + c.Explain(id)
			}
			c.T.Fatalf("order %s stuck in %s after %s (history %v), want %v%s", id, o.Status, patience, o.History, want, why)
		}
		time.Sleep(poll)
	}
}

// Events reads the events published about an order, each checked against its schema.
func (c *Client) Events(id string) []contracts.Event {
	c.T.Helper()
	r := c.Do("GET", "/orders/"+id+"/events", c.ClientKey, nil)
	if r.Status != http.StatusOK {
		c.T.Fatalf("events = %d %s", r.Status, r.Body)
	}
	var raw struct{ Events []json.RawMessage }
	r.Decode(c.T, &raw)
	var l contracts.EventList
	r.Decode(c.T, &l)
	for i, e := range raw.Events {
		if err := validate.Event(e); err != nil {
			c.T.Errorf("event %s does not match its schema: %v\n%s", l.Events[i].DetailType, err, e)
		}
	}
	return l.Events
}

// DetailTypes lists the events' detail types, in order.
func DetailTypes(evs []contracts.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.DetailType
	}
	return out
}

// Stock is a product's available stock, read with the admin key.
func (c *Client) Stock(productID string) int {
	c.T.Helper()
	r := c.Do("GET", "/inventory/"+productID, c.AdminKey, nil)
	if r.Status != http.StatusOK {
		c.T.Fatalf("GET /inventory/%s = %d %s", productID, r.Status, r.Body)
	}
	var it contracts.InventoryItem
	r.Decode(c.T, &it)
	return it.Available
}

// PutStock creates or replaces a product with the admin key.
func (c *Client) PutStock(productID, name string, price float64, available int) {
	c.T.Helper()
	r := c.Do("PUT", "/inventory/"+productID, c.AdminKey, map[string]any{"name": name, "price": price, "available": available})
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		c.T.Fatalf("PUT /inventory/%s = %d %s", productID, r.Status, r.Body)
	}
}

// WaitFor polls cond until it holds, failing the test after 30 s.
func WaitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ScarceStockIsNeverOversold places orders one unit each of a product with units in stock, all at once
// from as many customers, and checks that exactly units of them complete, the others fail OUT_OF_STOCK,
// and the stock ends at 0 (correctness rule 5, whatever the concurrency).
func ScarceStockIsNeverOversold(c *Client, productID string, orders, units int) {
	t := c.T
	t.Helper()
	c.PutStock(productID, "Scarce", 25, units)
	ids := make(chan string, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Do("POST", "/orders", c.ClientKey, OrderBody(fmt.Sprintf("c-scarce-%s-%d", productID, i), WithItem(productID, "Scarce", 1, 25)))
			if r.Status != http.StatusCreated {
				t.Errorf("create = %d %s", r.Status, r.Body)
				return
			}
			var o contracts.Order
			r.Decode(t, &o)
			ids <- o.OrderID
		}()
	}
	wg.Wait()
	close(ids)
	counts := map[string]int{}
	for id := range ids {
		o := c.Await(id)
		key := o.Status
		if o.Failure != nil {
			key += "/" + o.Failure.Code
		}
		counts[key]++
	}
	if d := cmp.Diff(map[string]int{"COMPLETED": units, "FAILED/OUT_OF_STOCK": orders - units}, counts); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	if got := c.Stock(productID); got != 0 {
		t.Errorf("stock = %d, want 0", got)
	}
}
