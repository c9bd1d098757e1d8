package apigateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/apigateway"
	"github.com/orderflow/orderflow/services/httpapi"
)

// echo answers with what the handler saw: the path, the query, a header and the caller.
func echo(identify func(*http.Request) (httpapi.Caller, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := identify(r)
		body, _ := io.ReadAll(r.Body)
		w.Header().Add("X-Seen", "a")
		w.Header().Add("X-Seen", "b")
		w.WriteHeader(http.StatusTeapot)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"path": r.URL.Path, "tags": r.URL.Query()["tag"], "h": r.Header.Values("X-Multi"),
			"caller": c.ID, "admin": c.Admin, "ok": ok, "body": string(body),
		})
	})
}

func proxy(t *testing.T, h apigateway.ProxyHandler, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, map[string]any) {
	t.Helper()
	res, err := h(context.Background(), req)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(res.Body), &got); err != nil {
		t.Fatalf("decode %q: %v", res.Body, err)
	}
	return res, got
}

func TestHandlerRoutesTheSamePathsOnTheExecuteAPIEndpointAndACustomDomain(t *testing.T) {
	t.Parallel()
	identify := apigateway.Identify([]string{"adm-1", " adm-2 "})
	tests := []struct {
		name, basePath, path, keyID string
		wantPath, wantCaller        string
		wantAdmin, wantOK           bool
	}{
		{name: "execute-api endpoint, client key", path: "/orders/42", keyID: "cli-1", wantPath: "/orders/42", wantCaller: "cli-1", wantOK: true},
		{name: "custom domain base path stripped", basePath: "shop", path: "/shop/orders/42", keyID: "adm-2", wantPath: "/orders/42", wantCaller: "adm-2", wantAdmin: true, wantOK: true},
		{name: "no API key id: refused", path: "/orders/42", wantPath: "/orders/42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := apigateway.Handler(echo(identify), tt.basePath)
			res, got := proxy(t, h, events.APIGatewayProxyRequest{
				HTTPMethod: "POST", Path: tt.path, Resource: "/{proxy+}", Body: "eyJhIjoxfQ==", IsBase64Encoded: true,
				MultiValueHeaders:               map[string][]string{"X-Multi": {"1", "2"}},
				MultiValueQueryStringParameters: map[string][]string{"tag": {"x", "y"}},
				RequestContext:                  events.APIGatewayProxyRequestContext{Stage: "v1", Identity: events.APIGatewayRequestIdentity{APIKeyID: tt.keyID}},
			})
			if res.StatusCode != http.StatusTeapot || strings.Join(res.MultiValueHeaders["X-Seen"], ",") != "a,b" {
				t.Errorf("status %d, X-Seen %v: status and multi-value headers must come back as written", res.StatusCode, res.MultiValueHeaders["X-Seen"])
			}
			if got["path"] != tt.wantPath || got["caller"] != tt.wantCaller || got["admin"] != tt.wantAdmin || got["ok"] != tt.wantOK {
				t.Errorf("handler saw path %v caller %v admin %v ok %v; want %s %s %v %v", got["path"], got["caller"], got["admin"], got["ok"], tt.wantPath, tt.wantCaller, tt.wantAdmin, tt.wantOK)
			}
			if got["body"] != `{"a":1}` || len(got["tags"].([]any)) != 2 || len(got["h"].([]any)) != 2 {
				t.Errorf("body %v, tags %v, headers %v: want the decoded body and every value", got["body"], got["tags"], got["h"])
			}
		})
	}
}

// send makes one request to srv with the API key (none if empty) and returns its status and body.
func send(t *testing.T, srv *httptest.Server, method, path, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestLocalChecksKeysAsAPIGatewayDoes(t *testing.T) {
	t.Parallel()
	identify := apigateway.Identify([]string{"adm"})
	api := apigateway.Handler(echo(identify), "")
	chat := apigateway.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"chat":true}`) }), "")
	srv := httptest.NewServer(&apigateway.Local{API: api, Chatbot: chat, Keys: []apigateway.Key{{ID: "adm", Value: "secret-admin"}, {ID: "cli", Value: "secret-client"}}})
	defer srv.Close()
	call := func(method, path, key string) (int, string) { return send(t, srv, method, path, key, `{}`) }
	if code, body := call("GET", "/orders/1", ""); code != 403 || !strings.Contains(body, `"code":"`+contracts.CodeForbidden+`"`) {
		t.Errorf("no key: %d %s, want 403 with orderflow's error body", code, body)
	}
	if code, _ := call("GET", "/orders/1", "secret-adminX"); code != 403 {
		t.Errorf("unknown key: %d, want 403", code)
	}
	if code, body := call("GET", "/orders/1", "secret-client"); code != http.StatusTeapot || !strings.Contains(body, `"caller":"cli"`) || !strings.Contains(body, `"admin":false`) {
		t.Errorf("client key: %d %s", code, body)
	}
	if code, body := call("GET", "/orders/1", "secret-admin"); code != http.StatusTeapot || !strings.Contains(body, `"admin":true`) {
		t.Errorf("admin key: %d %s", code, body)
	}
	if code, body := call("POST", "/chatbot", "secret-client"); code != 200 || body != `{"chat":true}` {
		t.Errorf("chatbot: %d %s, want the chatbot function", code, body)
	}
	if code, body := call("GET", "/healthz", ""); code != http.StatusTeapot || !strings.Contains(body, `"ok":false`) {
		t.Errorf("healthz without key: %d %s, want it to reach the function with no caller", code, body)
	}
	// The stack's /healthz method is ANY without a key: the function, not the gateway, refuses a method.
	if code, body := call("POST", "/healthz", ""); code != http.StatusTeapot || !strings.Contains(body, `"ok":false`) {
		t.Errorf("POST /healthz without key: %d %s, want it to reach the function with no caller", code, body)
	}
}

// TestLocalRefusesWhatLambdaCannotTakeOrReturn: a request API Gateway takes (under 10 MB) whose event is
// over Lambda's 6 MB, and a response over it, are the gateway's 502 in orderflow's error body, as on AWS;
// the handler's answer is never returned. Just below the limit, the function answers.
func TestLocalRefusesWhatLambdaCannotTakeOrReturn(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", apigateway.LambdaPayloadLimit)
	api := apigateway.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, _ = io.WriteString(w, big)
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, strings.Repeat("y", int(n)%7)) // small
	}), "")
	srv := httptest.NewServer(&apigateway.Local{API: api, Keys: []apigateway.Key{{ID: "cli", Value: "k"}}})
	defer srv.Close()
	call := func(method, path, body string) (int, string) { return send(t, srv, method, path, "k", body) }
	// Base64 makes 4.5 MiB of body about 6 MiB of event.
	if code, body := call("POST", "/orders", strings.Repeat("a", 4<<20+600<<10)); code != http.StatusBadGateway || !strings.Contains(body, `"code":"`+contracts.CodeInternal+`"`) {
		t.Errorf("a body of 4.6 MiB: %d %.80s, want the gateway's 502", code, body)
	}
	if code, _ := call("POST", "/orders", strings.Repeat("a", 4<<20)); code != http.StatusOK {
		t.Errorf("a body of 4 MiB: %d, want the function's answer", code)
	}
	if code, body := call("GET", "/big", ""); code != http.StatusBadGateway || len(body) > 1000 {
		t.Errorf("a response of 6 MiB: %d (%d bytes), want the gateway's 502", code, len(body))
	}
}
