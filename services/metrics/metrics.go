// Package metrics is the metrics subscriber: it turns order events into business metrics (orders created,
// completed, failed by stage and code, order value, time per stage, create-to-completed time) and records
// the technical ones (HTTP requests, event deliveries, dead letters). Locally they are served in the
// Prometheus text format at GET /metrics. Every counter increment and histogram observation can also go
// to a Sink (CloudWatch Embedded Metric Format on AWS), under the same names and label names.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// Orders reads an order, to time its stages from its history once it ends.
type Orders interface {
	Get(ctx context.Context, id string) (*order.Order, error)
}

// Metrics holds the collectors. It is safe for concurrent use.
type Metrics struct {
	reg    *Registry
	orders Orders

	created, completed, cancelled, events *CounterVec
	failed                                *CounterVec
	value                                 *HistogramVec
	stage                                 *HistogramVec
	endToEnd                              *HistogramVec
	httpRequests                          *CounterVec
	httpDuration                          *HistogramVec
	deliveries                            *CounterVec

	mu   sync.Mutex
	seen *recent
}

// Options configure New.
type Options struct {
	// Sink, when set, receives every counter increment and histogram observation as well (CloudWatch EMF
	// on AWS). The gauges read at scrape time (orderflow_dlq_depth) and the Go runtime's collectors are
	// Prometheus-only.
	Sink Sink
}

// New registers orderflow's collectors (and the Go runtime's) in a new registry. orders may be nil, in
// which case stage durations are not recorded. At most one Options may be given; New(orders) is the
// local runtime's form.
func New(orders Orders, opts ...Options) *Metrics {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	sink := o.Sink
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{reg: &Registry{Registry: reg, sink: sink}, orders: orders, seen: newRecent(100_000)}
	counter := func(name, help string, labels ...string) *CounterVec {
		return NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels, sink)
	}
	histogram := func(name, help string, buckets []float64, unit Unit, labels ...string) *HistogramVec {
		return NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels, unit, sink)
	}
	m.created = counter("orderflow_orders_created_total", "Orders that entered the pipeline.", "currency")
	m.completed = counter("orderflow_orders_completed_total", "Orders completed (ready for shipping).", "currency")
	m.cancelled = counter("orderflow_orders_cancelled_total", "Orders cancelled by the customer.", "previous_status")
	m.failed = counter("orderflow_orders_failed_total", "Orders failed, by the stage they failed in and the failure code.", "stage", "code")
	m.events = counter("orderflow_events_total", "Events published on the bus, by detail type.", "detail_type")
	m.value = histogram("orderflow_order_value", "Value of created orders, in the order's currency.",
		[]float64{10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000}, UnitNone, "currency")
	m.stage = histogram("orderflow_stage_duration_seconds", "Time an order spent in each status before it moved on.",
		prometheus.ExponentialBuckets(0.0005, 2.5, 14), UnitSeconds, "stage")
	m.endToEnd = histogram("orderflow_order_completion_seconds", "Time from order accepted to completed.",
		prometheus.ExponentialBuckets(0.005, 2, 14), UnitSeconds)
	m.httpRequests = counter("orderflow_http_requests_total", "HTTP requests by route and status.", "route", "status")
	m.httpDuration = histogram("orderflow_http_request_duration_seconds", "HTTP request latency by route.",
		prometheus.ExponentialBuckets(0.0001, 2.5, 14), UnitSeconds, "route")
	m.deliveries = counter("orderflow_deliveries_total", "Message deliveries by target and outcome (ok, retry, dead).", "target", "outcome")
	for _, c := range []prometheus.Collector{m.created, m.completed, m.cancelled, m.failed, m.events, m.value, m.stage, m.endToEnd, m.httpRequests, m.httpDuration, m.deliveries} {
		reg.MustRegister(c)
	}
	return m
}

// WatchDeadLetters exports the dead-letter count, read from count at every scrape, as orderflow_dlq_depth.
func (m *Metrics) WatchDeadLetters(count func(ctx context.Context) (int, error)) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "orderflow_dlq_depth", Help: "Messages in the dead-letter table."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := count(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is where further collectors (e.g. the chatbot's) register. It carries the sink (see SinkOf),
// and is a prometheus.Registerer and Gatherer; its Registry field is the plain Prometheus registry.
func (m *Metrics) Registry() *Registry { return m.reg }

// ObserveHTTP records one HTTP request; route is the route pattern, not the raw path.
func (m *Metrics) ObserveHTTP(route string, status int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// ObserveDelivery records the outcome of one message delivery.
func (m *Metrics) ObserveDelivery(target, outcome string) {
	m.deliveries.WithLabelValues(target, outcome).Inc()
}

// Handle is the subscriber: it records one event, once per event id. The ids seen are kept in memory (the
// last 100,000), which is exact for the single local process; a Lambda instance sees only its share of
// the events and forgets them when it is recycled, so the AWS wiring puts a durable deduper in front.
func (m *Metrics) Handle(ctx context.Context, e contracts.Event) error {
	m.mu.Lock()
	dup := !m.seen.add(e.ID)
	m.mu.Unlock()
	if dup {
		return nil
	}
	if err := m.record(ctx, e); err != nil {
		// Forget the event, so that its redelivery (Lambda's retry on the same instance) records it.
		m.mu.Lock()
		m.seen.remove(e.ID)
		m.mu.Unlock()
		return err
	}
	return nil
}

// The parts of the details the metrics read. Decoding only them skips the rest of each detail (an
// order's items and address, most of an OrderCreated) without building it; a malformed member the
// metrics do not read is not theirs to refuse (the notifier decodes the whole of the details it texts).
type (
	createdAmount struct {
		TotalAmount contracts.Amount `json:"totalAmount"`
		Currency    string           `json:"currency"`
	}
	endedOrder struct {
		OrderID  string `json:"orderId"`
		Currency string `json:"currency"`
	}
	failedOrder struct {
		OrderID string            `json:"orderId"`
		Failure contracts.Failure `json:"failure"`
	}
	cancelledOrder struct {
		PreviousStatus string `json:"previousStatus"`
	}
)

// record records one event. Whatever can fail (decoding, reading the order) happens before any sample
// is taken, so a failed attempt records nothing and its retry records everything once. Each detail is
// decoded once, and only the members recorded.
func (m *Metrics) record(ctx context.Context, e contracts.Event) error {
	var ended string // the order an OrderCompleted or OrderFailed is about, for its stage timings
	var count func()
	switch e.DetailType {
	case contracts.DetailOrderCreated:
		var d createdAmount
		if err := pipeline.Decode(e, &d); err != nil {
			return err
		}
		count = func() {
			m.created.WithLabelValues(d.Currency).Inc()
			m.value.WithLabelValues(d.Currency).Observe(float64(d.TotalAmount) / 100)
		}
	case contracts.DetailOrderCompleted:
		var d endedOrder
		if err := pipeline.Decode(e, &d); err != nil {
			return err
		}
		ended, count = d.OrderID, func() { m.completed.WithLabelValues(d.Currency).Inc() }
	case contracts.DetailOrderFailed:
		var d failedOrder
		if err := pipeline.Decode(e, &d); err != nil {
			return err
		}
		ended, count = d.OrderID, func() { m.failed.WithLabelValues(d.Failure.Stage, d.Failure.Code).Inc() }
	case contracts.DetailOrderCancelled:
		var d cancelledOrder
		if err := pipeline.Decode(e, &d); err != nil {
			return err
		}
		count = func() { m.cancelled.WithLabelValues(d.PreviousStatus).Inc() }
	}
	switch e.DetailType {
	case contracts.DetailOrderCompleted, contracts.DetailOrderFailed:
		o, err := m.endedOrder(ctx, ended)
		if err != nil {
			return err
		}
		defer m.timeStages(o)
	}
	m.events.WithLabelValues(e.DetailType).Inc()
	if count != nil {
		count()
	}
	return nil
}

// endedOrder reads the order an OrderCompleted or OrderFailed is about, for its stage timings: nil when
// there is no order store or the order is unknown.
func (m *Metrics) endedOrder(ctx context.Context, orderID string) (*order.Order, error) {
	if m.orders == nil {
		return nil, nil
	}
	o, err := m.orders.Get(ctx, orderID)
	if fault.Is(err, fault.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read order %s for its stage timings: %w", orderID, err)
	}
	return o, nil
}

// timeStages records how long the ended order spent in each status, from its history.
func (m *Metrics) timeStages(o *order.Order) {
	if o == nil {
		return
	}
	h := o.History()
	for i := 1; i < len(h); i++ {
		m.stage.WithLabelValues(string(h[i-1].Status)).Observe(h[i].At.Sub(h[i-1].At).Seconds())
	}
	if o.Status() == order.Completed && len(h) > 0 {
		m.endToEnd.WithLabelValues().Observe(h[len(h)-1].At.Sub(h[0].At).Seconds())
	}
}

// recent is a bounded set of the last n ids.
type recent struct {
	set  map[string]struct{}
	ring []string
	next int
}

func newRecent(n int) *recent {
	return &recent{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// remove forgets id, so that a redelivery of an event whose handling failed is handled again.
func (r *recent) remove(id string) {
	delete(r.set, id)
	for i, x := range r.ring {
		if x == id {
			r.ring[i] = ""
		}
	}
}

// add remembers id and reports whether it was new; beyond n ids it forgets the oldest.
func (r *recent) add(id string) bool {
	if _, ok := r.set[id]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.set[id] = struct{}{}
	return true
}
