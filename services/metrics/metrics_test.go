package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/contracts"
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

func event(t *testing.T, id, detailType string, detail any) contracts.Event {
	t.Helper()
	b, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	return contracts.Event{ID: id, DetailType: detailType, Detail: b}
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestEventsBecomeMetrics(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 15, 14, 0, 0, 0, time.UTC)
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
	m := metrics.New(oneOrder{o})
	m.WatchDeadLetters(func(context.Context) (int, error) { return 3, nil })
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
	out := scrape(t, m)
	for _, want := range []string{
		`orderflow_orders_created_total{currency="EUR"} 1`,
		`orderflow_orders_completed_total{currency="EUR"} 1`,
		`orderflow_orders_failed_total{code="PAYMENT_DECLINED",stage="PAYMENT_PROCESSING"} 1`,
		`orderflow_order_value_sum{currency="EUR"} 1299.99`,
		`orderflow_orders_cancelled_total{previous_status="VALIDATING"} 1`,
		`orderflow_stage_duration_seconds_count{stage="PAYMENT_PROCESSING"} 1`,
		`orderflow_stage_duration_seconds_sum{stage="VALIDATING"} 0.1`,
		`orderflow_order_completion_seconds_sum 0.5`,
		`orderflow_http_requests_total{route="POST /orders",status="201"} 1`,
		`orderflow_dlq_depth 3`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// recordingSink is a metrics.Sink that keeps what it is sent.
type recordingSink struct {
	mu    sync.Mutex
	calls []string
}

func (s *recordingSink) Count(name string, labels []metrics.Label, n float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("count %s %v %g", name, labels, n))
}

func (s *recordingSink) Observe(name string, labels []metrics.Label, v float64, unit metrics.Unit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("observe %s %v %g %s", name, labels, v, unit))
}

func TestEverySampleAlsoReachesTheSink(t *testing.T) {
	t.Parallel()
	sink := &recordingSink{}
	m := metrics.New(nil, metrics.Options{Sink: sink})
	m.ObserveHTTP("POST /orders", 201, 2*time.Millisecond)
	m.ObserveDelivery("metrics", "retry")
	want := []string{
		"count orderflow_http_requests_total [{route POST /orders} {status 201}] 1",
		"observe orderflow_http_request_duration_seconds [{route POST /orders}] 0.002 Seconds",
		"count orderflow_deliveries_total [{target metrics} {outcome retry}] 1",
	}
	if diff := cmp.Diff(want, sink.calls); diff != "" {
		t.Errorf("sink calls (-want +got):\n%s", diff)
	}
	if !strings.Contains(scrape(t, m), `orderflow_deliveries_total{outcome="retry",target="metrics"} 1`) {
		t.Error("Prometheus lacks the delivery the sink got")
	}
	if got := metrics.SinkOf(m.Registry()); got != sink {
		t.Errorf("SinkOf(the registry of a Metrics with a sink) = %v, want the sink", got)
	}
	if got := metrics.SinkOf(prometheus.NewRegistry()); got != nil {
		t.Errorf("SinkOf(a plain registry) = %v, want nil", got)
	}
	if got := metrics.SinkOf(metrics.New(nil).Registry()); got != nil {
		t.Errorf("SinkOf(the registry of a Metrics without a sink) = %v, want nil", got)
	}
}

// flakyOrders fails its first read, as a throttled or unreachable store does.
type flakyOrders struct {
	oneOrder
	failed bool
}

func (f *flakyOrders) Get(ctx context.Context, id string) (*order.Order, error) {
	if !f.failed {
		f.failed = true
		return nil, fault.Unavailablef("store busy")
	}
	return f.oneOrder.Get(ctx, id)
}

// An OrderCompleted whose order cannot be read fails and records nothing; its redelivery (Lambda's
// retry, on the same instance) records the counters and the stage timings, each once.
func TestAFailedEventIsRecordedOnceByItsRetry(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 15, 14, 0, 0, 0, time.UTC)
	o, err := order.New(order.Draft{ID: "o1", CustomerID: "c1", Items: []order.Item{{ProductID: "P", Name: "p", Quantity: 1, Price: 100}}, Total: 100, Currency: "EUR"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for i, step := range []func(time.Time) error{o.StartValidation, o.PassValidation, o.ReserveInventory,
		func(at time.Time) error { return o.AuthorizePayment("a1", at) },
		func(at time.Time) error { return o.Complete(contracts.Shipment{}, at) }} {
		if err := step(t0.Add(time.Duration(i+1) * time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	m := metrics.New(&flakyOrders{oneOrder: oneOrder{o}})
	e := event(t, "e1", contracts.DetailOrderCompleted, contracts.OrderCompletedDetail{DetailMeta: contracts.DetailMeta{OrderID: "o1"}, Currency: "EUR"})
	if err := m.Handle(context.Background(), e); err == nil {
		t.Fatal("the first delivery succeeded although the order could not be read")
	}
	if out := scrape(t, m); strings.Contains(out, "orderflow_orders_completed_total{") {
		t.Errorf("a failed delivery recorded samples:\n%s", out)
	}
	for range 2 { // the retry, and a duplicate after it
		if err := m.Handle(context.Background(), e); err != nil {
			t.Fatalf("retry: %v", err)
		}
	}
	out := scrape(t, m)
	for _, want := range []string{`orderflow_orders_completed_total{currency="EUR"} 1`, `orderflow_order_completion_seconds_count 1`, `orderflow_events_total{detail_type="OrderCompleted"} 1`} {
		if !strings.Contains(out, want) {
			t.Errorf("after the retry, metrics lack %q", want)
		}
	}
}

// An event whose detail does not decode records nothing at all, not even the count of events.
func TestAnEventWhoseDetailDoesNotDecodeRecordsNothing(t *testing.T) {
	t.Parallel()
	m := metrics.New(oneOrder{})
	for i, detailType := range []string{contracts.DetailOrderCreated, contracts.DetailOrderCompleted, contracts.DetailOrderFailed, contracts.DetailOrderCancelled} {
		// Valid JSON with a meta that decodes, but a currency (or stage) of the wrong type.
		e := contracts.Event{ID: fmt.Sprintf("e%d", i), DetailType: detailType,
			Detail: json.RawMessage(`{"orderId":"o1","currency":5,"failure":{"stage":5},"previousStatus":5}`)}
		if err := m.Handle(context.Background(), e); err == nil {
			t.Errorf("%s with a malformed detail: no error", detailType)
		}
	}
	if out := scrape(t, m); strings.Contains(out, "orderflow_events_total{") {
		t.Errorf("events with malformed details were counted:\n%s", out)
	}
}
