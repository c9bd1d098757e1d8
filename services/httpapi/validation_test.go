package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
)

// withField returns orderBody with one top-level field set to the raw JSON value (or removed if "").
func withField(field, raw string) string { return set(orderBody, field, raw) }

// set returns body with one top-level field set to the raw JSON value (or removed if "").
func set(body, field, raw string) string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal([]byte(body), &m)
	if raw == "" {
		delete(m, field)
	} else {
		m[field] = json.RawMessage(raw)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// TestCreateOrderRejectsBadInput covers what the HTTP layer adds: media type, size, JSON syntax and the
// shape of the body. The business rules themselves are ingest.Validate's, tested in full there; the
// rule cases here are samples proving that rule problems come back as 400 with their details, in order
// after the shape problems, and that JSON numbers reach the rules as written (1.5, 1.001, 1e2).
func TestCreateOrderRejectsBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	item := `{"productId":"BOOK001","name":"Go book","quantity":2,"price":10.25}`
	type issue = contracts.FieldIssue
	tests := []struct {
		name        string
		body        string
		contentType string
		wantStatus  int
		wantCode    string
		wantDetails []issue
	}{
		{name: "no content type", body: orderBody, contentType: "-", wantStatus: 415, wantCode: contracts.CodeUnsupportedMediaType},
		{name: "text content type", body: orderBody, contentType: "text/plain", wantStatus: 415, wantCode: contracts.CodeUnsupportedMediaType},
		{name: "form content type", body: "a=b", contentType: "application/x-www-form-urlencoded", wantStatus: 415, wantCode: contracts.CodeUnsupportedMediaType},
		{name: "malformed content type", body: orderBody, contentType: "application/json; =", wantStatus: 415, wantCode: contracts.CodeUnsupportedMediaType},
		// Unicode case folding takes ſ (U+017F) for s; a media type is ASCII.
		{name: "a content type JSON only by Unicode folding", body: orderBody, contentType: "application/j\u017fon", wantStatus: 415, wantCode: contracts.CodeUnsupportedMediaType},
		{name: "body over 64 KiB", body: `{"customerId":"` + strings.Repeat("x", 64<<10) + `"}`, wantStatus: 413, wantCode: contracts.CodePayloadTooLarge},
		{name: "empty body", body: "", contentType: "application/json", wantStatus: 400, wantCode: contracts.CodeInvalidJSON, wantDetails: []issue{{Field: "body", Issue: "is empty (at byte 0)"}}},
		{
			name: "syntax error", body: `{"customerId": "c",}`, wantStatus: 400, wantCode: contracts.CodeInvalidJSON,
			wantDetails: []issue{{Field: "body", Issue: "is not valid JSON: invalid character '}' looking for beginning of object key string (at byte 19)"}},
		},
		{name: "truncated", body: orderBody[:40], wantStatus: 400, wantCode: contracts.CodeInvalidJSON, wantDetails: []issue{{Field: "items[0]", Issue: "unexpected end of input (at byte 40)"}}},
		{name: "two values", body: orderBody + "{}", wantStatus: 400, wantCode: contracts.CodeInvalidJSON, wantDetails: []issue{{Field: "body", Issue: fmt.Sprintf("must hold a single JSON value, but more follows (at byte %d)", len(orderBody))}}},
		{name: "trailing garbage", body: orderBody + " x", wantStatus: 400, wantCode: contracts.CodeInvalidJSON, wantDetails: []issue{{Field: "body", Issue: fmt.Sprintf("must hold a single JSON value, but more follows (at byte %d)", len(orderBody)+1)}}},
		{
			name: "array instead of object", body: `[1,2]`, wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			wantDetails: []issue{{Field: "body", Issue: "must be a JSON object"}},
		},
		{
			name: "null body", body: `null`, wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			wantDetails: []issue{{Field: "body", Issue: "must be a JSON object"}},
		},
		{
			name: "unknown fields at every level", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body: set(set(set(withField("coupon", `"X"`), "Discount", "1"),
				"items", `[{"productId":"BOOK001","name":"Go book","quantity":2,"price":10.25,"colour":"red"},{"productId":"PEN001","name":"Pen","quantity":1,"price":5.5}]`),
				"shippingAddress", `{"street":"1 Main St","city":"Berlin","state":"BE","zipCode":"10115","country":"DE","floor":3}`),
			wantDetails: []issue{
				{Field: "Discount", Issue: "is not a known field"},
				{Field: "coupon", Issue: "is not a known field"},
				{Field: "items[0].colour", Issue: "is not a known field"},
				{Field: "shippingAddress.floor", Issue: "is not a known field"},
			},
		},
		{
			name: "unknown item fields", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body: withField("items", `[{"productId":"BOOK001","name":"Go book","quantity":2,"price":10.25,"colour":"red"},{"productId":"PEN001","name":"Pen","quantity":1,"price":5.5,"gift":true}]`),
			wantDetails: []issue{
				{Field: "items[0].colour", Issue: "is not a known field"},
				{Field: "items[1].gift", Issue: "is not a known field"},
			},
		},
		{
			name: "wrong types", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body:        withField("customerId", `42`),
			wantDetails: []issue{{Field: "customerId", Issue: "must be a string"}},
		},
		{
			name: "number as string", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body:        withField("totalAmount", `"26.00"`),
			wantDetails: []issue{{Field: "totalAmount", Issue: "must be a number"}},
		},
		{
			name: "items not an array", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body: withField("items", item),
			wantDetails: []issue{
				{Field: "items", Issue: "must be an array"},
			},
		},
		{
			name: "item not an object", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body:        withField("items", `["BOOK001"]`),
			wantDetails: []issue{{Field: "items[0]", Issue: "must be an object"}},
		},
		{
			name: "item field types", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body: withField("items", `[{"productId":1,"name":["x"],"quantity":"2","price":{"amount":1}}]`),
			wantDetails: []issue{
				{Field: "items[0].productId", Issue: "must be a string"},
				{Field: "items[0].name", Issue: "must be a string"},
				{Field: "items[0].quantity", Issue: "must be a number"},
				{Field: "items[0].price", Issue: "must be a number"},
			},
		},
		{
			name: "address not an object", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body:        withField("shippingAddress", `"1 Main St, Berlin"`),
			wantDetails: []issue{{Field: "shippingAddress", Issue: "must be an object"}},
		},
		{
			name: "shape and rule problems together", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body: set(set(withField("customerEmail", `"not-an-email"`), "extra", "1"), "customerPhone", "12345"),
			wantDetails: []issue{
				{Field: "extra", Issue: "is not a known field"},
				{Field: "customerPhone", Issue: "must be a string"},
				{Field: "customerEmail", Issue: "must be a valid email address"},
			},
		},
		{
			name: "nulls count as missing", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body:        withField("customerId", `null`),
			wantDetails: []issue{{Field: "customerId", Issue: "is required"}},
		},
		{
			name: "quantity out of range and fractional", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body: withField("items", `[{"productId":"A","name":"a","quantity":1001,"price":1},{"productId":"B","name":"b","quantity":1.5,"price":1}]`),
			wantDetails: []issue{
				{Field: "items[0].quantity", Issue: "must be an integer from 1 to 1000"},
				{Field: "items[1].quantity", Issue: "must be an integer from 1 to 1000"},
			},
		},
		{
			name: "negative and over-precise prices", wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			body: withField("items", `[{"productId":"A","name":"a","quantity":1,"price":-1},{"productId":"B","name":"b","quantity":1,"price":1.001},{"productId":"C","name":"c","quantity":1,"price":1e2}]`),
			wantDetails: []issue{
				{Field: "items[0].price", Issue: "must not be negative"},
				{Field: "items[1].price", Issue: "must be an amount with at most 2 decimals"},
				{Field: "items[2].price", Issue: "must be a plain decimal number such as 12.50 (no exponent, no sign)"},
			},
		},
		{name: "charset parameter is fine", body: orderBody, contentType: "application/json; charset=utf-8", wantStatus: 201},
		{name: "the type in other cases is fine", body: orderBody, contentType: "Application/JSON", wantStatus: 201},
	}
	t.Cleanup(func() {
		// Nothing was created but by the two valid requests.
		if n := e.orders.Len(); n != 2 {
			t.Errorf("%d orders stored, want 2", n)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := e.do(t, request{method: "POST", path: "/orders", key: clientKey, body: tt.body, contentType: tt.contentType})
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantCode == "" {
				return
			}
			b := res.errorBody(t)
			if b.Error.Code != tt.wantCode {
				t.Errorf("code %s, want %s (%s)", b.Error.Code, tt.wantCode, b.Error.Message)
			}
			if diff := cmp.Diff(tt.wantDetails, b.Error.Details); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
		})
	}
}
