package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/input"
)

// maxPooledBody is the largest body buffer kept for reuse.
const maxPooledBody = 64 << 10

// bodyBuffers are the buffers readJSON reads bodies into.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readJSON reads a JSON request body: 415 unless the Content-Type is application/json, 413 past the
// size limit, 400 INVALID_JSON unless the body is exactly one strict JSON value (input.Decode: no
// duplicate keys, valid UTF-8, bounded nesting), with a detail naming the problem and where it is. The
// value is decoded into plain maps, slices and json.Number, so that the handler can check its shape field
// by field and report every problem at once.
func (s *server) readJSON(w http.ResponseWriter, r *http.Request) (any, error) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		// Parameters, spaces and other cases go through the parser; the plain type is most requests.
		// (Not strings.EqualFold: its Unicode folding takes "application/jſon" for the type.)
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, errMediaType
		}
	}
	if r.ContentLength > s.maxBody {
		return nil, errTooLarge
	}
	// The body is read into a reused buffer: Decode copies what it keeps out of it.
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBody {
			bodyBuffers.Put(buf)
		}
	}()
	if r.ContentLength > 0 && r.ContentLength <= maxPooledBody {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // room for the body and ReadFrom's check for more
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errTooLarge
		}
		return nil, fault.Wrap(fault.Invalid, err, "could not read the request body")
	}
	b := buf.Bytes()
	v, err := input.Decode(b)
	if err != nil {
		return nil, invalidJSON(err)
	}
	return v, nil
}

// invalidJSON is the INVALID_JSON error of a body input.Decode refused, naming the problem and where it
// is in details.
func invalidJSON(err error) error {
	fe := &fault.Error{Kind: fault.Invalid, Code: contracts.CodeInvalidJSON, Message: "request body is not valid JSON"}
	var syn *input.SyntaxError
	if errors.As(err, &syn) {
		fe.Message = "request body is not strict JSON: " + syn.Error()
		fe.Fields = []fault.FieldIssue{{Field: syn.Path, Issue: fmt.Sprintf("%s (at byte %d)", syn.Problem, syn.Offset)}}
	}
	return fe
}

// shape checks a decoded JSON value against the fields a request may have, collecting one issue per
// unknown field or wrongly typed value. A null counts as absent.
type shape struct {
	issues []fault.FieldIssue
}

func (s *shape) bad(field, issue string) {
	s.issues = append(s.issues, fault.FieldIssue{Field: field, Issue: issue})
}

// object returns v as an object, reporting a wrong type at path. known lists the allowed keys; every
// other key is reported as unknown, in sorted order.
func (s *shape) object(v any, path string, known ...string) map[string]any {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		s.bad(path, "must be an object")
		return nil
	}
	var unknown []string
	for k := range m {
		if !contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		s.bad(join(path, k), "is not a known field")
	}
	return m
}

func (s *shape) str(m map[string]any, path, key string) string {
	switch v := m[key].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		s.bad(join(path, key), "must be a string")
		return ""
	}
}

func (s *shape) number(m map[string]any, path, key string) json.Number {
	switch v := m[key].(type) {
	case nil:
		return ""
	case json.Number:
		return v
	default:
		s.bad(join(path, key), "must be a number")
		return ""
	}
}

func (s *shape) array(m map[string]any, path, key string) []any {
	switch v := m[key].(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		s.bad(join(path, key), "must be an array")
		return nil
	}
}

// check records issue about field unless it is "" (the answer of the input package's checks).
func (s *shape) check(field, issue string) {
	if issue != "" {
		s.bad(field, issue)
	}
}

// err returns the collected issues as a VALIDATION_FAILED error, or nil.
func (s *shape) err() error {
	if len(s.issues) == 0 {
		return nil
	}
	return &fault.Error{Kind: fault.Invalid, Code: contracts.CodeValidationFailed, Message: "the request is invalid", Fields: s.issues}
}

// merge adds the issues of a later validation, leaving out fields the shape check already reported (a
// wrongly typed field would otherwise also be reported as missing).
func (s *shape) merge(err error) {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return
	}
	reported := s.issues
	for _, i := range fe.Fields {
		if !covered(reported, i.Field) {
			s.issues = append(s.issues, i)
		}
	}
}

// covered reports whether an issue about field, or about a value that contains it, is among issues.
func covered(issues []fault.FieldIssue, field string) bool {
	for _, i := range issues {
		if field == i.Field || strings.HasPrefix(field, i.Field+".") || strings.HasPrefix(field, i.Field+"[") {
			return true
		}
	}
	return false
}

// topLevel is the body's own path in issues about the body as a whole.
const topLevel = "body"

func join(path, key string) string {
	if path == "" || path == topLevel {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// root returns the body as an object with the known keys, reporting a body that is not an object.
func (s *shape) root(v any, known ...string) (map[string]any, bool) {
	if _, ok := v.(map[string]any); !ok {
		s.bad(topLevel, "must be a JSON object")
		return nil, false
	}
	return s.object(v, topLevel, known...), true
}

// decodeCreateOrder turns a decoded body into a create request, reporting every unknown field and
// wrongly typed value. ok is false when the body is not even an object.
func decodeCreateOrder(v any) (req contracts.CreateOrderRequest, s *shape, ok bool) {
	s = &shape{}
	m, ok := s.root(v, "customerId", "items", "totalAmount", "currency", "customerEmail", "customerPhone", "paymentToken", "shippingAddress")
	if !ok {
		return req, s, false
	}
	req.CustomerID = s.str(m, "", "customerId")
	req.TotalAmount = s.number(m, "", "totalAmount")
	req.Currency = s.str(m, "", "currency")
	req.CustomerEmail = s.str(m, "", "customerEmail")
	req.CustomerPhone = s.str(m, "", "customerPhone")
	req.PaymentToken = s.str(m, "", "paymentToken")
	for i, it := range s.array(m, "", "items") {
		path := fmt.Sprintf("items[%d]", i)
		var in contracts.OrderItemInput
		if im := s.object(it, path, "productId", "name", "quantity", "price"); im != nil {
			in.ProductID = s.str(im, path, "productId")
			in.Name = s.str(im, path, "name")
			in.Quantity = s.number(im, path, "quantity")
			in.Price = s.number(im, path, "price")
		}
		req.Items = append(req.Items, in)
	}
	if _, isArray := m["items"].([]any); isArray && req.Items == nil {
		req.Items = []contracts.OrderItemInput{} // present but empty, as opposed to absent
	}
	if am := s.object(m["shippingAddress"], "shippingAddress", "street", "city", "state", "zipCode", "country"); am != nil {
		const p = "shippingAddress"
		req.ShippingAddress = contracts.Address{
			Street: s.str(am, p, "street"), City: s.str(am, p, "city"), State: s.str(am, p, "state"),
			ZipCode: s.str(am, p, "zipCode"), Country: s.str(am, p, "country"),
		}
	}
	return req, s, true
}

// blank reports whether s has no content.
func blank(s string) bool { return strings.TrimSpace(s) == "" }
