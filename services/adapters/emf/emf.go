// Package emf writes metrics as CloudWatch Embedded Metric Format (EMF) lines: JSON log events that
// CloudWatch Logs turns into CloudWatch metrics. On Lambda, writing them to standard output is enough; the
// function's log group does the rest. A Logger is a metrics.Sink, so the metrics service and the chatbot
// record each sample once and it reaches Prometheus locally and CloudWatch on AWS under the same names.
//
// One line carries every metric recorded with the same dimension names and values since the last flush:
//
//	{"_aws":{"Timestamp":1768485600000,"CloudWatchMetrics":[{"Namespace":"Orderflow","Dimensions":[["stage","code"]],
//	"Metrics":[{"Name":"orderflow_orders_failed_total","Unit":"Count"}]}]},"stage":"PAYMENT_PROCESSING",
//	"code":"PAYMENT_DECLINED","orderflow_orders_failed_total":1}
//
// Counter increments are summed into one value per line (CloudWatch's Sum statistic is the counter);
// observations are kept as an array of values, so CloudWatch computes percentiles from the raw values.
// The specification's limits are kept: at most 30 dimension keys in a set, 100 metrics in a line and 100
// values in an array.
package emf

import (
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orderflow/orderflow/services/metrics"
)

// The limits of the EMF specification and of CloudWatch dimensions.
const (
	// MaxDimensions is the most dimension keys a dimension set may hold. Labels beyond it are still
	// written on the line, as searchable properties, but are not dimensions.
	MaxDimensions = 30
	// MaxMetrics is the most metric definitions one line (one metric directive) may hold.
	MaxMetrics = 100
	// MaxValues is the most values an array-valued metric may hold.
	MaxValues = 100
	// maxDimensionValue is CloudWatch's length limit of a dimension value.
	maxDimensionValue = 1024
)

// DefaultNamespace is orderflow's CloudWatch namespace.
const DefaultNamespace = "Orderflow"

// Options configure a Logger. The zero value is orderflow's: namespace Orderflow, wall clock.
type Options struct {
	// Namespace is the CloudWatch namespace of every metric (default DefaultNamespace).
	Namespace string
	// Now is the clock that stamps each line with the time of its first sample (default time.Now).
	Now func() time.Time
	// Totals names metrics that also get a series without dimensions (an empty dimension set), summed
	// over every label value: what an alarm on a ratio of totals (failed over created orders) needs.
	// The other metrics of the same line get it too, since a line's dimension sets apply to all of them.
	Totals []string
}

// Logger buffers metric samples and writes them as EMF lines to an io.Writer on Flush. It is safe for
// concurrent use. Call Flush at the end of every Lambda invocation: the runtime freezes the process
// between invocations, so anything left in the buffer would be written late or, if the instance is
// recycled, never. A group whose array metric reaches MaxValues values is written at once, so the buffer
// stays bounded by the number of distinct series even if Flush is late.
type Logger struct {
	w         io.Writer
	namespace string
	now       func() time.Time
	totals    map[string]bool

	mu     sync.Mutex
	groups map[string]*group
	order  []*group            // first-seen order, so output is deterministic
	err    error               // first write error of an automatic flush, returned by the next Flush
	seen   map[string]struct{} // every metric name and dimension values recorded, for Series
}

var _ metrics.Sink = (*Logger)(nil)

// New returns a Logger writing to w (os.Stdout on Lambda). Each line is written with one Write call.
func New(w io.Writer, opts Options) *Logger {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	totals := map[string]bool{}
	for _, name := range opts.Totals {
		totals[name] = true
	}
	return &Logger{w: w, namespace: opts.Namespace, now: opts.Now, totals: totals, groups: make(map[string]*group), seen: make(map[string]struct{})}
}

// Series returns the number of distinct metrics (name and dimension values) recorded since New: each is
// one CloudWatch custom metric, billed by the month.
func (l *Logger) Series() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// group is the samples sharing one set of dimension names and values: one line, or more when it holds
// more than MaxMetrics metrics.
type group struct {
	key     string
	labels  []metrics.Label
	at      time.Time
	metrics map[string]*series
	order   []*series
}

// series is one metric of a group.
type series struct {
	name    string
	unit    metrics.Unit
	counter bool
	sum     float64   // a counter's total
	values  []float64 // an observed metric's values
}

// Count implements metrics.Sink: it adds n to the counter's value on the next line of its labels.
// A value that is not a finite number is dropped: JSON cannot carry it.
func (l *Logger) Count(name string, labels []metrics.Label, n float64) {
	if !finite(n) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.series(name, labels, metrics.UnitCount, true)
	s.sum += n
}

// Observe implements metrics.Sink: it appends v to the metric's values on the next line of its labels.
// A value that is not a finite number is dropped: JSON cannot carry it.
func (l *Logger) Observe(name string, labels []metrics.Label, v float64, unit metrics.Unit) {
	if !finite(v) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.series(name, labels, unit, false)
	s.values = append(s.values, v)
	if len(s.values) >= MaxValues {
		g := l.groups[groupKey(labels)]
		if err := l.write(g); err != nil && l.err == nil {
			l.err = err
		}
		l.remove(g)
	}
}

// Flush writes every buffered group as EMF lines and empties the buffer. It returns the first write error,
// including one from a write made earlier because an array was full.
func (l *Logger) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.err
	l.err = nil
	for _, g := range l.order {
		if werr := l.write(g); werr != nil && err == nil {
			err = werr
		}
	}
	l.groups = make(map[string]*group)
	l.order = nil
	return err
}

// series finds or adds the series of name in the group of labels. A name first recorded as a counter
// stays one; the unit is the one first given.
func (l *Logger) series(name string, labels []metrics.Label, unit metrics.Unit, counter bool) *series {
	key := groupKey(labels)
	g := l.groups[key]
	if g == nil {
		g = &group{key: key, labels: labels, at: l.now(), metrics: make(map[string]*series)}
		l.groups[key] = g
		l.order = append(l.order, g)
	}
	s := g.metrics[name]
	if s == nil {
		l.seen[name+"\x00"+key] = struct{}{}
		s = &series{name: name, unit: unit, counter: counter}
		g.metrics[name] = s
		g.order = append(g.order, s)
	}
	return s
}

func (l *Logger) remove(g *group) {
	delete(l.groups, g.key)
	for i, o := range l.order {
		if o == g {
			l.order = append(l.order[:i], l.order[i+1:]...)
			break
		}
	}
}

// write writes g as one line per MaxMetrics metrics.
func (l *Logger) write(g *group) error {
	var first error
	for start := 0; start < len(g.order); start += MaxMetrics {
		end := min(start+MaxMetrics, len(g.order))
		if _, err := l.w.Write(l.line(g, g.order[start:end])); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (l *Logger) anyTotal(ss []*series) bool {
	for _, s := range ss {
		if l.totals[s.name] {
			return true
		}
	}
	return false
}

// line encodes one EMF document, newline-terminated. Members are written in a fixed order (_aws, the
// dimensions, the metrics) so lines can be compared byte for byte.
func (l *Logger) line(g *group, ss []*series) []byte {
	var b strings.Builder
	b.WriteString(`{"_aws":{"Timestamp":`)
	b.WriteString(strconv.FormatInt(g.at.UnixMilli(), 10))
	b.WriteString(`,"CloudWatchMetrics":[{"Namespace":`)
	writeString(&b, l.namespace)
	b.WriteString(`,"Dimensions":[[`)
	for i, lb := range g.labels {
		if i == MaxDimensions {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, lb.Name)
	}
	b.WriteByte(']')
	if len(g.labels) > 0 && l.anyTotal(ss) {
		b.WriteString(`,[]`)
	}
	b.WriteString(`],"Metrics":[`)
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"Name":`)
		writeString(&b, s.name)
		b.WriteString(`,"Unit":`)
		writeString(&b, string(s.unit))
		b.WriteByte('}')
	}
	b.WriteString(`]}]}`)
	for _, lb := range g.labels {
		b.WriteByte(',')
		writeString(&b, lb.Name)
		b.WriteByte(':')
		writeString(&b, dimensionValue(lb.Value))
	}
	for _, s := range ss {
		b.WriteByte(',')
		writeString(&b, s.name)
		b.WriteByte(':')
		switch {
		case s.counter:
			writeNumber(&b, s.sum)
		case len(s.values) == 1:
			writeNumber(&b, s.values[0])
		default:
			b.WriteByte('[')
			for i, v := range s.values {
				if i > 0 {
					b.WriteByte(',')
				}
				writeNumber(&b, v)
			}
			b.WriteByte(']')
		}
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// groupKey identifies a set of dimension names and values, in their order.
func groupKey(labels []metrics.Label) string {
	var b strings.Builder
	for _, l := range labels {
		b.WriteString(l.Name)
		b.WriteByte(0)
		b.WriteString(l.Value)
		b.WriteByte(0)
	}
	return b.String()
}

// dimensionValue makes v a valid CloudWatch dimension value: ASCII without control characters, at least
// one non-space character, at most 1024 bytes. A metric with an invalid dimension value would be dropped
// by CloudWatch; an empty label (Prometheus' "absent") becomes "none".
func dimensionValue(v string) string {
	var b strings.Builder
	for _, r := range v {
		if b.Len() == maxDimensionValue {
			break
		}
		if r < 0x20 || r >= 0x7f {
			r = '_'
		}
		b.WriteRune(r)
	}
	if strings.TrimSpace(b.String()) == "" {
		return "none"
	}
	return b.String()
}

func writeString(b *strings.Builder, s string) {
	j, _ := json.Marshal(s) // a string always encodes
	b.Write(j)
}

func writeNumber(b *strings.Builder, v float64) {
	j, _ := json.Marshal(v) // finite, checked on the way in
	b.Write(j)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
