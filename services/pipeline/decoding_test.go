package pipeline_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	gojson "github.com/goccy/go-json"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/order"
)

// The stored orders, the events and their details, the queue's messages and the stored responses are
// decoded with github.com/go-json-experiment/json/v1: encoding/json's behaviour on the implementation
// that becomes encoding/json in a later Go release, at about a third of its CPU. These tests hold it to
// encoding/json on everything we decode: what we write ourselves, and what a hand-edited row or another
// publisher could hold (keys in other cases, duplicate and unknown keys, nulls, wrong types, numbers that
// overflow, invalid UTF-8 and escapes, truncated and trailing input). Both must agree on whether a
// document decodes, and on the value when it does. If they fail after an upgrade, do not upgrade.
//
// One difference is known and accepted: a timestamp spelt with escapes ("…00:00\u005a") is refused by
// encoding/json and read as the time it spells by jsonv1 (TestDecodingOfEscapedTimestamps). It only
// lets through what the old decoder refused, and orderflow never writes one. After a failed decode the
// two leave different partial values (jsonv1 goes on past a field it could not read), so only values of
// successful decodes are compared, and no caller uses a value whose decode failed.

// decodeTargets are fresh values of every type decoded with jsonv1.
var decodeTargets = []func() any{
	func() any { return new(order.Snapshot) },
	func() any { return new(contracts.Event) },
	func() any { return new(contracts.DetailMeta) },
	func() any { return new(contracts.OrderCreatedDetail) },
	func() any { return new(contracts.OrderValidatedDetail) },
	func() any { return new(contracts.InventoryReservedDetail) },
	func() any { return new(contracts.PaymentAuthorizedDetail) },
	func() any { return new(contracts.OrderCompletedDetail) },
	func() any { return new(contracts.OrderFailedDetail) },
	func() any { return new(contracts.OrderCancelledDetail) },
	func() any { return new(contracts.InventoryReleasedDetail) },
	func() any { return new(contracts.PaymentVoidedDetail) },
	func() any { return new(contracts.OrderMessage) },
	func() any { return new(contracts.Order) },
	func() any {
		return new([]struct {
			ProductID string `json:"productId"`
			Quantity  int    `json:"quantity"`
		})
	},
}

// sameDecoding decodes doc into a fresh value of each target with both decoders.
func sameDecoding(t *testing.T, name string, doc []byte) {
	t.Helper()
	for _, target := range decodeTargets {
		a, b := target(), target()
		ea, eb := json.Unmarshal(doc, a), jsonv1.Unmarshal(doc, b)
		if (ea == nil) != (eb == nil) {
			t.Errorf("%s into %T: std error %v, jsonv1 error %v\n doc=%q", name, a, ea, eb, doc)
			continue
		}
		if ea == nil && !reflect.DeepEqual(a, b) {
			t.Errorf("%s into %T: values differ\n std=%+v\n v1 =%+v\n doc=%q", name, a, a, b, doc)
		}
	}
}

// ourDocuments are what orderflow writes: the encoding fixtures, encoded as the stores encode them.
func ourDocuments(t *testing.T) [][]byte {
	var vals []any
	for _, s := range encodingSnapshots() {
		vals = append(vals, s)
	}
	for _, e := range encodingEvents() {
		vals = append(vals, e)
	}
	for _, tm := range encodingZones() {
		for _, s := range awkward {
			vals = append(vals, encodingDetails(tm, s)...)
		}
		vals = append(vals, encodingAPIValues(tm, "x")[:3]...)
	}
	var docs [][]byte
	for _, v := range vals {
		b, err := gojson.Marshal(v)
		if err != nil {
			continue // the encoders refuse it alike (TestEncodingOfEventsIsEncodingJSONs)
		}
		docs = append(docs, b)
	}
	if len(docs) < 1000 {
		t.Fatalf("only %d documents", len(docs))
	}
	return docs
}

func TestDecodingOfOurDocumentsIsEncodingJSONs(t *testing.T) {
	for i, doc := range ourDocuments(t) {
		sameDecoding(t, fmt.Sprint("doc ", i), doc)
	}
}

// awkwardDocuments are documents orderflow never writes.
var awkwardDocuments = []string{
	``, ` `, `null`, `{}`, `[]`, `"x"`, `1`, `true`, `{`, `{"orderId":`, `{"orderId":"a"`, `{"orderId":"a"}x`, `{"orderId":"a"} `,
	`{"orderId":"a"}{"orderId":"b"}`, `{"orderId":"a",}`, `{orderId:"a"}`, `{'orderId':'a'}`, `{"orderId":"a" "b"}`,
	// keys in other cases, duplicates, unknown keys
	`{"ORDERID":"a"}`, `{"orderid":"a","OrderId":"b"}`, `{"orderId":"a","orderId":"b"}`, `{"orderId":"a","unknown":{"x":[1,2,{"y":null}]}}`,
	`{"customerId":"c","CUSTOMERID":"d"}`, `{"ORDERİD":"a"}`, `{"order_id":"a"}`, `{"orderﬁd":"a"}`, `{"\u006frderId":"a"}`, `{"orderId\u0000":"a"}`,
	`{"K":"a"}`, `{"k":"a"}`, `{"status":"A","Status":"B","STATUS":"C"}`,
	// nulls and wrong types
	`{"orderId":null}`, `{"items":null}`, `{"items":[null]}`, `{"items":{}}`, `{"items":[{"quantity":"2"}]}`, `{"items":[{"quantity":2.5}]}`,
	`{"items":[{"quantity":1e2}]}`, `{"items":[{"quantity":-0}]}`, `{"items":[{"quantity":01}]}`, `{"totalAmount":9223372036854775807}`,
	`{"totalAmount":9223372036854775808}`, `{"totalAmount":-9223372036854775809}`, `{"totalAmount":1e400}`, `{"totalAmount":"5"}`,
	`{"totalAmount":true}`, `{"totalAmount":null}`, `{"items":[{"price":null}]}`, `{"items":[{"price":"1.00"}]}`, `{"orderId":5}`, `{"orderId":["a"]}`, `{"version":"1"}`, `{"version":1.5}`, `{"createdAt":"2026-13-01T00:00:00Z"}`,
	`{"createdAt":"2026-01-01T00:00:00Z"}`, `{"createdAt":"2026-01-01T00:00:00.123456789+05:30"}`, `{"createdAt":"2026-01-01 00:00:00Z"}`,
	`{"createdAt":null}`, `{"createdAt":0}`, `{"time":"2026-01-01T00:00:00Z","detail":{"a":1}}`, `{"detail":null}`, `{"detail":"x"}`,
	`{"detail":[1,2]}`, `{"detail":{"a":}}`, `{"resources":["a",null]}`, `{"resources":"a"}`, `{"history":[{"status":"PENDING","at":"2026-01-01T00:00:00Z"}]}`,
	`{"shipment":null}`, `{"shipment":{"carrier":"x","trackingNumber":null}}`, `{"failure":{"stage":1}}`, `{"shippingAddress":[]}`,
	// strings: escapes and UTF-8
	`{"orderId":"a\u0000b"}`, `{"orderId":"\ud800"}`, `{"orderId":"\ud83d\ude00"}`, `{"orderId":"\udc00\ud800"}`, `{"orderId":"\x"}`,
	`{"orderId":"\u12"}`, `{"orderId":"\u12g4"}`, `{"orderId":"` + "\xff" + `"}`, `{"orderId":"` + "\xc3\x28" + `"}`, `{"orderId":"` + "\xed\xa0\x80" + `"}`,
	`{"orderId":"` + "tab\tin" + `"}`, `{"orderId":"` + "nl\nin" + `"}`, `{"orderId":"\/\b\f\n\r\t\"\\"}`, `{"` + "\xff" + `":"a"}`,
	"\ufeff{\"orderId\":\"a\"}", `{"orderId":"a"}` + "\x00", `{"customerId":"\u0063","reference":"\u00e9\ud83d\ude00"}`,
	`{"status":"\u0050ENDING","currency":"\u0045UR"}`, `{"items":[{"productId":"\u0041","name":"\"q\""}]}`,
	// nesting
	strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200), `{"items":[` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `]}`,
}

func TestDecodingOfAwkwardDocumentsIsEncodingJSONs(t *testing.T) {
	for _, doc := range awkwardDocuments {
		sameDecoding(t, "awkward", []byte(doc))
	}
}

// TestDecodingOfMutatedDocumentsIsEncodingJSONs cuts and alters documents we write, byte by byte.
func TestDecodingOfMutatedDocumentsIsEncodingJSONs(t *testing.T) {
	docs := ourDocuments(t)
	for i := 0; i < len(docs); i += 97 {
		doc := docs[i]
		for j := 0; j < len(doc); j += 7 {
			sameDecoding(t, fmt.Sprintf("doc %d cut at %d", i, j), doc[:j])
			for _, c := range []byte{'"', '}', ',', 'x', 0xff, '\\'} {
				m := append([]byte(nil), doc...)
				m[j] = c
				sameDecoding(t, fmt.Sprintf("doc %d with %q at %d", i, c, j), m)
			}
		}
	}
}

// TestDecodingOfEscapedTimestamps pins the one known difference (see the top of this file): if it fails
// after an upgrade, the decoders agree again and the note above should go.
func TestDecodingOfEscapedTimestamps(t *testing.T) {
	want := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ea, eb contracts.Event
	doc := []byte(`{"time":"2026-01-01T00:00:00\u005a"}`)
	if err := json.Unmarshal(doc, &ea); err == nil {
		t.Errorf("encoding/json decoded %s", doc)
	}
	if err := jsonv1.Unmarshal(doc, &eb); err != nil || !eb.Time.Equal(want) {
		t.Errorf("jsonv1 decoded %s to %v, %v; want %v", doc, eb.Time, err, want)
	}
	var da, db contracts.OrderCreatedDetail
	doc = []byte(`{"createdAt":"\u0032026-01-01T00:00:00Z"}`)
	if err := json.Unmarshal(doc, &da); err == nil {
		t.Errorf("encoding/json decoded %s", doc)
	}
	if err := jsonv1.Unmarshal(doc, &db); err != nil || !db.CreatedAt.Equal(want) {
		t.Errorf("jsonv1 decoded %s to %v, %v; want %v", doc, db.CreatedAt, err, want)
	}
}
