package emf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/emf"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/metrics"
	"github.com/orderflow/orderflow/services/order"
)

type oneOrder struct{ o *order.Order }

func (f oneOrder) Get(_ context.Context, id string) (*order.Order, error) {
	if f.o == nil || f.o.ID() != id {
		return nil, fault.NotFoundf("order %s", id)
	}
	return f.o, nil
}

func (f oneOrder) List(context.Context, string, int, string) ([]*order.Order, string, error) {
	return nil, "", nil
}

func (f oneOrder) GetByReference(_ context.Context, customerID, reference string) (*order.Order, error) {
	if f.o == nil || f.o.CustomerID() != customerID || f.o.Reference() != reference {
		return nil, fault.NotFoundf("order %s", reference)
	}
	return f.o, nil
}

func event(t *testing.T, id, detailType string, detail any) contracts.Event {
	t.Helper()
	b, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	return contracts.Event{ID: id, DetailType: detailType, Detail: b}
}

// completedOrder is an order that went through every stage, 100 ms in each.
func completedOrder(t *testing.T) *order.Order {
	t.Helper()
	o, err := order.New(order.Draft{ID: "o1", CustomerID: "c1", Items: []order.Item{{ProductID: "P", Name: "p", Quantity: 1, Price: 129999}}, Total: 129999, Currency: "EUR"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	steps := []func(time.Time) error{o.StartValidation, o.PassValidation, o.ReserveInventory,
		func(at time.Time) error { return o.AuthorizePayment("a1", at) },
		func(at time.Time) error { return o.Complete(contracts.Shipment{}, at) }}
	for i, step := range steps {
		if err := step(t0.Add(time.Duration(i+1) * 100 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// feed sends the same sequence to m: a created order (delivered twice), its completion, a payment
// failure, a cancellation, an HTTP request, a delivery and an invalid chatbot question.
func feed(t *testing.T, m *metrics.Metrics, orders oneOrder) {
	t.Helper()
	meta := contracts.DetailMeta{OrderID: "o1"}
	evs := []contracts.Event{
		event(t, "e1", contracts.DetailOrderCreated, contracts.OrderCreatedDetail{DetailMeta: meta, Currency: "EUR", TotalAmount: 129999}),
		event(t, "e1", contracts.DetailOrderCreated, contracts.OrderCreatedDetail{DetailMeta: meta, Currency: "EUR", TotalAmount: 129999}), // redelivered
		event(t, "e2", contracts.DetailOrderCompleted, contracts.OrderCompletedDetail{DetailMeta: meta, Currency: "EUR"}),
		event(t, "e3", contracts.DetailOrderFailed, contracts.OrderFailedDetail{DetailMeta: contracts.DetailMeta{OrderID: "gone"}, Failure: contracts.Failure{Stage: "PAYMENT_PROCESSING", Code: "PAYMENT_DECLINED"}}),
		event(t, "e4", contracts.DetailOrderCancelled, contracts.OrderCancelledDetail{DetailMeta: contracts.DetailMeta{OrderID: "o2"}, PreviousStatus: "VALIDATING"}),
	}
	for _, e := range evs {
		if err := m.Handle(context.Background(), e); err != nil {
			t.Fatalf("%s: %v", e.DetailType, err)
		}
	}
	m.ObserveHTTP("POST /orders", 201, 2*time.Millisecond)
	m.ObserveDelivery("metrics", "ok")
	bot, err := agent.New(orders, nil, m.Registry(), agent.Options{Now: fixed})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Answer(context.Background(), contracts.ChatRequest{CustomerID: "c1"}); !fault.Is(err, fault.Invalid) {
		t.Fatalf("empty question: got %v, want an invalid error", err)
	}
}

// TestEMFLinesOfTheMetricsService is the golden output of one flush after the sequence of feed.
func TestEMFLinesOfTheMetricsService(t *testing.T) {
	t.Parallel()
	orders := oneOrder{completedOrder(t)}
	var buf bytes.Buffer
	sink := emf.New(&buf, emf.Options{Now: fixed})
	feed(t, metrics.New(orders, metrics.Options{Sink: sink}), orders)
	if err := sink.Flush(); err != nil {
		t.Fatal(err)
	}
	const head = `{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow",`
	want := []string{
		head + `"Dimensions":[["detail_type"]],"Metrics":[{"Name":"orderflow_events_total","Unit":"Count"}]}]},"detail_type":"OrderCreated","orderflow_events_total":1}`,
		head + `"Dimensions":[["currency"]],"Metrics":[{"Name":"orderflow_orders_created_total","Unit":"Count"},{"Name":"orderflow_order_value","Unit":"None"},{"Name":"orderflow_orders_completed_total","Unit":"Count"}]}]},"currency":"EUR","orderflow_orders_created_total":1,"orderflow_order_value":1299.99,"orderflow_orders_completed_total":1}`,
		head + `"Dimensions":[["detail_type"]],"Metrics":[{"Name":"orderflow_events_total","Unit":"Count"}]}]},"detail_type":"OrderCompleted","orderflow_events_total":1}`,
		head + `"Dimensions":[["stage"]],"Metrics":[{"Name":"orderflow_stage_duration_seconds","Unit":"Seconds"}]}]},"stage":"PENDING","orderflow_stage_duration_seconds":0.1}`,
		head + `"Dimensions":[["stage"]],"Metrics":[{"Name":"orderflow_stage_duration_seconds","Unit":"Seconds"}]}]},"stage":"VALIDATING","orderflow_stage_duration_seconds":0.1}`,
		head + `"Dimensions":[["stage"]],"Metrics":[{"Name":"orderflow_stage_duration_seconds","Unit":"Seconds"}]}]},"stage":"INVENTORY_CHECK","orderflow_stage_duration_seconds":0.1}`,
		head + `"Dimensions":[["stage"]],"Metrics":[{"Name":"orderflow_stage_duration_seconds","Unit":"Seconds"}]}]},"stage":"PAYMENT_PROCESSING","orderflow_stage_duration_seconds":0.1}`,
		head + `"Dimensions":[["stage"]],"Metrics":[{"Name":"orderflow_stage_duration_seconds","Unit":"Seconds"}]}]},"stage":"FULFILLMENT","orderflow_stage_duration_seconds":0.1}`,
		head + `"Dimensions":[[]],"Metrics":[{"Name":"orderflow_order_completion_seconds","Unit":"Seconds"}]}]},"orderflow_order_completion_seconds":0.5}`,
		head + `"Dimensions":[["detail_type"]],"Metrics":[{"Name":"orderflow_events_total","Unit":"Count"}]}]},"detail_type":"OrderFailed","orderflow_events_total":1}`,
		head + `"Dimensions":[["stage","code"]],"Metrics":[{"Name":"orderflow_orders_failed_total","Unit":"Count"}]}]},"stage":"PAYMENT_PROCESSING","code":"PAYMENT_DECLINED","orderflow_orders_failed_total":1}`,
		head + `"Dimensions":[["detail_type"]],"Metrics":[{"Name":"orderflow_events_total","Unit":"Count"}]}]},"detail_type":"OrderCancelled","orderflow_events_total":1}`,
		head + `"Dimensions":[["previous_status"]],"Metrics":[{"Name":"orderflow_orders_cancelled_total","Unit":"Count"}]}]},"previous_status":"VALIDATING","orderflow_orders_cancelled_total":1}`,
		head + `"Dimensions":[["route","status"]],"Metrics":[{"Name":"orderflow_http_requests_total","Unit":"Count"}]}]},"route":"POST /orders","status":"201","orderflow_http_requests_total":1}`,
		head + `"Dimensions":[["route"]],"Metrics":[{"Name":"orderflow_http_request_duration_seconds","Unit":"Seconds"}]}]},"route":"POST /orders","orderflow_http_request_duration_seconds":0.002}`,
		head + `"Dimensions":[["target","outcome"]],"Metrics":[{"Name":"orderflow_deliveries_total","Unit":"Count"}]}]},"target":"metrics","outcome":"ok","orderflow_deliveries_total":1}`,
		head + `"Dimensions":[["source","outcome"]],"Metrics":[{"Name":"orderflow_chatbot_requests_total","Unit":"Count"}]}]},"source":"none","outcome":"invalid","orderflow_chatbot_requests_total":1}`,
	}
	if diff := cmp.Diff(want, lines(&buf)); diff != "" {
		t.Errorf("EMF lines (-want +got):\n%s", diff)
	}
	if n := sink.Series(); n != 19 {
		t.Errorf("Series() = %d, want 19 (the metrics of the lines above, as CloudWatch counts them)", n)
	}
}

// TestEMFAgreesWithPrometheus feeds one sequence to a Metrics with an EMF sink and checks that every
// Prometheus series of orderflow's own metrics has its EMF twin: same metric name, label names as
// dimension names, same label values, and the same count (counters) or count and sum (histograms).
func TestEMFAgreesWithPrometheus(t *testing.T) {
	t.Parallel()
	orders := oneOrder{completedOrder(t)}
	var buf bytes.Buffer
	sink := emf.New(&buf, emf.Options{Now: fixed})
	m := metrics.New(orders, metrics.Options{Sink: sink})
	feed(t, m, orders)
	if err := sink.Flush(); err != nil {
		t.Fatal(err)
	}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	prom := map[string]string{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "orderflow_") || f.GetType() == dto.MetricType_GAUGE {
			continue // the Go runtime's collectors and scrape-time gauges are Prometheus-only
		}
		for _, s := range f.GetMetric() {
			var l []metrics.Label
			for _, p := range s.GetLabel() {
				l = append(l, metrics.Label{Name: p.GetName(), Value: p.GetValue()})
			}
			key := seriesKey(f.GetName(), l)
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				prom[key] = fmt.Sprintf("count %g", s.GetCounter().GetValue())
			case dto.MetricType_HISTOGRAM:
				prom[key] = fmt.Sprintf("n %d sum %.6f", s.GetHistogram().GetSampleCount(), s.GetHistogram().GetSampleSum())
			}
		}
	}
	cloud := map[string]string{}
	for _, line := range lines(&buf) {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatal(err)
		}
		var meta struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		}
		if err := json.Unmarshal(doc["_aws"], &meta); err != nil {
			t.Fatal(err)
		}
		d := meta.CloudWatchMetrics[0]
		var l []metrics.Label
		for _, name := range d.Dimensions[0] {
			var v string
			if err := json.Unmarshal(doc[name], &v); err != nil {
				t.Fatal(err)
			}
			l = append(l, metrics.Label{Name: name, Value: v})
		}
		for _, def := range d.Metrics {
			var vals []float64
			if err := json.Unmarshal(doc[def.Name], &vals); err != nil {
				var v float64
				if err := json.Unmarshal(doc[def.Name], &v); err != nil {
					t.Fatal(err)
				}
				vals = []float64{v}
			}
			key := seriesKey(def.Name, l)
			if def.Unit == string(metrics.UnitCount) {
				cloud[key] = fmt.Sprintf("count %g", vals[0])
				continue
			}
			var sum float64
			for _, v := range vals {
				sum += v
			}
			cloud[key] = fmt.Sprintf("n %d sum %.6f", len(vals), sum)
		}
	}
	if len(prom) < 15 {
		t.Fatalf("only %d Prometheus series; the sequence should produce more", len(prom))
	}
	if diff := cmp.Diff(prom, cloud); diff != "" {
		t.Errorf("series (-prometheus +emf):\n%s", diff)
	}
}

func seriesKey(name string, l []metrics.Label) string {
	var parts []string
	for _, p := range l {
		parts = append(parts, p.Name+"="+p.Value)
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}
