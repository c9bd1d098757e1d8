package emf_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/services/adapters/emf"
	"github.com/orderflow/orderflow/services/metrics"
)

// t0 is 2026-01-15T14:00:00Z, 1768485600000 ms after the epoch.
var t0 = time.Date(2026, 1, 15, 14, 0, 0, 0, time.UTC)

func fixed() time.Time { return t0 }

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSuffix(buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func labels(kv ...string) []metrics.Label {
	var l []metrics.Label
	for i := 0; i < len(kv); i += 2 {
		l = append(l, metrics.Label{Name: kv[i], Value: kv[i+1]})
	}
	return l
}

func TestGoldenLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		record func(l *emf.Logger)
		want   []string
	}{
		{
			name: "a counter with two dimensions",
			record: func(l *emf.Logger) {
				l.Count("orderflow_orders_failed_total", labels("stage", "PAYMENT_PROCESSING", "code", "PAYMENT_DECLINED"), 1)
			},
			want: []string{`{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["stage","code"]],"Metrics":[{"Name":"orderflow_orders_failed_total","Unit":"Count"}]}]},"stage":"PAYMENT_PROCESSING","code":"PAYMENT_DECLINED","orderflow_orders_failed_total":1}`},
		},
		{
			name: "increments of one counter are summed",
			record: func(l *emf.Logger) {
				for range 3 {
					l.Count("orderflow_events_total", labels("detail_type", "OrderCreated"), 1)
				}
			},
			want: []string{`{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["detail_type"]],"Metrics":[{"Name":"orderflow_events_total","Unit":"Count"}]}]},"detail_type":"OrderCreated","orderflow_events_total":3}`},
		},
		{
			name: "a histogram keeps its values",
			record: func(l *emf.Logger) {
				l.Observe("orderflow_http_request_duration_seconds", labels("route", "POST /orders"), 0.002, metrics.UnitSeconds)
				l.Observe("orderflow_http_request_duration_seconds", labels("route", "POST /orders"), 0.0125, metrics.UnitSeconds)
			},
			want: []string{`{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["route"]],"Metrics":[{"Name":"orderflow_http_request_duration_seconds","Unit":"Seconds"}]}]},"route":"POST /orders","orderflow_http_request_duration_seconds":[0.002,0.0125]}`},
		},
		{
			name: "a metric with no labels has an empty dimension set",
			record: func(l *emf.Logger) {
				l.Observe("orderflow_order_completion_seconds", nil, 0.5, metrics.UnitSeconds)
			},
			want: []string{`{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[[]],"Metrics":[{"Name":"orderflow_order_completion_seconds","Unit":"Seconds"}]}]},"orderflow_order_completion_seconds":0.5}`},
		},
		{
			name: "metrics with the same dimensions share a line; other values get their own",
			record: func(l *emf.Logger) {
				l.Count("orderflow_orders_created_total", labels("currency", "EUR"), 1)
				l.Observe("orderflow_order_value", labels("currency", "EUR"), 1299.99, metrics.UnitNone)
				l.Count("orderflow_orders_created_total", labels("currency", "USD"), 1)
				l.Observe("orderflow_order_value", labels("currency", "EUR"), 10, metrics.UnitNone)
			},
			want: []string{
				`{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["currency"]],"Metrics":[{"Name":"orderflow_orders_created_total","Unit":"Count"},{"Name":"orderflow_order_value","Unit":"None"}]}]},"currency":"EUR","orderflow_orders_created_total":1,"orderflow_order_value":[1299.99,10]}`,
				`{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["currency"]],"Metrics":[{"Name":"orderflow_orders_created_total","Unit":"Count"}]}]},"currency":"USD","orderflow_orders_created_total":1}`,
			},
		},
		{
			name: "an empty or non-ASCII dimension value is made valid",
			record: func(l *emf.Logger) {
				l.Count("orderflow_chatbot_tool_calls_total", labels("tool", "", "outcome", "é\n"), 1)
			},
			want: []string{`{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["tool","outcome"]],"Metrics":[{"Name":"orderflow_chatbot_tool_calls_total","Unit":"Count"}]}]},"tool":"none","outcome":"__","orderflow_chatbot_tool_calls_total":1}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			l := emf.New(&buf, emf.Options{Now: fixed})
			tt.record(l)
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, lines(&buf)); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			for _, line := range lines(&buf) {
				if !json.Valid([]byte(line)) {
					t.Errorf("not JSON: %s", line)
				}
			}
		})
	}
}

func TestMoreThanHundredMetricsSplitIntoLines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := emf.New(&buf, emf.Options{Now: fixed})
	for i := range 101 {
		l.Count(fmt.Sprintf("m%03d", i), nil, 1)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	got := lines(&buf)
	if len(got) != 2 {
		t.Fatalf("got %d lines, want 2", len(got))
	}
	var defs []string
	for i := range 100 {
		defs = append(defs, fmt.Sprintf(`{"Name":"m%03d","Unit":"Count"}`, i))
	}
	var vals []string
	for i := range 100 {
		vals = append(vals, fmt.Sprintf(`"m%03d":1`, i))
	}
	want := []string{
		`{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[[]],"Metrics":[` + strings.Join(defs, ",") + `]}]},` + strings.Join(vals, ",") + `}`,
		`{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[[]],"Metrics":[{"Name":"m100","Unit":"Count"}]}]},"m100":1}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

func TestAHundredValuesAreWrittenWithoutWaitingForFlush(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := emf.New(&buf, emf.Options{Now: fixed})
	for range emf.MaxValues + 1 {
		l.Observe("orderflow_stage_duration_seconds", labels("stage", "VALIDATING"), 0.25, metrics.UnitSeconds)
	}
	before := lines(&buf)
	if len(before) != 1 {
		t.Fatalf("before Flush: %d lines, want 1", len(before))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(before[0]), &doc); err != nil {
		t.Fatal(err)
	}
	if n := len(doc["orderflow_stage_duration_seconds"].([]any)); n != emf.MaxValues {
		t.Errorf("first line holds %d values, want %d", n, emf.MaxValues)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["stage"]],"Metrics":[{"Name":"orderflow_stage_duration_seconds","Unit":"Seconds"}]}]},"stage":"VALIDATING","orderflow_stage_duration_seconds":0.25}`
	if got := lines(&buf); len(got) != 2 || got[1] != want {
		t.Errorf("after Flush got %q, want a second line %s", got, want)
	}
}

func TestMoreThanThirtyLabelsKeepThirtyDimensions(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := emf.New(&buf, emf.Options{Now: fixed, Namespace: "Test"})
	var kv []string
	for i := range 31 {
		kv = append(kv, fmt.Sprintf("d%02d", i), "v")
	}
	l.Count("c", labels(kv...), 2)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AWS struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
			}
		} `json:"_aws"`
		D30 string `json:"d30"`
		C   float64
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	d := doc.AWS.CloudWatchMetrics[0]
	if d.Namespace != "Test" || len(d.Dimensions[0]) != emf.MaxDimensions || doc.D30 != "v" || doc.C != 2 {
		t.Errorf("got namespace %q, %d dimensions, d30=%q, c=%v; want Test, 30, v, 2", d.Namespace, len(d.Dimensions[0]), doc.D30, doc.C)
	}
}

func TestFlushOfNothingWritesNothing(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := emf.New(&buf, emf.Options{})
	if err := l.Flush(); err != nil || buf.Len() != 0 {
		t.Errorf("Flush() = %v and wrote %q, want nil and nothing", err, buf.String())
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFlushReportsWriteErrors(t *testing.T) {
	t.Parallel()
	l := emf.New(failing{}, emf.Options{})
	l.Count("c", nil, 1)
	if err := l.Flush(); err == nil {
		t.Error("Flush() = nil, want the write error")
	}
	if err := l.Flush(); err != nil {
		t.Errorf("second Flush() = %v, want nil (nothing buffered)", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := emf.New(&buf, emf.Options{Now: fixed})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 250 {
				l.Count("orderflow_deliveries_total", labels("target", "metrics", "outcome", "ok"), 1)
				l.Observe("orderflow_http_request_duration_seconds", labels("route", "GET /orders/{id}"), 0.001, metrics.UnitSeconds)
			}
		})
	}
	wg.Wait()
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	var count, observed float64
	for _, line := range lines(&buf) {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if v, ok := doc["orderflow_deliveries_total"].(float64); ok {
			count += v
		}
		switch v := doc["orderflow_http_request_duration_seconds"].(type) {
		case []any:
			observed += float64(len(v))
		case float64:
			observed++
		}
	}
	if count != 2000 || observed != 2000 {
		t.Errorf("got %v increments and %v observations, want 2000 and 2000", count, observed)
	}
}

// An alarm on failed over created orders needs their totals: a metric named in Totals gets an empty
// dimension set besides its labels, so CloudWatch keeps a series summed over every label value.
func TestTotalsAddADimensionlessSeries(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	at := time.Date(2026, 1, 15, 14, 0, 0, 0, time.UTC)
	l := emf.New(&buf, emf.Options{Now: func() time.Time { return at }, Totals: []string{"orderflow_orders_failed_total"}})
	l.Count("orderflow_orders_failed_total", []metrics.Label{{Name: "stage", Value: "PAYMENT_PROCESSING"}, {Name: "code", Value: "PAYMENT_DECLINED"}}, 1)
	l.Count("orderflow_events_total", []metrics.Label{{Name: "detail_type", Value: "OrderFailed"}}, 1)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["stage","code"],[]],"Metrics":[{"Name":"orderflow_orders_failed_total","Unit":"Count"}]}]},"stage":"PAYMENT_PROCESSING","code":"PAYMENT_DECLINED","orderflow_orders_failed_total":1}
{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["detail_type"]],"Metrics":[{"Name":"orderflow_events_total","Unit":"Count"}]}]},"detail_type":"OrderFailed","orderflow_events_total":1}
`
	if d := cmp.Diff(want, buf.String()); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
}
