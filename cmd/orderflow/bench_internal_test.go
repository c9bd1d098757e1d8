package main

import (
	"context"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/metrics"
)

func TestParseMetricsSumsEachMetricOverItsLabels(t *testing.T) {
	text := `# HELP orderflow_orders_completed_total Orders completed.
# TYPE orderflow_orders_completed_total counter
orderflow_orders_completed_total 12
orderflow_orders_failed_total{code="OUT_OF_STOCK"} 2
orderflow_orders_failed_total{code="PAYMENT_DECLINED",stage="a b"} 3.5
go_memstats_mallocs_total 1.5e+06
not a number here
`
	got, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"orderflow_orders_completed_total": 12, "orderflow_orders_failed_total": 5.5, "go_memstats_mallocs_total": 1.5e6}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("parseMetrics = %v, want only %v", got, want)
	}
}

// TestTheServersMetricsCountItsAllocations reads the allocation counters the bench reports from the
// server's own metrics handler: they grow as the process allocates.
func TestTheServersMetricsCountItsAllocations(t *testing.T) {
	srv := httptest.NewServer(metrics.New(nil).Handler())
	defer srv.Close()
	ctx := context.Background()
	before, err := readHeapCounters(ctx, srv.Client(), srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	keep := make([][]byte, 0, 1000)
	for range 1000 {
		keep = append(keep, make([]byte, 1024))
	}
	after, err := readHeapCounters(ctx, srv.Client(), srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if before.allocs <= 0 || after.allocs-before.allocs < 1000 || after.bytes-before.bytes < 1000*1024 {
		t.Errorf("heap counters went from %+v to %+v over 1,000 allocations of 1 KiB", before, after)
	}
	allocSink = keep
}

// allocSink keeps the test's allocations on the heap.
var allocSink [][]byte

func TestParseProcIOReadsTheWriteCounters(t *testing.T) {
	text := "rchar: 6976\nwchar: 123456\nsyscr: 10\nsyscw: 42\nread_bytes: 0\nwrite_bytes: 4096\ncancelled_write_bytes: 0\n"
	got, ok := parseProcIO([]byte(text))
	if !ok || got != (ioCounters{calls: 42, bytes: 123456}) {
		t.Fatalf("parseProcIO = %+v, %v; want 42 calls, 123456 bytes", got, ok)
	}
	for _, bad := range []string{"", "rchar: 1\n", "wchar: 1\nsyscw: x\n"} {
		if got, ok := parseProcIO([]byte(bad)); ok {
			t.Errorf("parseProcIO(%q) = %+v, true; want false", bad, got)
		}
	}
}

func TestProcessIOCountsTheWritesOfAProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/<pid>/io is Linux's")
	}
	if _, ok := processIO(nil); ok {
		t.Error("processIO(nil) = true")
	}
	self, _ := os.FindProcess(os.Getpid())
	before, ok := processIO(self)
	if !ok {
		t.Fatal("processIO of the test process: not read")
	}
	f, err := os.Create(t.TempDir() + "/w")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range 10 {
		if _, err := f.Write(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := processIO(self)
	if calls, bytes := after.calls-before.calls, after.bytes-before.bytes; calls < 10 || bytes < 10000 {
		t.Errorf("after 10 writes of 1000 bytes: %d calls, %d bytes counted", calls, bytes)
	}
}

func TestTheSustainedPhaseOffersAShareOfTheMeasuredRate(t *testing.T) {
	for _, c := range []struct {
		rate, share float64
		want        int
	}{{2279, 0.9, 2050}, {2279, 0, 0}, {0, 0.9, 0}, {40, 0.9, 0}, {1000, 1, 1000}} {
		if got := sustainRate(c.rate, c.share); got != c.want {
			t.Errorf("sustainRate(%v, %v) = %d, want %d", c.rate, c.share, got, c.want)
		}
	}
	for _, c := range []struct {
		r    sustainedResult
		want bool
		why  string
	}{
		{sustainedResult{offered: 1990, backlogHalfway: 300, backlog: 420}, true, "kept up"},
		{sustainedResult{offered: 1990, backlogHalfway: 300, backlog: 801}, false, "the backlog grew"},
		{sustainedResult{offered: 1990, backlogHalfway: 3000, backlog: 6000}, false, "the backlog grew"},
		{sustainedResult{offered: 1700, backlogHalfway: 10, backlog: 10}, false, "the client could not offer it"},
		{sustainedResult{offered: 1990, backlogHalfway: 2000, backlog: 2000}, true, "kept up"},
		{sustainedResult{offered: 1990, backlogHalfway: 2400, backlog: 2300}, false, "a backlog of more than a second's orders stood"},
	} {
		if got, why := c.r.keptUp(2000); got != c.want || why != c.why {
			t.Errorf("%+v.keptUp(2000) = %v, %q; want %v, %q", c.r, got, why, c.want, c.why)
		}
	}
}

// TestTheSustainedSearchNarrowsDownOnceItKeepsUp drives the sustained phase's search against pipelines
// that keep up with any share of the end-to-end rate up to a capacity, and checks the shares it offers.
func TestTheSustainedSearchNarrowsDownOnceItKeepsUp(t *testing.T) {
	for _, c := range []struct {
		capacity float64
		want     []float64
	}{
		{1, []float64{0.9}},                           // kept up at once: nothing higher is tried
		{0.8, []float64{0.9, 0.75, 0.825}},            // halfway between 0.75 (kept up) and 0.9
		{0.85, []float64{0.9, 0.75, 0.825}},           // the halfway attempt keeps up too, and ends it
		{0.5, []float64{0.9, 0.75, 0.6, 0.45, 0.525}}, // steps down, then halfway
		{0.1, []float64{0.9, 0.75, 0.6, 0.45, 0.3}},   // never kept up: down to the lowest share, then done
	} {
		var tried []sustainAttempt
		var got []float64
		for {
			share, ok := nextSustainShare(0.9, tried)
			if !ok {
				break
			}
			if len(got) > 10 {
				t.Fatalf("capacity %v: the search does not end: %v", c.capacity, got)
			}
			got = append(got, share)
			tried = append(tried, sustainAttempt{share: share, keptUp: share <= c.capacity+1e-9})
		}
		if len(got) != len(c.want) {
			t.Errorf("capacity %v: tried %v, want %v", c.capacity, got, c.want)
			continue
		}
		for i := range got {
			if d := got[i] - c.want[i]; d > 1e-9 || d < -1e-9 {
				t.Errorf("capacity %v: tried %v, want %v", c.capacity, got, c.want)
				break
			}
		}
	}
	kept := benchFigures{SustainedRate: 1600, SustainedKeptUp: true}
	behind := benchFigures{SustainedRate: 1600}
	for _, c := range []struct {
		up    bool
		rate  int
		f     benchFigures
		first bool
		want  bool
	}{
		{false, 2000, benchFigures{}, true, true}, // the first attempt is the figure until another is
		{true, 1800, kept, false, true},           // the halfway attempt kept up with more
		{false, 1800, kept, false, false},         // it fell behind: the lower rate kept up with stays
		{true, 1600, kept, false, false},          // no higher
		{false, 1200, behind, false, true},        // none kept up yet: the latest (lowest) attempt
		{true, 1200, behind, false, true},
	} {
		if got := supersedes(c.up, c.rate, c.f, c.first); got != c.want {
			t.Errorf("supersedes(%v, %d, %+v, %v) = %v, want %v", c.up, c.rate, c.f, c.first, got, c.want)
		}
	}
	if share, ok := nextSustainShare(0.3, nil); !ok || share != 0.3 {
		t.Errorf("nextSustainShare(0.3, nil) = %v, %v; want the lowest share, 0.3", share, ok)
	}
}

func TestTheStepsOfCompletedOrdersAreTimedInTheirOrder(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var r e2eResult
	for _, d := range [][2]time.Duration{{1, 10}, {3, 30}, {2, 20}} {
		r.addHops([]contracts.StatusChange{
			{Status: "PENDING", At: at},
			{Status: "VALIDATING", At: at.Add(d[0] * time.Millisecond)},
			{Status: "COMPLETED", At: at.Add((d[0] + d[1]) * time.Millisecond)},
		})
	}
	want := "PENDING→VALIDATING 2ms / 3ms, VALIDATING→COMPLETED 20ms / 30ms"
	if got := r.hopsLine(); got != want {
		t.Errorf("hopsLine() = %q, want %q", got, want)
	}
}

func TestTheSummaryMarksWhatThePreviousReleaseDidNotMeasure(t *testing.T) {
	cur := benchFigures{Noop: 1000, Ingest: 100, Backlog: 0, PacedRate: 1000, PacedP99Ms: 12, SustainedRate: 50, SustainedKeptUp: true,
		CPUPerOrderUs: 700, WriteCallsPerOrder: 30}
	prev := benchFigures{Noop: 900, Ingest: 90, Backlog: 0, PacedRate: 1000, PacedP99Ms: 15, CPUPerOrderUs: 800}
	var out strings.Builder
	printBenchSummary(&out, "empty", []benchFigures{cur}, &prev)
	lines := summaryRows(out.String())
	for name, want := range map[string]string{
		"POST /orders, durable (orders/s)":       "100 0.10 90 0.10",
		"backlog when ingest stopped (orders)":   "0 0", // a real zero, not a figure left out
		"paced create→COMPLETED p99 (ms)":        "12.0 15.0",
		"sustained phase, offered (orders/s)":    "50 0.05 -",
		"sustained phase, kept up (1 yes, 0 no)": "1 -",
		"server write calls per order":           "30.0 -",
	} {
		if got := lines[name]; got != want {
			t.Errorf("row %q = %q, want %q\n%s", name, got, want, out.String())
		}
	}
}

// summaryRows maps each row of a printed summary to its figures, separated by single spaces.
func summaryRows(summary string) map[string]string {
	rows := map[string]string{}
	for line := range strings.Lines(summary) {
		if name, rest, ok := strings.Cut(strings.TrimSpace(line), "  "); ok {
			rows[name] = strings.Join(strings.Fields(rest), " ")
		}
	}
	return rows
}

// TestTheSummaryMarksWhatOnlyTheFirstRoundMeasured: the API over a journal runs once a run, so the
// filled round shows no figure for it rather than a zero and its ratios.
func TestTheSummaryMarksWhatOnlyTheFirstRoundMeasured(t *testing.T) {
	empty := benchFigures{Noop: 1000, Ingest: 100, APIRef: 400, APIRefCPUPerOrderUs: 70}
	filled := benchFigures{Fill: 1000, Noop: 800, Ingest: 80}
	var out strings.Builder
	printBenchSummary(&out, "empty", []benchFigures{empty, filled}, nil)
	lines := summaryRows(out.String())
	for name, want := range map[string]string{
		"API over a journal (orders/s)":          "400 0.40 -",
		"API over a journal, CPU per order (µs)": "70 -",
		"POST /orders, durable (orders/s)":       "100 0.10 80 0.10 0.80",
	} {
		if got := lines[name]; got != want {
			t.Errorf("row %q = %q, want %q\n%s", name, got, want, out.String())
		}
	}
}
