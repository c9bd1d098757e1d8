package metrics_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
