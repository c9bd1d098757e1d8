// Package apigateway runs orderflow's net/http REST API behind Amazon API Gateway (REST API, Lambda proxy
// integration) and, for trying the AWS code path on a laptop, in front of it.
//
//   - Handler turns the proxy events API Gateway sends into http.Requests for the one handler the local
//     server also serves (github.com/awslabs/aws-lambda-go-api-proxy), so paths, bodies, headers, errors and
//     status codes are the same on both runtimes.
//   - Identify names the caller by the API key id that API Gateway puts in the request context. API
//     Gateway has already checked the key and throttled the caller per usage plan; AWS calls API keys a
//     metering and throttling device, not authentication, and so do we: put an authorizer in front for
//     real authentication of end users.
//   - Local is an http.Handler that does what API Gateway does for orderflow's stack — checks X-API-Key,
//     answers a refused key in orderflow's error body (as the stack's gateway responses do), builds the
//     proxy event — and invokes the Lambda handlers in-process: `orderflow aws-local`, and the tests that
//     drive the API's test cases through proxy events.
package apigateway

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/httpapi"
)

// ProxyHandler is a Lambda function behind an API Gateway REST proxy integration.
type ProxyHandler func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Handler adapts h to API Gateway proxy events. basePath is the base path mapping of a custom domain
// (e.g. "/shop" when the API is mapped at https://api.example.com/shop), stripped before routing; "" when
// the API is called on its execute-api endpoint, whose stage API Gateway already leaves out of the path.
func Handler(h http.Handler, basePath string) ProxyHandler {
	a := httpadapter.New(h)
	a.StripBasePath(basePath)
	return a.ProxyWithContext
}

// Identify returns a httpapi.Config.Identify that names the caller by the API key id of the request's
// API Gateway context: an admin if the id is one of adminKeyIDs, a client otherwise. A request without
// a key id (a method that requires no key, or an integration without API keys) is refused.
func Identify(adminKeyIDs []string) func(r *http.Request) (httpapi.Caller, bool) {
	admins := map[string]bool{}
	for _, id := range adminKeyIDs {
		if id = strings.TrimSpace(id); id != "" {
			admins[id] = true
		}
	}
	return func(r *http.Request) (httpapi.Caller, bool) {
		gw, ok := core.GetAPIGatewayContextFromContext(r.Context())
		if !ok || gw.Identity.APIKeyID == "" {
			return httpapi.Caller{}, false
		}
		id := gw.Identity.APIKeyID
		return httpapi.Caller{ID: id, Admin: admins[id]}, true
	}
}

// Key is an API key that Local accepts, as one of a usage plan's keys.
type Key struct {
	// ID is the key's id (what API Gateway puts in identity.apiKeyId).
	ID string
	// Value is the secret the client sends in X-API-Key.
	Value string
}

// Local stands in front of the Lambda handlers as API Gateway does for orderflow's stack: /healthz needs
// no key, whatever the method (the function answers 405 to all but GET and HEAD); every other path needs
// one of Keys in X-API-Key, or is answered 403 FORBIDDEN in
// orderflow's error body (the stack configures the same gateway responses); POST /chatbot goes to
// Chatbot when it is set; everything else goes to API, as a proxy event for the stage Stage.
type Local struct {
	API     ProxyHandler
	Chatbot ProxyHandler
	Keys    []Key
	// Stage is the stage name put in the request context (default "v1").
	Stage string
	// MaxBody is the largest body accepted, as API Gateway's 10 MB payload limit (default 10 MiB).
	MaxBody int64

	requests atomic.Int64
}

var _ http.Handler = (*Local)(nil)

// LambdaPayloadLimit is the most a synchronous Lambda invocation takes and returns, in bytes of the
// event and of the response as JSON: 6 MB. API Gateway's own limit is 10 MB, so a request it takes can
// still be too large for the function (its body is base64-encoded in the event, a third larger), and a
// response the handler wrote can be too large to return; either way the client gets a 5xx from the
// gateway, not the handler's answer.
const LambdaPayloadLimit = 6 << 20

const healthPath = "/healthz"

// ServeHTTP implements http.Handler.
func (l *Local) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	open := r.URL.Path == healthPath
	var keyID string
	if !open {
		var ok bool
		if keyID, ok = l.keyID(r.Header.Get("X-API-Key")); !ok {
			writeGatewayError(w, http.StatusForbidden, contracts.CodeForbidden, "a valid X-API-Key header is required")
			return
		}
	}
	limit := l.MaxBody
	if limit <= 0 {
		limit = 10 << 20
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil || int64(len(body)) > limit {
		writeGatewayError(w, http.StatusRequestEntityTooLarge, contracts.CodePayloadTooLarge, "request body too large")
		return
	}
	req := l.ProxyRequest(r, body, keyID)
	if payloadSize(req) > LambdaPayloadLimit {
		writeGatewayError(w, http.StatusBadGateway, contracts.CodeInternal, "internal server error")
		return
	}
	h := l.API
	if l.Chatbot != nil && r.URL.Path == "/chatbot" {
		h = l.Chatbot
	}
	res, err := h(r.Context(), req)
	if err != nil {
		// A function error is a 502 from API Gateway.
		writeGatewayError(w, http.StatusBadGateway, contracts.CodeInternal, "internal server error")
		return
	}
	if payloadSize(res) > LambdaPayloadLimit {
		writeGatewayError(w, http.StatusBadGateway, contracts.CodeInternal, "internal server error")
		return
	}
	if err := WriteResponse(w, res); err != nil {
		writeGatewayError(w, http.StatusBadGateway, contracts.CodeInternal, "malformed Lambda proxy response")
	}
}

// payloadSize is the size of v as Lambda receives or returns it, JSON.
func payloadSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

func (l *Local) keyID(value string) (string, bool) {
	found := ""
	for _, k := range l.Keys {
		if value != "" && subtle.ConstantTimeCompare([]byte(value), []byte(k.Value)) == 1 {
			found = k.ID
		}
	}
	return found, found != ""
}

// ProxyRequest builds the proxy event API Gateway would send for r with the given body, called with the
// key of id keyID ("" for none). The body is base64-encoded, as API Gateway does when binary media
// types include */* (the stack's setting, so that request bytes reach the function exactly as sent).
func (l *Local) ProxyRequest(r *http.Request, body []byte, keyID string) events.APIGatewayProxyRequest {
	stage := l.Stage
	if stage == "" {
		stage = "v1"
	}
	n := l.requests.Add(1)
	headers := map[string]string{}
	multi := map[string][]string{}
	for k, vs := range r.Header {
		headers[k] = vs[len(vs)-1]
		multi[k] = append([]string(nil), vs...)
	}
	if r.Host != "" {
		headers["Host"], multi["Host"] = r.Host, []string{r.Host}
	}
	var query map[string]string
	var multiQuery map[string][]string
	if q := r.URL.Query(); len(q) > 0 {
		query, multiQuery = map[string]string{}, map[string][]string{}
		for k, vs := range q {
			query[k] = vs[len(vs)-1]
			multiQuery[k] = vs
		}
	}
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	path := r.URL.EscapedPath()
	resource, params := "/{proxy+}", map[string]string{"proxy": strings.TrimPrefix(r.URL.Path, "/")}
	if path == "/chatbot" || path == healthPath {
		resource, params = path, nil
	}
	now := time.Now()
	req := events.APIGatewayProxyRequest{
		Resource: resource, Path: path, HTTPMethod: r.Method, Headers: headers, MultiValueHeaders: multi,
		QueryStringParameters: query, MultiValueQueryStringParameters: multiQuery, PathParameters: params,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: "000000000000", ResourceID: "local", Stage: stage, DomainName: r.Host,
			RequestID: fmt.Sprintf("local-%d-%d", now.UnixNano(), n), Protocol: r.Proto,
			Identity: events.APIGatewayRequestIdentity{
				APIKeyID: keyID, SourceIP: sourceIP, UserAgent: r.UserAgent(),
			},
			ResourcePath: resource, Path: "/" + stage + path, HTTPMethod: r.Method,
			RequestTime: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), RequestTimeEpoch: now.UnixMilli(), APIID: "local",
		},
	}
	if len(body) > 0 {
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return req
}

// WriteResponse writes a Lambda proxy response as API Gateway returns it to the client.
func WriteResponse(w http.ResponseWriter, res events.APIGatewayProxyResponse) error {
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(res.Body)
		if err != nil {
			return fmt.Errorf("decode base64 response body: %w", err)
		}
		body = b
	} else if !utf8.Valid(body) {
		return fmt.Errorf("response body is not UTF-8 and not base64-encoded")
	}
	for k, v := range res.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range res.MultiValueHeaders {
		w.Header().Del(k)
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := res.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// GatewayResponseBody is the body the stack's API Gateway gateway responses answer with when the
// gateway itself refuses a request (a missing or unknown API key, throttling, a quota): orderflow's
// error body, so that clients handle one error format. The CDK app uses it as the response template.
func GatewayResponseBody(code, message string) string {
	b, _ := json.Marshal(contracts.ErrorBody{Error: contracts.ErrorDetail{Code: code, Message: message}})
	return string(b)
}

func writeGatewayError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, GatewayResponseBody(code, message)+"\n")
}
