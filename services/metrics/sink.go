package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Sink receives a copy of every counter increment and histogram observation, besides the Prometheus
// collectors. On AWS it is the CloudWatch Embedded Metric Format writer; locally there is none. A sink
// sees the same metric names and label names as Prometheus, so a dashboard reads the same words on both
// runtimes. Implementations must be safe for concurrent use and must not block: they are called on the
// hot path of every event and HTTP request. A sink may keep labels; each call gets its own slice.
type Sink interface {
	// Count adds n to the counter name with the given labels.
	Count(name string, labels []Label, n float64)
	// Observe records one value of the histogram name with the given labels, in unit.
	Observe(name string, labels []Label, v float64, unit Unit)
}

// Label is one label (a dimension, in CloudWatch's words) of a sample: its name and value, in the order
// the metric declares its label names.
type Label struct {
	Name, Value string
}

// Unit is the unit of an observed value. The values are CloudWatch's unit names, which are plain words.
type Unit string

// The units orderflow's metrics use.
const (
	// UnitCount is a number of things; every counter is in this unit.
	UnitCount Unit = "Count"
	// UnitSeconds is a duration in seconds.
	UnitSeconds Unit = "Seconds"
	// UnitNone is a value with no unit, such as an amount of money.
	UnitNone Unit = "None"
)

// CounterVec is a Prometheus counter vector that also sends every increment to a Sink. It is a
// prometheus.Collector, registered like the vector it wraps. It deliberately exposes only
// WithLabelValues, so no increment can bypass the sink.
type CounterVec struct {
	vec    *prometheus.CounterVec
	name   string
	labels []string
	sink   Sink
}

// NewCounterVec returns a counter vector named opts.Name with the given label names, teed to sink
// (which may be nil).
func NewCounterVec(opts prometheus.CounterOpts, labels []string, sink Sink) *CounterVec {
	return &CounterVec{vec: prometheus.NewCounterVec(opts, labels), name: opts.Name, labels: labels, sink: sink}
}

// WithLabelValues returns the counter for the label values, given in the order of the label names. Like
// Prometheus, it panics when the number of values is wrong.
func (c *CounterVec) WithLabelValues(values ...string) Counter {
	return Counter{c: c.vec.WithLabelValues(values...), name: c.name, labels: c.labels, values: values, sink: c.sink}
}

// Describe implements prometheus.Collector.
func (c *CounterVec) Describe(ch chan<- *prometheus.Desc) { c.vec.Describe(ch) }

// Collect implements prometheus.Collector.
func (c *CounterVec) Collect(ch chan<- prometheus.Metric) { c.vec.Collect(ch) }

// Counter is one counter of a CounterVec.
type Counter struct {
	c      prometheus.Counter
	name   string
	labels []string
	values []string
	sink   Sink
}

// Inc adds 1.
func (c Counter) Inc() { c.Add(1) }

// Add adds n, which must not be negative (Prometheus panics otherwise, before the sink sees it).
func (c Counter) Add(n float64) {
	c.c.Add(n)
	if c.sink != nil {
		c.sink.Count(c.name, pairs(c.labels, c.values), n)
	}
}

// HistogramVec is a Prometheus histogram vector that also sends every observation to a Sink, with the
// unit of its values. It is a prometheus.Collector.
type HistogramVec struct {
	vec    *prometheus.HistogramVec
	name   string
	labels []string
	unit   Unit
	sink   Sink
}

// NewHistogramVec returns a histogram vector named opts.Name with the given label names (none is fine),
// whose values are in unit, teed to sink (which may be nil).
func NewHistogramVec(opts prometheus.HistogramOpts, labels []string, unit Unit, sink Sink) *HistogramVec {
	return &HistogramVec{vec: prometheus.NewHistogramVec(opts, labels), name: opts.Name, labels: labels, unit: unit, sink: sink}
}

// WithLabelValues returns the histogram for the label values, given in the order of the label names.
// Like Prometheus, it panics when the number of values is wrong.
func (h *HistogramVec) WithLabelValues(values ...string) Histogram {
	return Histogram{o: h.vec.WithLabelValues(values...), name: h.name, labels: h.labels, values: values, unit: h.unit, sink: h.sink}
}

// Describe implements prometheus.Collector.
func (h *HistogramVec) Describe(ch chan<- *prometheus.Desc) { h.vec.Describe(ch) }

// Collect implements prometheus.Collector.
func (h *HistogramVec) Collect(ch chan<- prometheus.Metric) { h.vec.Collect(ch) }

// Histogram is one histogram of a HistogramVec.
type Histogram struct {
	o      prometheus.Observer
	name   string
	labels []string
	values []string
	unit   Unit
	sink   Sink
}

// Observe records v.
func (h Histogram) Observe(v float64) {
	h.o.Observe(v)
	if h.sink != nil {
		h.sink.Observe(h.name, pairs(h.labels, h.values), v, h.unit)
	}
}

func pairs(names, values []string) []Label {
	if len(names) == 0 {
		return nil
	}
	l := make([]Label, len(names))
	for i, n := range names {
		l[i] = Label{Name: n, Value: values[i]}
	}
	return l
}

// Registry is the Prometheus registry of a Metrics, carrying its sink, so that a component handed only
// the registry (the chatbot) can tee its own collectors to the same sink with SinkOf. It is a
// prometheus.Registerer and prometheus.Gatherer, through the embedded registry.
type Registry struct {
	*prometheus.Registry
	sink Sink
}

// Sink returns the sink of the registry's Metrics, nil when there is none.
func (r *Registry) Sink() Sink { return r.sink }

// SinkOf returns the sink carried by reg when reg is a *Registry (or anything with a Sink method), and nil
// otherwise, e.g. for a plain *prometheus.Registry.
func SinkOf(reg prometheus.Registerer) Sink {
	if c, ok := reg.(interface{ Sink() Sink }); ok {
		return c.Sink()
	}
	return nil
}
