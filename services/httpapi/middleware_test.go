package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/httpapi"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	orderPath := "/orders/" + e.createOrder(t, "c").OrderID
	tests := []struct {
		name       string
		method     string
		path       string
		key        string
		body       string
		wantStatus int
	}{
		{name: "health needs no key", method: "GET", path: "/healthz", wantStatus: 200},
		{name: "health ignores a bad key", method: "GET", path: "/healthz", key: "wrong", wantStatus: 200},
		{name: "health answers HEAD without a key", method: "HEAD", path: "/healthz", wantStatus: 200},
		{name: "health's wrong method is 405, not a key error", method: "POST", path: "/healthz", wantStatus: 405},
		{name: "order without key", method: "GET", path: orderPath, wantStatus: 403},
		{name: "order with unknown key", method: "GET", path: orderPath, key: "wrong", wantStatus: 403},
		{name: "order with a prefix of a key", method: "GET", path: orderPath, key: clientKey[:5], wantStatus: 403},
		{name: "order with client key", method: "GET", path: orderPath, key: clientKey, wantStatus: 200},
		{name: "order with admin key", method: "GET", path: orderPath, key: adminKey, wantStatus: 200},
		{name: "create without key", method: "POST", path: "/orders", body: orderBody, wantStatus: 403},
		{name: "create with admin key", method: "POST", path: "/orders", key: adminKey, body: orderBody, wantStatus: 201},
		{name: "metrics without key", method: "GET", path: "/metrics", wantStatus: 403},
		{name: "metrics with client key", method: "GET", path: "/metrics", key: clientKey, wantStatus: 200},
		{name: "unknown path without key", method: "GET", path: "/nope", wantStatus: 403},
		{name: "inventory list with client key", method: "GET", path: "/inventory", key: clientKey, wantStatus: 403},
		{name: "inventory item with client key", method: "GET", path: "/inventory/BOOK001", key: clientKey, wantStatus: 403},
		{name: "inventory put with client key", method: "PUT", path: "/inventory/BOOK001", key: clientKey, body: `{"name":"x","price":1,"available":1}`, wantStatus: 403},
		{name: "inventory list without key", method: "GET", path: "/inventory", wantStatus: 403},
		{name: "inventory list with admin key", method: "GET", path: "/inventory", key: adminKey, wantStatus: 200},
		{name: "inventory item with admin key", method: "GET", path: "/inventory/BOOK001", key: adminKey, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := e.do(t, request{method: tt.method, path: tt.path, key: tt.key, body: tt.body})
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantStatus == 403 {
				if code := res.errorBody(t).Error.Code; code != contracts.CodeForbidden {
					t.Errorf("code %s, want FORBIDDEN", code)
				}
			}
		})
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.do(t, request{method: "GET", path: "/healthz"})
	if res.status != 200 || strings.TrimSpace(string(res.body)) != `{"status":"ok"}` || res.header.Get("Content-Type") != "application/json" {
		t.Errorf("healthz: %d %s %s", res.status, res.header.Get("Content-Type"), res.body)
	}
	res = e.do(t, request{method: "GET", path: "/metrics", key: clientKey})
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") || !strings.Contains(string(res.body), "up 1") {
		t.Errorf("metrics: %d %s %s", res.status, res.header.Get("Content-Type"), res.body)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	// Half a request per second, two at once: the third request must wait 2 seconds.
	e := newEnv(t, func(c *httpapi.Config, _ *httpapi.Deps) { c.Rate, c.Burst = 0.5, 2 })
	get := func(key string) response {
		return e.do(t, request{method: "GET", path: "/orders?customerId=c", key: key})
	}
	if viaAPIGateway {
		// On AWS, API Gateway throttles per usage plan before the function runs (the CDK app's usage
		// plans, checked by its tests); the function's own limiter is off, so it never refuses.
		for i := range 5 {
			if res := get(clientKey); res.status != 200 {
				t.Fatalf("request %d: status %d, want 200 (no in-process limit behind API Gateway): %s", i, res.status, res.body)
			}
		}
		return
	}
	for i := range 2 {
		if res := get(clientKey); res.status != 200 {
			t.Fatalf("request %d within the burst: status %d: %s", i, res.status, res.body)
		}
	}
	res := get(clientKey)
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("request past the burst: status %d, want 429: %s", res.status, res.body)
	}
	if code := res.errorBody(t).Error.Code; code != contracts.CodeRateLimited {
		t.Errorf("code %s, want RATE_LIMITED", code)
	}
	// The next token comes 2s after the burst was spent; a slow machine may have used up to a second.
	retryAfter := func(res response) string { return res.header.Get("Retry-After") }
	if ra := retryAfter(res); ra != "2" && ra != "1" {
		t.Errorf("Retry-After = %q, want 2 (whole seconds, rounded up)", ra)
	}
	// A refused request costs nothing, and other keys and the health check have their own budget.
	if res := get(clientKey); res.status != 429 || retryAfter(res) != "2" && retryAfter(res) != "1" {
		t.Errorf("second refused request: status %d Retry-After %q, want 429 and 2", res.status, retryAfter(res))
	}
	if res := get(otherKey); res.status != 200 {
		t.Errorf("another key: status %d, want 200", res.status)
	}
	for range 3 {
		if res := e.do(t, request{method: "GET", path: "/healthz"}); res.status != 200 {
			t.Errorf("healthz: status %d, want 200", res.status)
		}
	}
}

func TestCorrelationID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name   string
		sent   string
		want   string
		wantOK func(string) bool
	}{
		{name: "echoed", sent: "req-123:abc.DEF_9", want: "req-123:abc.DEF_9"},
		{name: "generated when absent", sent: "", wantOK: func(s string) bool { return len(s) == 36 }},
		{name: "replaced when unsafe to log", sent: "a b\tc", wantOK: func(s string) bool { return len(s) == 36 }},
		{name: "replaced when too long", sent: strings.Repeat("a", 129), wantOK: func(s string) bool { return len(s) == 36 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Also on error responses (a key is sent: behind API Gateway a keyless request never reaches us).
			res := e.do(t, request{method: "GET", path: "/orders/x", key: clientKey, header: map[string]string{"X-Correlation-Id": tt.sent}})
			got := res.header.Get("X-Correlation-Id")
			if tt.want != "" && got != tt.want || tt.wantOK != nil && !tt.wantOK(got) {
				t.Errorf("X-Correlation-Id = %q", got)
			}
		})
	}
}

func TestObserverSeesRoutePatterns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createOrder(t, "c").OrderID
	e.do(t, request{method: "GET", path: "/orders/" + id, key: clientKey})
	e.do(t, request{method: "GET", path: "/orders/unknown", key: clientKey})
	e.do(t, request{method: "POST", path: "/orders/" + id + "/cancel", key: clientKey})
	e.do(t, request{method: "GET", path: "/inventory/BOOK001", key: clientKey}) // refused: admins only
	e.do(t, request{method: "GET", path: "/no/such/thing", key: clientKey})
	e.do(t, request{method: "GET", path: "/healthz"})
	want := []observation{
		{"POST /orders", 201},
		{"GET /orders/{orderId}", 200},
		{"GET /orders/{orderId}", 404},
		{"POST /orders/{orderId}/cancel", 200},
		{"GET /inventory/{productId}", 403},
		{"unmatched", 404},
		{"GET /healthz", 200},
	}
	if diff := cmp.Diff(want, e.observer.observations()); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
}

func TestMountsAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	schemas := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/schema+json")
		if name := r.PathValue("name"); name != "" {
			_, _ = w.Write([]byte(`{"title":"` + name + `"}`))
			return
		}
		_, _ = w.Write([]byte(`["OrderCreated"]`))
	})
	e := newEnv(t, func(_ *httpapi.Config, d *httpapi.Deps) {
		d.ReadOnly = []httpapi.Mount{{Path: "/schemas", Handler: schemas}, {Path: "/schemas/{name}", Handler: schemas}}
	})
	tests := []struct {
		name       string
		method     string
		path       string
		key        string
		wantStatus int
		wantBody   string
		wantCode   string
		wantAllow  string
	}{
		{name: "mounted list", method: "GET", path: "/schemas", key: clientKey, wantStatus: 200, wantBody: `["OrderCreated"]`},
		{name: "mounted item with a path value", method: "GET", path: "/schemas/OrderCreated", key: clientKey, wantStatus: 200, wantBody: `{"title":"OrderCreated"}`},
		{name: "mounted route needs a key", method: "GET", path: "/schemas", wantStatus: 403, wantCode: contracts.CodeForbidden},
		{name: "mounted route is read-only", method: "POST", path: "/schemas", key: clientKey, wantStatus: 405, wantCode: contracts.CodeMethodNotAllowed, wantAllow: "GET, HEAD"},
		{name: "wrong method on an API route", method: "DELETE", path: "/orders/x", key: clientKey, wantStatus: 405, wantCode: contracts.CodeMethodNotAllowed, wantAllow: "GET, HEAD"},
		{name: "unknown path", method: "GET", path: "/nope", key: clientKey, wantStatus: 404, wantCode: contracts.CodeNotFound},
		{name: "chatbot unmounted is not found", method: "GET", path: "/chatbot/x", key: clientKey, wantStatus: 404, wantCode: contracts.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := e.do(t, request{method: tt.method, path: tt.path, key: tt.key})
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantBody != "" && string(res.body) != tt.wantBody {
				t.Errorf("body %s, want %s", res.body, tt.wantBody)
			}
			if tt.wantCode != "" {
				if code := res.errorBody(t).Error.Code; code != tt.wantCode {
					t.Errorf("code %s, want %s", code, tt.wantCode)
				}
			}
			if got := res.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
		})
	}
}

func TestPanicsBecomeInternalErrors(t *testing.T) {
	t.Parallel()
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret: db password is hunter2") })
	e := newEnv(t, func(_ *httpapi.Config, d *httpapi.Deps) {
		d.ReadOnly = []httpapi.Mount{{Path: "/boom", Handler: boom}}
	})
	res := e.do(t, request{method: "GET", path: "/boom", key: clientKey})
	if res.status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %s", res.status, res.body)
	}
	b := res.errorBody(t)
	if b.Error.Code != contracts.CodeInternal || strings.Contains(string(res.body), "hunter2") {
		t.Errorf("body %s: want INTERNAL without internals", res.body)
	}
	// The server survived.
	if res := e.do(t, request{method: "GET", path: "/healthz"}); res.status != 200 {
		t.Errorf("healthz after a panic: %d", res.status)
	}
	if obs := e.observer.observations(); len(obs) == 0 || obs[0] != (observation{"GET /boom", 500}) {
		t.Errorf("observations %v, want the panic observed as GET /boom 500", obs)
	}
}
