package validate_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/schemas"
	"github.com/orderflow/orderflow/schemas/compat"
	"github.com/orderflow/orderflow/schemas/generator"
	"github.com/orderflow/orderflow/schemas/validate"
)

// example is the example event e, built through pipeline.Envelope.Event from an order made by order.New.
func example(t *testing.T, e generator.Event) map[string]any {
	t.Helper()
	ev, err := generator.Example(e)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEveryPublishedEventMatchesItsSchema(t *testing.T) {
	t.Parallel()
	for _, e := range generator.Events {
		t.Run(e.Name(), func(t *testing.T) {
			t.Parallel()
			if err := validate.Event(mustJSON(t, example(t, e))); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestEveryEventHasASchemaFile(t *testing.T) {
	t.Parallel()
	names, err := validate.EventNames()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range generator.Events {
		want = append(want, e.Name())
	}
	sort.Strings(want)
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("event schemas in FS (-want +got):\n%s", d)
	}
}

func TestValidateEventRejectsWhatTheSchemaDoesNotAllow(t *testing.T) {
	t.Parallel()
	created := generator.Events[0]
	failed := generator.Event{Source: contracts.SourcePayment, DetailType: contracts.DetailOrderFailed, Detail: contracts.OrderFailedDetail{}}
	detail := func(m map[string]any) map[string]any { return m["detail"].(map[string]any) }
	for _, tc := range []struct {
		name    string
		event   generator.Event
		change  func(m map[string]any)
		wantErr string
	}{
		{"a field the schema does not know (added to the Go type, not to the schema)", created,
			func(m map[string]any) { detail(m)["giftWrap"] = true }, "giftWrap"},
		{"a field the schema requires but the event lacks", created,
			func(m map[string]any) { delete(detail(m), "customerEmail") }, "customerEmail"},
		{"an envelope field EventBridge does not have", created,
			func(m map[string]any) { m["traceId"] = "x" }, "traceId"},
		{"a wrong type", created,
			func(m map[string]any) { detail(m)["totalAmount"] = "1350.99" }, "totalAmount"},
		{"an amount with 3 decimals", created,
			func(m map[string]any) { detail(m)["totalAmount"] = json.Number("1350.999") }, "totalAmount"},
		{"a negative amount", created,
			func(m map[string]any) { detail(m)["totalAmount"] = -1 }, "totalAmount"},
		{"a time that is not UTC", created,
			func(m map[string]any) { detail(m)["createdAt"] = "2026-03-14T10:26:53+01:00" }, "createdAt"},
		{"a time that is not a date-time", created,
			func(m map[string]any) { m["time"] = "yesterday" }, "time"},
		{"a schemaVersion of another major version", created,
			func(m map[string]any) { detail(m)["schemaVersion"] = "2.0" }, "schemaVersion"},
		{"an unknown failure code", failed,
			func(m map[string]any) { detail(m)["failure"].(map[string]any)["code"] = "OOPS" }, "code"},
		{"a failure stage the source does not fail orders in", failed,
			func(m map[string]any) { detail(m)["failure"].(map[string]any)["stage"] = "VALIDATING" }, "stage"},
		{"a nested field the schema does not know", created,
			func(m map[string]any) { detail(m)["items"].([]any)[0].(map[string]any)["sku"] = "x" }, "sku"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := example(t, tc.event)
			tc.change(m)
			err := validate.Event(mustJSON(t, m))
			if err == nil {
				t.Fatal("ValidateEvent accepted the event")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error does not mention %q: %v", tc.wantErr, err)
			}
		})
	}
}

func TestValidateEventRefusesUnknownEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, source, detailType string }{
		{"unknown detail type", contracts.SourceOrders, "OrderShipped"},
		{"known detail type from another source", contracts.SourceOrders, contracts.DetailPaymentAuthorized},
		{"no source", "", contracts.DetailOrderCreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := example(t, generator.Events[0])
			m["source"], m["detail-type"] = tc.source, tc.detailType
			if err := validate.Event(mustJSON(t, m)); !errors.Is(err, validate.ErrUnknownEvent) {
				t.Errorf("err = %v, want ErrUnknownEvent", err)
			}
		})
	}
	if err := validate.Event([]byte("not json")); err == nil {
		t.Error("ValidateEvent accepted text that is not JSON")
	}
}

// goFields lists the JSON paths of a Go type the way compat.Fields lists a schema's: names joined by
// dots, [] for slice items, embedded structs inlined.
func goFields(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[contracts.Amount](), reflect.TypeFor[json.RawMessage]():
		return
	}
	switch t.Kind() {
	case reflect.Slice:
		out[prefix+"[]"] = true
		goFields(t.Elem(), prefix+"[]", out)
	case reflect.Struct:
		if t.PkgPath() == "time" {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" {
				goFields(f.Type, prefix, out)
				continue
			}
			if !f.IsExported() || name == "-" {
				continue
			}
			p := name
			if prefix != "" {
				p = prefix + "." + name
			}
			out[p] = true
			goFields(f.Type, p, out)
		}
	}
}

// TestSchemasHaveExactlyTheFieldsOfTheGoTypes fails when a field is added to a detail type but not to
// its schema, or the reverse: the committed schemas and the Go types must agree field by field.
func TestSchemasHaveExactlyTheFieldsOfTheGoTypes(t *testing.T) {
	t.Parallel()
	for _, e := range generator.Events {
		t.Run(e.Name(), func(t *testing.T) {
			t.Parallel()
			b, err := schemas.FS.ReadFile(schemas.EventsDir + "/" + e.Name() + ".json")
			if err != nil {
				t.Fatal(err)
			}
			fields, err := compat.Fields(b)
			if err != nil {
				t.Fatal(err)
			}
			inSchema := map[string]bool{}
			for _, f := range fields {
				inSchema[f.Path] = true
			}
			inGo := map[string]bool{}
			goFields(reflect.TypeFor[contracts.Event](), "", inGo)
			goFields(reflect.TypeOf(e.Detail), "detail", inGo)
			if d := cmp.Diff(inGo, inSchema); d != "" {
				t.Errorf("fields (-Go type +schema); run make schemas:\n%s", d)
			}
		})
	}
}

func TestValidateResponse(t *testing.T) {
	t.Parallel()
	o, err := generator.ExampleOrder()
	if err != nil {
		t.Fatal(err)
	}
	order := mustJSON(t, o.View())
	ev, err := generator.Example(generator.Events[0])
	if err != nil {
		t.Fatal(err)
	}
	withExtra := strings.Replace(string(order), `{"orderId"`, `{"internalNote":"x","orderId"`, 1)
	errorBody := mustJSON(t, contracts.ErrorBody{Error: contracts.ErrorDetail{Code: contracts.CodeNotFound, Message: "no order"}})
	cursor := "abc"
	for _, tc := range []struct {
		name         string
		method, path string
		status       int
		body         string
		wantErr      bool
		wantUndoc    bool
	}{
		{"an order", "GET", "/orders/{orderId}", 200, string(order), false, false},
		{"a created order", "POST", "/orders", 201, string(order), false, false},
		{"an order list with a cursor", "GET", "/orders", 200, string(mustJSON(t, contracts.OrderList{Orders: []contracts.Order{o.View()}, NextCursor: &cursor})), false, false},
		{"the last page: nextCursor null", "GET", "/orders", 200, `{"orders":[],"nextCursor":null}`, false, false},
		{"events", "GET", "/orders/{orderId}/events", 200, string(mustJSON(t, contracts.EventList{Events: []contracts.Event{ev}})), false, false},
		{"an error body", "GET", "/orders/{orderId}", 404, string(errorBody), false, false},
		{"an error body on an undeclared error status", "GET", "/orders/{orderId}", 503, string(errorBody), false, false},
		{"health", "GET", "/healthz", 200, `{"status":"ok"}`, false, false},
		{"metrics text", "GET", "/metrics", 200, "orders_created_total 1\n", false, false},
		{"a field the document does not know", "GET", "/orders/{orderId}", 200, withExtra, true, false},
		{"a missing field", "GET", "/orders/{orderId}", 200, `{"orderId":"x"}`, true, false},
		{"an unknown status value", "GET", "/orders/{orderId}", 200, strings.Replace(string(order), `"PENDING"`, `"SHIPPED"`, 1), true, false},
		{"an error code that does not exist", "GET", "/orders/{orderId}", 404, `{"error":{"code":"GONE","message":"x"}}`, true, false},
		{"an undocumented path", "GET", "/orders/{orderId}/items", 200, `{}`, true, true},
		{"an undocumented method", "DELETE", "/orders/{orderId}", 200, `{}`, true, true},
		{"an undocumented status without default", "GET", "/healthz", 503, `{}`, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := validate.Response(tc.method, tc.path, tc.status, []byte(tc.body))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if errors.Is(err, validate.ErrUndocumented) != tc.wantUndoc {
				t.Errorf("err = %v, want ErrUndocumented: %v", err, tc.wantUndoc)
			}
		})
	}
}
