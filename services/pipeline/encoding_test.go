package pipeline_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// The stored orders and events, the event details and the API's responses are encoded with goccy/go-json
// for speed, and decoded with go-json-experiment/json/v1 (decoding_test.go), by the API's clients and on
// AWS by other teams' code. These tests hold the encoder to encoding/json's bytes for every type we
// encode, with the values that tell encoders apart:
// HTML characters, U+2028/U+2029, invalid UTF-8, control characters, zones and monotonic readings,
// omitempty, nil and empty slices, json.RawMessage as it comes (spaces, escapes, invalid UTF-8), map key
// order. If they fail after an upgrade of goccy/go-json, do not upgrade.

// awkward are the strings every encoded string field is tried with.
var awkward = []string{
	"plain", "", "<script>&amp;</script>", "a\u2028b\u2029c", "bad\xffutf8", "\xc3\x28", "\xed\xa0\x80", "tab\tnl\nquote\"bs\\",
	"\x00\x01\x1f\x7f", "emoji 😀 ü", "\ufeffbom", "\ufffd", "trunc\xe2\x82",
}

func encodingZones() []time.Time {
	ny, kol := time.FixedZone("EST", -5*3600), time.FixedZone("IST", 5*3600+1800)
	return []time.Time{
		time.Now(), time.Now().UTC(), time.Now().In(ny), time.Now().In(kol),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 5*3600+1800)),
		time.Date(2026, 1, 2, 3, 4, 5, 100000000, time.FixedZone("", -7*3600)), {},
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func sameEncoding(t *testing.T, name string, v any) {
	t.Helper()
	a, ea := json.Marshal(v)
	b, eb := gojson.Marshal(v)
	if (ea == nil) != (eb == nil) {
		t.Errorf("%s: error differs: std=%v goccy=%v\n std=%s\n gcy=%s", name, ea, eb, a, b)
		return
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s: bytes differ\n std=%q\n gcy=%q", name, a, b)
	}
}

func encodingItems() []order.Item {
	return []order.Item{{ProductID: "p<1>", Name: "Widget & Co", Quantity: 2, Price: 1299}, {ProductID: "p2", Name: "x\u2028y", Quantity: 1, Price: 0}}
}

func encodingSnapshots() []order.Snapshot {
	var out []order.Snapshot
	for i, tm := range encodingZones() {
		for j, s := range awkward {
			sn := order.Snapshot{
				ID: "ord-" + s, Reference: s, CustomerID: s, CustomerEmail: s + "@x.com", CustomerPhone: s,
				Items: encodingItems(), Total: contracts.Amount(i*1000 + j), Currency: "EUR", PaymentToken: s,
				ShippingAddress: contracts.Address{Street: s, City: "<c>", State: "&", ZipCode: "0", Country: "DE"},
				CorrelationID:   s, Status: order.Status(s),
				History:   []order.Change{{Status: order.Pending, At: tm}, {Status: "X", At: tm.Add(time.Second)}},
				CreatedAt: tm, UpdatedAt: tm, Version: int64(i),
			}
			if j%2 == 0 {
				sn.Shipment = &contracts.Shipment{Carrier: s, TrackingNumber: s, EstimatedDelivery: s}
				sn.Failure = &contracts.Failure{Stage: s, Code: s, Reason: s}
				sn.AuthorizationID = s
			}
			out = append(out, sn)
		}
	}
	out = append(out, order.Snapshot{}, order.Snapshot{Items: []order.Item{}, History: []order.Change{}}, order.Snapshot{Total: -5, Items: nil})
	return out
}

func TestEncodingOfSnapshotsIsEncodingJSONs(t *testing.T) {
	for i, s := range encodingSnapshots() {
		sameEncoding(t, fmt.Sprint("snap", i), s)
		sameEncoding(t, fmt.Sprint("snapptr", i), &s)
	}
}

func encodingDetails(tm time.Time, s string) []any {
	meta := contracts.DetailMeta{EventID: s, OrderID: "o" + s, Reference: s, CorrelationID: s, SchemaVersion: contracts.SchemaVersion}
	li := []contracts.LineItem{{ProductID: s, Name: s, Quantity: 3, Price: 150}}
	ri := []contracts.ReservedItem{{ProductID: s, Quantity: 1}}
	addr := contracts.Address{Street: s, City: s}
	return []any{
		meta, contracts.DetailMeta{},
		contracts.OrderCreatedDetail{DetailMeta: meta, CustomerID: s, CustomerEmail: s, CustomerPhone: s, Items: li, TotalAmount: 450, Currency: "EUR", ShippingAddress: addr, CreatedAt: tm},
		contracts.OrderCreatedDetail{},
		contracts.OrderValidatedDetail{DetailMeta: meta, CustomerID: s, Items: li, TotalAmount: 1, Currency: s, ValidatedAt: tm},
		contracts.OrderValidatedDetail{Items: []contracts.LineItem{}},
		contracts.InventoryReservedDetail{DetailMeta: meta, CustomerID: s, Items: ri, TotalAmount: 99999, Currency: s, ReservedAt: tm},
		contracts.PaymentAuthorizedDetail{DetailMeta: meta, CustomerID: s, AuthorizationID: s, Amount: contracts.MaxAmount, Currency: s, AuthorizedAt: tm},
		contracts.OrderCompletedDetail{DetailMeta: meta, CustomerID: s, CustomerPhone: s, ItemCount: 4, TotalAmount: 7, Currency: s, Shipment: contracts.Shipment{Carrier: s}, CompletedAt: tm},
		contracts.OrderFailedDetail{DetailMeta: meta, CustomerID: s, TotalAmount: 7, Currency: s, Failure: contracts.Failure{Stage: s, Code: s, Reason: s}, FailedAt: tm},
		contracts.OrderCancelledDetail{DetailMeta: meta, CustomerID: s, PreviousStatus: s, CancelledAt: tm},
		contracts.InventoryReleasedDetail{DetailMeta: meta, Items: ri, Reason: s, ReleasedAt: tm},
		contracts.InventoryReleasedDetail{},
		contracts.PaymentVoidedDetail{DetailMeta: meta, AuthorizationID: s, Amount: 1, Currency: s, Reason: s, VoidedAt: tm},
		contracts.OrderMessage{OrderID: s, CorrelationID: s, FollowUp: s}, contracts.OrderMessage{},
	}
}

func TestEncodingOfEventDetailsIsEncodingJSONs(t *testing.T) {
	for _, tm := range encodingZones() {
		for _, s := range awkward {
			for i, d := range encodingDetails(tm, s) {
				sameEncoding(t, fmt.Sprintf("detail %T %d %q", d, i, s), d)
			}
		}
	}
}

// Envelope.Event encodes details into pooled buffers: each event's detail must be encoding/json's bytes
// with the event id spliced in, and its own, whatever is encoded after it.
func TestEnvelopeDetailsAreEncodingJSONsWithTheirEventID(t *testing.T) {
	o := order.FromSnapshot(order.Snapshot{ID: "o1"})
	env := pipeline.Envelope{Account: "000000000000", Region: "local"}
	var events []contracts.Event
	var wants [][]byte
	for _, tm := range encodingZones() {
		for _, s := range awkward {
			for _, d := range encodingDetails(tm, s) {
				want, err := json.Marshal(d)
				if err != nil {
					t.Fatalf("encoding/json refuses %#v: %v", d, err)
				}
				ev, err := env.Event(o, contracts.SourceOrders, "Test", d, tm)
				if err != nil {
					t.Fatalf("Event(%#v): %v", d, err)
				}
				if !bytes.Contains(want, []byte(`"eventId":`)) {
					sep := ","
					if string(want) == "{}" {
						sep = ""
					}
					want = append([]byte(`{"eventId":"`+ev.ID+`"`+sep), want[1:]...)
				}
				events, wants = append(events, ev), append(wants, want)
			}
		}
	}
	for i, ev := range events { // compared once all are built: a shared buffer shows the last one's bytes
		if !bytes.Equal(ev.Detail, wants[i]) {
			t.Errorf("event %d's detail\n got %q\nwant %q", i, ev.Detail, wants[i])
		}
	}
}

func encodingEvents() []contracts.Event {
	raws := []json.RawMessage{
		nil, {}, json.RawMessage(`{}`), json.RawMessage(`{"a":1}`), json.RawMessage(" { \"a\" : [ 1 , 2 ] ,\n\t\"b\": \"<&>\" } "),
		json.RawMessage(`{"s":"\u003c\u2028"}`), json.RawMessage("{\"s\":\"\u2028<>&\"}"), json.RawMessage(`null`), json.RawMessage(`"str"`), json.RawMessage(`1.50`),
		json.RawMessage("{\"bad\":\"\xff\"}"),
	}
	var out []contracts.Event
	for _, tm := range encodingZones() {
		for _, s := range awkward[:6] {
			for _, r := range raws {
				out = append(out, contracts.Event{Version: "0", ID: s, DetailType: s, Source: "orderflow.<x>", Account: "000", Time: tm, Region: s, Resources: []string{s}, Detail: r})
			}
		}
	}
	out = append(out, contracts.Event{}, contracts.Event{Resources: []string{}})
	return out
}

func TestEncodingOfEventsIsEncodingJSONs(t *testing.T) {
	for i, e := range encodingEvents() {
		sameEncoding(t, fmt.Sprintf("event %d detail=%q", i, e.Detail), e)
	}
}

func encodingAPIValues(tm time.Time, s string) []any {
	cur := s
	p := 1.5
	ord := contracts.Order{OrderID: s, Reference: s, CustomerID: s, Status: s, Items: []contracts.LineItem{{ProductID: s, Name: s, Quantity: 1, Price: 100}}, TotalAmount: 100, Currency: s,
		CustomerEmail: s, CustomerPhone: s, ShippingAddress: contracts.Address{Street: s}, CreatedAt: tm, UpdatedAt: tm, History: []contracts.StatusChange{{Status: s, At: tm}},
		Shipment: &contracts.Shipment{Carrier: s}, Failure: &contracts.Failure{Reason: s}}
	return []any{
		ord, contracts.Order{}, &ord,
		contracts.OrderList{Orders: []contracts.Order{ord, {}}, NextCursor: &cur}, contracts.OrderList{}, contracts.OrderList{Orders: []contracts.Order{}},
		contracts.EventList{Events: encodingEvents()[:3]}, contracts.EventList{},
		contracts.ErrorBody{Error: contracts.ErrorDetail{Code: contracts.CodeValidationFailed, Message: s, Details: []contracts.FieldIssue{{Field: s, Issue: s}}}},
		contracts.ErrorBody{Error: contracts.ErrorDetail{Code: "X", Message: s}}, contracts.ErrorBody{Error: contracts.ErrorDetail{Details: []contracts.FieldIssue{}}},
		contracts.InventoryList{Items: []contracts.InventoryItem{{ProductID: s, Name: s, Price: 5, Available: 3}}},
		contracts.TextList{Texts: []contracts.Text{{ID: s, OrderID: s, To: s, Text: s, SentAt: tm}}}, contracts.TextList{},
		contracts.DeadLetterList{DeadLetters: []contracts.DeadLetter{{ID: 1, Target: s, DetailType: s, OrderID: s, Error: s, Attempts: 2, FailedAt: tm}}, Total: 1},
		contracts.RedriveResult{Redriven: 3},
		contracts.LiveSnapshot{At: tm, Statuses: []contracts.StatusCount{{Status: s, Count: 1}}, Series: []contracts.LiveSecond{{At: tm, LatencyP50Ms: &p}, {At: tm}}},
		contracts.LiveEvent{ID: s, Time: tm},
		contracts.ChatTrace{ChatResponse: contracts.ChatResponse{Answer: s, SessionID: s}, ToolCalls: []contracts.ToolCall{{Name: s, Input: json.RawMessage(` {"a" : 1} `)}, {Name: s}}},
		contracts.ChatResponse{Answer: s},
		contracts.SubscriptionList{Subscriptions: []contracts.Subscription{{Name: s, EventPattern: json.RawMessage(`{"source": ["x"]}`), Recent: []contracts.Delivery{{EventID: s, At: tm, DurationMs: 0.1}}}, {Name: s}}},
		contracts.Health{Status: s},
		map[string]int64{"b": 2, "a": 1, "<": 3, "Z": 4, "é": 5, "": 6},
		map[string]any{"z": 1, "a": []int(nil), "m": map[string]string{"y": "1", "x": "2"}},
		[]string{s, "t"}, []string{}, []string(nil),
		struct {
			Status string `json:"status"`
			N      int    `json:"n"`
		}{s, 1},
		fmt.Errorf("x"), // error values
	}
}

func TestEncodingOfAPIResponsesIsEncodingJSONs(t *testing.T) {
	for _, tm := range encodingZones() {
		for _, s := range awkward {
			for i, v := range encodingAPIValues(tm, s) {
				sameEncoding(t, fmt.Sprintf("api %T %d %q", v, i, s), v)
			}
		}
	}
}
