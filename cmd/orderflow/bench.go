package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/orderflow/orderflow/contracts"
)

// bench measures orderflow against a no-op JSON handler driven by the same client in the same run: it
// starts orderflow (on a temporary data directory, or the one --data-dir names) and the no-op server as
// child processes, drives both over loopback HTTP, and prints ingest (POST /orders), end to end
// (accepted → COMPLETED, from each order's history), the latency of a paced load, and the highest load
// just under the measured end-to-end rate that the pipeline keeps up with, each with its ratio to the
// no-op, and the server's CPU time, write calls and heap allocations per order. With --fill it then stops orderflow,
// gives its data directory a history of that many orders (orderflow fill), starts it again and
// measures the same, to show what a long history costs. The figures of the
// previous release (--baseline, kept in the repository) are printed beside, so a regression shows.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("orderflow bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := benchOptions{}
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each phase drives load")
	fs.IntVar(&o.conc, "concurrency", 64, "concurrent client connections")
	fs.DurationVar(&o.drain, "drain-timeout", 3*time.Minute, "how long to wait for accepted orders to finish")
	fs.StringVar(&o.profile, "server-cpuprofile", "", "write the server's CPU profile (of the first round) to this `file`")
	fs.IntVar(&o.paced, "paced-rate", 1000, "orders per second of the paced phase, which measures latency below saturation (0 skips it and the sustained phase)")
	fs.Float64Var(&o.sustain, "sustain", 0.9, "offer this share (0.3 to 1) of the measured end-to-end rate for a phase, and 0.15 less while the backlog grows, down to 0.3, then once halfway back up, to find a rate the pipeline keeps up with (0 skips it)")
	fill := fs.Int("fill", 0, "after the first round, add this many orders to the data directory and measure again (0: no second round)")
	baseline := fs.String("baseline", "docs/bench/previous-release.json", "figures of the previous release to print beside (a missing file prints none)")
	save := fs.String("save", "", "write this run's figures to this `file` (to make them the next baseline)")
	dataDir := fs.String("data-dir", "", "run on this data `directory`, kept afterwards (one a --fill or orderflow fill made, to measure it again without filling again; its orders must all have ended), instead of a new empty one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.sustain != 0 && (o.sustain < minSustainShare || o.sustain > 1) {
		return fmt.Errorf("--sustain %v: must be 0 or from %v to 1", o.sustain, minSustainShare)
	}
	if *dataDir != "" && *save != "" {
		// A saved baseline's first round is of an empty directory.
		return errors.New("--save measures a new data directory: leave out --data-dir")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	// The customers of a run's orders are named after its round (bench-000 …), and on a kept directory
	// after the run too, so that a run does not count the orders of the runs before it.
	dir, first, tag := *dataDir, "data directory "+*dataDir, "-"+strconv.FormatInt(time.Now().Unix(), 36)
	if dir == "" {
		tag = ""
		if dir, err = os.MkdirTemp("", "orderflow-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		first = "empty data directory"
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	var prev *benchFigures
	if b, err := os.ReadFile(*baseline); err == nil {
		prev = &benchFigures{}
		if err := json.Unmarshal(b, prev); err != nil {
			return fmt.Errorf("baseline %s: %w", *baseline, err)
		}
	}
	fmt.Fprintf(stdout, "orderflow bench: %d connections, %s per phase, %d CPUs\n", o.conc, o.duration, numCPU())

	fmt.Fprintf(stdout, "\n%s\n", first)
	firstRound := o
	firstRound.apiRef = true // once a run: it does not depend on the data directory
	empty, err := benchRound(ctx, self, dir, "bench"+tag, firstRound, stdout, stderr)
	if err != nil {
		return err
	}
	rounds := []benchFigures{empty}
	if *fill > 0 {
		fmt.Fprintf(stdout, "\nfilling the data directory with %d orders …\n", *fill)
		f := exec.CommandContext(ctx, self, "fill", "--data-dir", dir, "--orders", fmt.Sprint(*fill))
		f.Stdout, f.Stderr = stdout, stderr
		if err := f.Run(); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
		o.profile = ""
		fmt.Fprintf(stdout, "\nafter %d orders\n", *fill)
		filled, err := benchRound(ctx, self, dir, "filled"+tag, o, stdout, stderr)
		if err != nil {
			return err
		}
		filled.Fill = *fill
		rounds = append(rounds, filled)
	}
	label := "empty"
	if *dataDir != "" {
		label = "first"
	}
	printBenchSummary(stdout, label, rounds, prev)
	if *save != "" {
		empty.Measured = time.Now().UTC().Format(time.DateOnly)
		if len(rounds) > 1 {
			empty.Filled = &rounds[1]
		}
		b, _ := json.MarshalIndent(empty, "", "  ")
		if err := os.WriteFile(*save, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("save figures: %w", err)
		}
	}
	return nil
}

// benchAdminKey is the admin key of the server the bench starts.
const benchAdminKey = "bench-admin-key"

// benchOptions are the settings of a round.
type benchOptions struct {
	duration, drain time.Duration
	conc, paced     int
	sustain         float64
	profile         string
	// apiRef measures the API over a journal (apiref) after the no-op handler.
	apiRef bool
}

// benchAPIRef starts apiref, drives it as the no-op handler was and stops it: what POST /orders takes
// with the lightest durable store, to tell the embedded store's share of an order's cost from the API's.
func benchAPIRef(ctx context.Context, self string, client *http.Client, key, prefix string, o benchOptions, f *benchFigures, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "orderflow-apiref-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	addr := freeAddr()
	srv := exec.CommandContext(ctx, self, "apiref", "--addr", addr, "--dir", dir, "--api-keys", key)
	srv.Stderr = stderr
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start apiref: %w", err)
	}
	defer func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() }()
	if err := waitHealthy(ctx, client, "http://"+addr+"/healthz"); err != nil {
		return err
	}
	before, _ := processCPU(srv.Process)
	res := drive(ctx, client, "http://"+addr+"/orders", key, prefix+"-apiref", o.conc, o.duration, true)
	after, ok := processCPU(srv.Process)
	f.APIRef, f.APIRefP99Ms = res.rate(), ms(res.lat, 99)
	cpu := ""
	if ok && len(res.lat) > 0 {
		f.APIRefCPUPerOrderUs = float64((after - before).Microseconds()) / float64(len(res.lat))
		cpu = fmt.Sprintf("; its CPU %.0f µs per order", f.APIRefCPUPerOrderUs)
	}
	fmt.Fprintf(stdout, "  API over a journal      %9.0f orders/s  p50 %7s  p99 %7s  (%d accepted, %d errors; orders in memory, each fsynced to a journal, no pipeline%s)\n",
		res.rate(), res.pct(50), res.pct(99), len(res.lat), res.errors, cpu)
	return nil
}

// benchFigures are the figures of one round, as kept in the baseline file.
type benchFigures struct {
	// Measured is the date the figures were measured (in a saved file), and Note what they are.
	Measured string `json:"measured,omitempty"`
	Note     string `json:"note,omitempty"`
	// Fill is how many orders the data directory held before the round (0: empty).
	Fill int `json:"fill,omitempty"`
	// Noop is the no-op JSON handler's requests per second.
	Noop float64 `json:"noopPerSecond"`
	// APIRef is POST /orders per second of the API over a journal (apiref: orders in memory, each
	// creation fsynced to a journal, no pipeline), with its p99 and its CPU time per order (0: not
	// measured): the API's own cost, without the embedded store.
	APIRef              float64 `json:"apiJournalPerSecond,omitempty"`
	APIRefP99Ms         float64 `json:"apiJournalP99Ms,omitempty"`
	APIRefCPUPerOrderUs float64 `json:"apiJournalCpuPerOrderUs,omitempty"`
	// Ingest is durable POST /orders per second, with its latency.
	Ingest      float64 `json:"ingestPerSecond"`
	IngestP50Ms float64 `json:"ingestP50Ms"`
	IngestP99Ms float64 `json:"ingestP99Ms"`
	// Backlog is how many accepted orders had not ended when the saturating ingest phase did (-1: not
	// measured).
	Backlog int `json:"backlogAtEndOfIngest"`
	// EndToEnd is orders reaching COMPLETED per second, from the first accepted to the last completed.
	EndToEnd float64 `json:"endToEndPerSecond"`
	// PacedRate is the offered load of the paced phase, and PacedP50Ms/PacedP99Ms its create→COMPLETED.
	PacedRate  int     `json:"pacedRate,omitempty"`
	PacedP50Ms float64 `json:"pacedP50Ms,omitempty"`
	PacedP99Ms float64 `json:"pacedP99Ms,omitempty"`
	// SustainedRate is the load offered by the sustained phase (a share of EndToEnd, 0: not run; the
	// highest share tried that the pipeline kept up with, SustainedKeptUp, or the lowest tried if it
	// kept up with none), SustainedCompleted the orders per second that ended meanwhile, SustainedBacklog
	// the orders not ended when it stopped, and SustainedP50Ms/SustainedP99Ms its create→COMPLETED.
	SustainedRate      int     `json:"sustainedRate,omitempty"`
	SustainedKeptUp    bool    `json:"sustainedKeptUp,omitempty"`
	SustainedCompleted float64 `json:"sustainedEndedPerSecond,omitempty"`
	SustainedBacklog   int     `json:"sustainedBacklog"`
	SustainedP50Ms     float64 `json:"sustainedP50Ms,omitempty"`
	SustainedP99Ms     float64 `json:"sustainedP99Ms,omitempty"`
	// CPUPerOrderUs is the server's CPU time (user and system) over the round, per order it took in,
	// in microseconds: steadier than the rates on a shared machine (0: not measured).
	CPUPerOrderUs float64 `json:"cpuPerOrderUs,omitempty"`
	// WriteCallsPerOrder and WriteKiBPerOrder are the server's write system calls and the bytes they
	// wrote (files and sockets) over the round, per order it took in: counts, not timings, so they do
	// not vary with the machine's other load (0: not measured).
	WriteCallsPerOrder float64 `json:"writeCallsPerOrder,omitempty"`
	WriteKiBPerOrder   float64 `json:"writeKiBPerOrder,omitempty"`
	// AllocsPerOrder and AllocKiBPerOrder are the server's heap allocations and the bytes they took over
	// the round, per order it took in (the Go runtime's counters, from its /metrics): counts too, and
	// what the garbage collector's share of the CPU follows (0: not measured).
	AllocsPerOrder   float64 `json:"allocsPerOrder,omitempty"`
	AllocKiBPerOrder float64 `json:"allocKiBPerOrder,omitempty"`
	// Filled are the figures after the fill, in a saved file.
	Filled *benchFigures `json:"filled,omitempty"`
}

// benchRound starts orderflow on dir and the no-op server, drives them and returns the figures; the
// customers of its orders are named prefix-000 ….
func benchRound(ctx context.Context, self, dir, prefix string, o benchOptions, stdout, stderr io.Writer) (benchFigures, error) {
	ordersAddr, noopAddr := freeAddr(), freeAddr()
	const key, adminKey = "bench-client-key", benchAdminKey
	server := exec.CommandContext(ctx, self, "serve", "--addr", ordersAddr, "--data-dir", dir, "--api-keys", key,
		"--admin-keys", adminKey, "--rate-limit", "1e9", "--rate-burst", "1000000000", "--log-level", "error",
		"--cpuprofile", o.profile)
	server.Stdout, server.Stderr = io.Discard, stderr
	noopSrv := exec.CommandContext(ctx, self, "noop", "--addr", noopAddr)
	noopSrv.Stderr = stderr
	var f benchFigures
	orders := 0                 // taken in by the server this round
	var cpuBefore time.Duration // the server's CPU before its first order (start-up, migrations)
	for _, c := range []*exec.Cmd{server, noopSrv} {
		if err := c.Start(); err != nil {
			return f, fmt.Errorf("start %s: %w", c.Args[1], err)
		}
		defer func(c *exec.Cmd) { _ = c.Process.Signal(os.Interrupt); _ = c.Wait() }(c)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: o.conc * 2, MaxIdleConnsPerHost: o.conc * 2, MaxConnsPerHost: o.conc * 2}, Timeout: 30 * time.Second}
	for _, addr := range []string{ordersAddr, noopAddr} {
		if err := waitHealthy(ctx, client, "http://"+addr+"/healthz"); err != nil {
			return f, err
		}
	}
	base := "http://" + ordersAddr
	var ioBefore ioCounters
	var heapBefore heapCounters
	// cpuPerOrder prints what the round's orders cost the server: CPU time, writes and allocations.
	cpuPerOrder := func() {
		if cpu, ok := processCPU(server.Process); ok && orders > 0 {
			f.CPUPerOrderUs = float64((cpu - cpuBefore).Microseconds()) / float64(orders)
			fmt.Fprintf(stdout, "  server CPU              %9.0f µs per order (user and system, %d orders)\n", f.CPUPerOrderUs, orders)
		}
		if w, ok := processIO(server.Process); ok && orders > 0 {
			f.WriteCallsPerOrder = float64(w.calls-ioBefore.calls) / float64(orders)
			f.WriteKiBPerOrder = float64(w.bytes-ioBefore.bytes) / 1024 / float64(orders)
			fmt.Fprintf(stdout, "  server writes           %9.1f calls per order, %.1f KiB per order (files and sockets, the bench's reads of the results included)\n", f.WriteCallsPerOrder, f.WriteKiBPerOrder)
		}
		if h, err := readHeapCounters(ctx, client, base, key); err == nil && orders > 0 && heapBefore.allocs > 0 {
			f.AllocsPerOrder = (h.allocs - heapBefore.allocs) / float64(orders)
			f.AllocKiBPerOrder = (h.bytes - heapBefore.bytes) / 1024 / float64(orders)
			fmt.Fprintf(stdout, "  server allocations      %9.0f per order, %.1f KiB per order (the bench's reads of the results included)\n", f.AllocsPerOrder, f.AllocKiBPerOrder)
		}
	}

	noopCPU := phaseCPU(noopSrv.Process)
	noopRes := drive(ctx, client, "http://"+noopAddr+"/orders", key, prefix, o.conc, o.duration, false)
	f.Noop = noopRes.rate()
	fmt.Fprintf(stdout, "  no-op JSON handler      %9.0f req/s     p50 %7s  p99 %7s  (%d requests, %d errors)%s\n",
		noopRes.rate(), noopRes.pct(50), noopRes.pct(99), len(noopRes.lat), noopRes.errors, noopCPU(len(noopRes.lat)))
	if o.apiRef {
		if err := benchAPIRef(ctx, self, client, key, prefix, o, &f, stdout, stderr); err != nil {
			return f, err
		}
	}

	cpuBefore, _ = processCPU(server.Process)
	ioBefore, _ = processIO(server.Process)
	heapBefore, _ = readHeapCounters(ctx, client, base, key)
	ordersRes := drive(ctx, client, base+"/orders", key, prefix, o.conc, o.duration, true)
	ended, err := terminalCount(ctx, client, base, key)
	if err != nil {
		return f, err
	}
	f.Ingest, f.IngestP50Ms, f.IngestP99Ms, f.Backlog = ordersRes.rate(), ms(ordersRes.lat, 50), ms(ordersRes.lat, 99), len(ordersRes.lat)-ended
	fmt.Fprintf(stdout, "  POST /orders (durable)  %9.0f orders/s  p50 %7s  p99 %7s  (%d accepted, %d errors; %d not yet ended)\n",
		ordersRes.rate(), ordersRes.pct(50), ordersRes.pct(99), len(ordersRes.lat), ordersRes.errors, f.Backlog)

	orders = len(ordersRes.lat)
	e2e, err := endToEnd(ctx, client, base, key, prefix, o.conc, len(ordersRes.lat), o.drain)
	if err != nil {
		return f, err
	}
	f.EndToEnd = e2e.rate
	fmt.Fprintf(stdout, "  end to end → COMPLETED  %9.0f orders/s  p50 %7s  p99 %7s  (%d completed, %d other; latency includes the backlog of the saturating phase)\n",
		e2e.rate, e2e.pct(50), e2e.pct(99), e2e.completed, e2e.other)
	if o.paced <= 0 {
		cpuPerOrder()
		return f, nil
	}
	pacedStart := time.Now()
	pacedCPU := phaseCPU(server.Process)
	sent, failed := drivePaced(ctx, client, base+"/orders", key, prefix+"-paced", o.paced, o.duration)
	offered := float64(sent) / time.Since(pacedStart).Seconds()
	orders += sent - failed
	// Only the accepted orders can finish.
	p, err := endToEnd(ctx, client, base, key, prefix+"-paced", pacedCustomers, len(ordersRes.lat)+sent-failed, o.drain)
	if err != nil {
		return f, err
	}
	f.PacedRate, f.PacedP50Ms, f.PacedP99Ms = o.paced, ms(p.lat, 50), ms(p.lat, 99)
	fmt.Fprintf(stdout, "  paced at %d orders/s     %9d sent      p50 %7s  p99 %7s  create → COMPLETED (%d completed, %d errors; %.0f orders/s offered)%s\n",
		o.paced, sent, p.pct(50), p.pct(99), p.completed, failed, offered, pacedCPU(sent-failed))
	fmt.Fprintf(stdout, "    each step, p50 / p99: %s\n", p.hopsLine())
	if offered < 0.9*float64(o.paced) {
		fmt.Fprintf(stdout, "  (the paced phase offered only %.0f of the %d orders/s asked for: the client could not keep the pace on this machine, so its latency is of a lighter load)\n", offered, o.paced)
	}
	accepted := len(ordersRes.lat) + sent - failed
	// The rate a saturating burst drains at need not be one the pipeline keeps up with while it also
	// takes orders in: offer a share of it, a smaller one each time the backlog grows, and once one is
	// kept up with after others were not, one halfway between.
	var tried []sustainAttempt
	triedRates := map[int]bool{}
	for i := 0; ; i++ {
		share, ok := nextSustainShare(o.sustain, tried)
		rate := sustainRate(f.EndToEnd, share)
		if !ok || rate <= 0 || triedRates[rate] { // halfway can round to a rate already tried
			break
		}
		triedRates[rate] = true
		attemptCPU := phaseCPU(server.Process)
		s, err := sustained(ctx, client, base, key, fmt.Sprintf("%s-sustained%d", prefix, i), rate, accepted, o)
		if err != nil {
			return f, err
		}
		orders += s.accepted
		accepted += s.accepted
		up, verdict := s.keptUp(rate)
		tried = append(tried, sustainAttempt{share: share, keptUp: up})
		fmt.Fprintf(stdout, "  sustained at %d orders/s  %9.0f orders/s offered, %.0f ended meanwhile; %d not ended halfway, %d when it stopped (%s); create → COMPLETED p50 %s  p99 %s%s\n",
			rate, s.offered, s.endedRate, s.backlogHalfway, s.backlog, verdict, s.e2e.pct(50), s.e2e.pct(99), attemptCPU(s.accepted))
		fmt.Fprintf(stdout, "    each step, p50 / p99: %s\n", s.e2e.hopsLine())
		if !supersedes(up, rate, f, i == 0) {
			continue
		}
		f.SustainedRate, f.SustainedKeptUp, f.SustainedCompleted, f.SustainedBacklog = rate, up, s.endedRate, s.backlog
		f.SustainedP50Ms, f.SustainedP99Ms = ms(s.e2e.lat, 50), ms(s.e2e.lat, 99)
	}
	cpuPerOrder()
	return f, nil
}

// The sustained phase first offers benchOptions.sustain of the end-to-end rate, then sustainStep less each
// time the backlog grew, down to minSustainShare (see nextSustainShare).
const (
	sustainStep     = 0.15
	minSustainShare = 0.3
)

// sustainAttempt is one attempt of the sustained phase: the share of the end-to-end rate it offered and
// whether the pipeline kept up with it.
type sustainAttempt struct {
	share  float64
	keptUp bool
}

// nextSustainShare returns the share of the end-to-end rate the sustained phase tries after the attempts
// so far, or false when it is done. It starts at first and goes down by sustainStep while the pipeline
// falls behind, to minSustainShare at the lowest. When an attempt keeps up after others did not, it tries
// once more halfway between it and the last one that fell behind, so that the figure is within half a
// step of the rate the pipeline keeps up with; then it is done, whatever that attempt shows. An attempt
// that keeps up with the first share ends it at once.
func nextSustainShare(first float64, tried []sustainAttempt) (float64, bool) {
	n := len(tried)
	if n == 0 {
		return first, first > minSustainShare-1e-9
	}
	last := tried[n-1]
	keptUpBefore := slices.ContainsFunc(tried[:n-1], func(a sustainAttempt) bool { return a.keptUp })
	switch {
	case keptUpBefore: // the halfway attempt is done
		return 0, false
	case last.keptUp && n == 1:
		return 0, false
	case last.keptUp:
		return (last.share + tried[n-2].share) / 2, true
	}
	next := last.share - sustainStep
	return next, next > minSustainShare-1e-9
}

// supersedes says whether a sustained attempt at rate, which the pipeline kept up with or not (up),
// becomes the round's sustained figure instead of the one in f: the first attempt does, and then the
// highest rate kept up with, or while none was, the latest attempt.
func supersedes(up bool, rate int, f benchFigures, first bool) bool {
	return first || !f.SustainedKeptUp || (up && rate > f.SustainedRate)
}

// sustainRate is the load of the sustained phase: share of the measured end-to-end rate, rounded down
// to a multiple of 50 orders per second (0 when the phase is skipped or there is nothing to offer).
func sustainRate(endToEnd, share float64) int {
	if share <= 0 || endToEnd <= 0 {
		return 0
	}
	return int(endToEnd*share) / 50 * 50
}

// sustainedResult is what one attempt of the sustained phase measured.
type sustainedResult struct {
	// accepted is how many orders it took in; backlogHalfway and backlog how many orders (of every
	// phase) had not ended halfway through it and when it stopped.
	accepted, backlogHalfway, backlog int
	// offered is the load the client managed to offer, endedRate the orders per second that ended.
	offered, endedRate float64
	e2e                e2eResult
}

// keptUp says whether the pipeline kept up with an attempt at rate, and why: the client offered at
// least 0.9 of the rate, the backlog did not grow in the attempt's second half by more than a quarter
// of a second's worth of the load (what the orders in flight vary by), and it was not more than a
// second's worth at the end. A pipeline that falls behind by a tenth of the load grows it by half a
// second's worth in a 10 s attempt; one that fell behind in the first half only and then held its
// backlog would keep its orders waiting for seconds, which is not keeping up.
func (r sustainedResult) keptUp(rate int) (bool, string) {
	switch {
	case r.offered < 0.9*float64(rate):
		return false, "the client could not offer it"
	case r.backlog > r.backlogHalfway+rate/4:
		return false, "the backlog grew"
	case r.backlog > rate:
		return false, "a backlog of more than a second's orders stood"
	}
	return true, "kept up"
}

// sustained offers rate orders per second for the phase's duration, in two halves (open loop, as the
// paced phase), and reports how many orders ended meanwhile and how many had not halfway and when it
// stopped; then it waits for them all to end. before is how many orders the server took in before it,
// all of them ended.
func sustained(ctx context.Context, c *http.Client, base, key, prefix string, rate, before int, o benchOptions) (sustainedResult, error) {
	var r sustainedResult
	endedBefore, err := terminalCount(ctx, c, base, key)
	if err != nil {
		return r, err
	}
	start := time.Now()
	sent, failed := drivePaced(ctx, c, base+"/orders", key, prefix, rate, o.duration/2)
	endedHalfway, err := terminalCount(ctx, c, base, key)
	if err != nil {
		return r, err
	}
	r.backlogHalfway = before + sent - failed - endedHalfway
	sent2, failed2 := drivePaced(ctx, c, base+"/orders", key, prefix, rate, o.duration-o.duration/2)
	elapsed := time.Since(start)
	endedAfter, err := terminalCount(ctx, c, base, key)
	if err != nil {
		return r, err
	}
	sent, failed = sent+sent2, failed+failed2
	r.accepted = sent - failed
	r.backlog = before + r.accepted - endedAfter
	r.offered = float64(sent) / elapsed.Seconds()
	r.endedRate = float64(endedAfter-endedBefore) / elapsed.Seconds()
	r.e2e, err = endToEnd(ctx, c, base, key, prefix, pacedCustomers, before+r.accepted, o.drain)
	return r, err
}

// ms is the pth percentile of sorted latencies in milliseconds (0 for none).
func ms(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(max((len(sorted)*p+99)/100-1, 0), len(sorted)-1)
	return float64(sorted[i]) / float64(time.Millisecond)
}

// printBenchSummary prints the figures with their ratios to the no-op of their round, the filled round's
// share of the empty one, and the previous release's figures.
func printBenchSummary(w io.Writer, label string, rounds []benchFigures, prev *benchFigures) {
	empty := rounds[0]
	ratio := func(v, noop float64) string {
		if noop <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", v/noop)
	}
	fmt.Fprintf(w, "\nsummary (ratios are to the no-op handler of the same round)\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	header := "\t" + label + "\tratio\t"
	if len(rounds) > 1 {
		header += fmt.Sprintf("after %d\tratio\tof %s\t", rounds[1].Fill, label)
	}
	if prev != nil {
		header += "previous release\tratio\t"
	}
	fmt.Fprintln(tw, header)
	num := func(format string, v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf(format, v)
	}
	// has says whether saved figures hold a row's figure (nil: always): the previous release may not have
	// measured what a later one added.
	row := func(name string, get func(benchFigures) float64, ratios bool, format string, has func(benchFigures) bool) {
		line := name + "\t" + num(format, get(empty)) + "\t"
		if ratios {
			line += ratio(get(empty), empty.Noop)
		}
		line += "\t"
		switch f := rounds[len(rounds)-1]; {
		case len(rounds) == 1:
		case has != nil && !has(f): // measured once a run, in its first round
			line += "-\t\t\t"
		default:
			line += num(format, get(f)) + "\t"
			if ratios {
				line += ratio(get(f), f.Noop)
			}
			line += "\t" + ratio(get(f), get(empty)) + "\t"
		}
		switch {
		case prev != nil && has != nil && !has(*prev):
			line += "-\t\t"
		case prev != nil:
			line += num(format, get(*prev)) + "\t"
			if ratios {
				line += ratio(get(*prev), prev.Noop)
			}
			line += "\t"
		}
		fmt.Fprintln(tw, line)
	}
	row("no-op JSON handler (req/s)", func(f benchFigures) float64 { return f.Noop }, false, "%.0f", nil)
	row("API over a journal (orders/s)", func(f benchFigures) float64 { return f.APIRef }, true, "%.0f", hasAPIRef)
	row("API over a journal, CPU per order (µs)", func(f benchFigures) float64 { return f.APIRefCPUPerOrderUs }, false, "%.0f", hasAPIRef)
	row("POST /orders, durable (orders/s)", func(f benchFigures) float64 { return f.Ingest }, true, "%.0f", nil)
	row("POST /orders p99 (ms)", func(f benchFigures) float64 { return f.IngestP99Ms }, false, "%.1f", nil)
	row("end to end → COMPLETED (orders/s)", func(f benchFigures) float64 { return f.EndToEnd }, true, "%.0f", nil)
	row("backlog when ingest stopped (orders)", func(f benchFigures) float64 { return float64(f.Backlog) }, false, "%.0f", nil)
	row("server CPU per order (µs)", func(f benchFigures) float64 { return f.CPUPerOrderUs }, false, "%.0f", hasCPU)
	row("server write calls per order", func(f benchFigures) float64 { return f.WriteCallsPerOrder }, false, "%.1f", hasWrites)
	row("server KiB written per order", func(f benchFigures) float64 { return f.WriteKiBPerOrder }, false, "%.1f", hasWrites)
	row("server allocations per order", func(f benchFigures) float64 { return f.AllocsPerOrder }, false, "%.0f", hasAllocs)
	row("server KiB allocated per order", func(f benchFigures) float64 { return f.AllocKiBPerOrder }, false, "%.1f", hasAllocs)
	row("paced create→COMPLETED p50 (ms)", func(f benchFigures) float64 { return f.PacedP50Ms }, false, "%.1f", hasPaced)
	row("paced create→COMPLETED p99 (ms)", func(f benchFigures) float64 { return f.PacedP99Ms }, false, "%.1f", hasPaced)
	row("sustained phase, offered (orders/s)", func(f benchFigures) float64 { return float64(f.SustainedRate) }, true, "%.0f", hasSustained)
	row("sustained phase, kept up (1 yes, 0 no)", func(f benchFigures) float64 { return b2f(f.SustainedKeptUp) }, false, "%.0f", hasSustained)
	row("sustained phase, ended (orders/s)", func(f benchFigures) float64 { return f.SustainedCompleted }, true, "%.0f", hasSustained)
	row("sustained phase, not ended at its end", func(f benchFigures) float64 { return float64(f.SustainedBacklog) }, false, "%.0f", hasSustained)
	row("sustained create→COMPLETED p99 (ms)", func(f benchFigures) float64 { return f.SustainedP99Ms }, false, "%.1f", hasSustained)
	_ = tw.Flush()
}

// What the saved figures of a release hold: a later release may measure more.
func hasAPIRef(f benchFigures) bool    { return f.APIRef > 0 }
func hasCPU(f benchFigures) bool       { return f.CPUPerOrderUs > 0 }
func hasWrites(f benchFigures) bool    { return f.WriteCallsPerOrder > 0 }
func hasAllocs(f benchFigures) bool    { return f.AllocsPerOrder > 0 }
func hasPaced(f benchFigures) bool     { return f.PacedRate > 0 }
func hasSustained(f benchFigures) bool { return f.SustainedRate > 0 }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// pacedCustomers spreads the paced phase's orders over this many customers.
const pacedCustomers = 16

// drivePaced sends orders at a fixed rate, whatever the responses take (an open-loop load), so that
// latency is measured without the client slowing down to match the server.
func drivePaced(ctx context.Context, c *http.Client, url, key, prefix string, rate int, d time.Duration) (sent, failed int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	stop := time.After(d)
	sem := make(chan struct{}, 512)
	slot := 0 // the orders the rate has asked for so far, sent or let go
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return sent, failed
		case <-stop:
			wg.Wait()
			return sent, failed
		case <-tick.C:
		}
		// Send what the rate asks for by now: a tick that came late (the ticker drops the ticks it
		// could not deliver) is made up for, so the load offered is the rate, not what the client kept up.
		// At most 10 ms' worth at once: after a longer stall of the client the rest is let go (and the
		// rate offered falls short), rather than sent in one burst that would measure the burst.
		due := int(time.Since(start).Seconds() * float64(rate))
		if most := max(rate/100, 1); due-slot > most {
			slot = due - most
		}
		for ; slot < due; slot++ {
			sem <- struct{}{}
			wg.Add(1)
			body := []byte(strings.Replace(benchOrder, "customer123", fmt.Sprintf("%s-%03d", prefix, sent%pacedCustomers), 1))
			sent++
			go func() {
				defer func() { <-sem; wg.Done() }()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", key)
				resp, err := c.Do(req)
				ok := err == nil && resp.StatusCode == http.StatusCreated
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if !ok {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}()
		}
	}
}

func numCPU() int { return runtime.NumCPU() }

// processCPU is the CPU time (user and system) p has used so far, read from /proc; false where there is
// no /proc or p has ended.
func processCPU(p *os.Process) (time.Duration, bool) {
	if p == nil {
		return 0, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid))
	if err != nil {
		return 0, false
	}
	// The command (field 2) is in parentheses and may hold spaces: count the fields after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return 0, false
	}
	var utime, stime int64
	if _, err := fmt.Sscan(fields[11], &utime); err != nil {
		return 0, false
	}
	if _, err := fmt.Sscan(fields[12], &stime); err != nil {
		return 0, false
	}
	const ticksPerSecond = 100 // USER_HZ, 100 on every Linux build Go supports
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, true
}

// phaseCPU starts timing p's CPU for a phase; the function it returns says, once the phase's n orders
// ended, what they cost it per order ("" where /proc cannot tell).
func phaseCPU(p *os.Process) func(n int) string {
	before, ok := processCPU(p)
	return func(n int) string {
		after, ok2 := processCPU(p)
		if !ok || !ok2 || n <= 0 {
			return ""
		}
		return fmt.Sprintf("; server CPU %.0f µs per order", float64((after-before).Microseconds())/float64(n))
	}
}

// ioCounters are a process's write system calls and the bytes they wrote.
type ioCounters struct{ calls, bytes int64 }

// processIO reads p's write counters from /proc (syscw and wchar: files, pipes and sockets alike); false
// where there is no /proc or p has ended.
func processIO(p *os.Process) (ioCounters, bool) {
	if p == nil {
		return ioCounters{}, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", p.Pid))
	if err != nil {
		return ioCounters{}, false
	}
	return parseProcIO(b)
}

// parseProcIO reads syscw and wchar from the text of /proc/<pid>/io.
func parseProcIO(b []byte) (ioCounters, bool) {
	var c ioCounters
	found := 0
	for line := range strings.Lines(string(b)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "syscw":
			dst = &c.calls
		case "wchar":
			dst = &c.bytes
		default:
			continue
		}
		if _, err := fmt.Sscan(value, dst); err != nil {
			return ioCounters{}, false
		}
		found++
	}
	return c, found == 2
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:18080"
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(ctx context.Context, c *http.Client, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not become healthy", url)
}

type result struct {
	lat     []time.Duration
	errors  int
	elapsed time.Duration
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.lat)) / r.elapsed.Seconds()
}

func (r result) pct(p int) string { return percentile(r.lat, p) }

func percentile(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := (len(sorted)*p + 99) / 100
	i = min(max(i-1, 0), len(sorted)-1)
	return sorted[i].Round(10 * time.Microsecond).String()
}

func benchBody(prefix string, worker int) []byte {
	return []byte(strings.Replace(benchOrder, "customer123", fmt.Sprintf("%s-%03d", prefix, worker), 1))
}

// benchOrder is the seed example order without a phone, so the notifier texts the operations number.
const benchOrder = `{"customerId":"customer123","items":[{"productId":"LAPTOP001","name":"Gaming Laptop","quantity":1,"price":1299.99},{"productId":"CABLE001","name":"USB-C Cable 2 m","quantity":2,"price":12.99}],"totalAmount":1325.97,"customerEmail":"customer@example.com","shippingAddress":{"street":"123 Main St","city":"Anytown","state":"CA","zipCode":"12345","country":"USA"}}`

// drive posts the bench order from conc workers for d and collects the latencies of successful requests.
func drive(ctx context.Context, c *http.Client, url, key, prefix string, conc int, d time.Duration, want201 bool) result {
	var mu sync.Mutex
	var res result
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := benchBody(prefix, w)
			var lat []time.Duration
			errs := 0
			for time.Now().Before(stop) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", key)
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					errs++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ok := resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated
				if want201 {
					ok = resp.StatusCode == http.StatusCreated
				}
				if !ok {
					errs++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.lat)
	return res
}

type e2eResult struct {
	rate             float64
	lat              []time.Duration
	completed, other int
	// hops are the times of each step of the completed orders' histories ("PENDING→VALIDATING"), and
	// hopOrder the steps in the order they first came.
	hops     map[string][]time.Duration
	hopOrder []string
}

// addHops records the steps of a completed order's history.
func (r *e2eResult) addHops(h []contracts.StatusChange) {
	if r.hops == nil {
		r.hops = map[string][]time.Duration{}
	}
	for i := 1; i < len(h); i++ {
		name := h[i-1].Status + "→" + h[i].Status
		if _, ok := r.hops[name]; !ok {
			r.hopOrder = append(r.hopOrder, name)
		}
		r.hops[name] = append(r.hops[name], h[i].At.Sub(h[i-1].At))
	}
}

// hopsLine says what each step of the pipeline took at the median and at p99, so that a slow tail can
// be traced to a stage.
func (r e2eResult) hopsLine() string {
	parts := make([]string, 0, len(r.hopOrder))
	for _, name := range r.hopOrder {
		h := r.hops[name]
		slices.Sort(h)
		parts = append(parts, name+" "+percentile(h, 50)+" / "+percentile(h, 99))
	}
	return strings.Join(parts, ", ")
}

func (r e2eResult) pct(p int) string { return percentile(r.lat, p) }

// endToEnd waits until accepted orders in all have ended, then reads the orders of the customers
// customerPrefix-000 … and computes create-to-completed from each order's history.
func endToEnd(ctx context.Context, c *http.Client, base, key, customerPrefix string, customers, accepted int, timeout time.Duration) (e2eResult, error) {
	deadline := time.Now().Add(timeout)
	for {
		done, err := terminalCount(ctx, c, base, key)
		if err != nil {
			return e2eResult{}, err
		}
		if done >= accepted {
			break
		}
		if time.Now().After(deadline) {
			return e2eResult{}, fmt.Errorf("only %d of %d orders finished within %s (the server's counts: %s)", done, accepted, timeout, liveCounts(ctx, c, base))
		}
		time.Sleep(250 * time.Millisecond)
	}
	var res e2eResult
	var first, last time.Time
	for w := range customers {
		cursor := ""
		for {
			url := fmt.Sprintf("%s/orders?customerId=%s-%03d&limit=100", base, customerPrefix, w)
			if cursor != "" {
				url += "&cursor=" + cursor
			}
			var page contracts.OrderList
			if err := getJSON(ctx, c, url, key, &page); err != nil {
				return e2eResult{}, err
			}
			for _, o := range page.Orders {
				if o.Status != "COMPLETED" || len(o.History) == 0 {
					res.other++
					continue
				}
				created, done := o.History[0].At, o.History[len(o.History)-1].At
				res.lat = append(res.lat, done.Sub(created))
				res.addHops(o.History)
				res.completed++
				if first.IsZero() || created.Before(first) {
					first = created
				}
				if done.After(last) {
					last = done
				}
			}
			if page.NextCursor == nil || *page.NextCursor == "" {
				break
			}
			cursor = *page.NextCursor
		}
	}
	slices.Sort(res.lat)
	if span := last.Sub(first); span > 0 {
		res.rate = float64(res.completed) / span.Seconds()
	}
	return res, nil
}

// liveCounts reads the orders per status and the dead letters from the console's live endpoint, to say
// where unfinished orders are.
func liveCounts(ctx context.Context, c *http.Client, base string) string {
	var snap contracts.LiveSnapshot
	if err := getJSON(ctx, c, base+"/admin/live", benchAdminKey, &snap); err != nil {
		return err.Error()
	}
	var parts []string
	for _, s := range snap.Statuses {
		parts = append(parts, fmt.Sprintf("%s %d", s.Status, s.Count))
	}
	return strings.Join(parts, ", ") + fmt.Sprintf("; %d dead letters", snap.DeadLetters)
}

// terminalCount reads how many orders ended, from the server's own metrics.
func terminalCount(ctx context.Context, c *http.Client, base, key string) (int, error) {
	m, err := serverMetrics(ctx, c, base, key)
	return int(m["orderflow_orders_completed_total"] + m["orderflow_orders_failed_total"]), err
}

// heapCounters are the Go runtime's cumulative heap allocations of a process and their bytes.
type heapCounters struct{ allocs, bytes float64 }

// readHeapCounters reads the server's heap allocation counters from its metrics.
func readHeapCounters(ctx context.Context, c *http.Client, base, key string) (heapCounters, error) {
	m, err := serverMetrics(ctx, c, base, key)
	return heapCounters{allocs: m["go_memstats_mallocs_total"], bytes: m["go_memstats_alloc_bytes_total"]}, err
}

// serverMetrics reads the server's /metrics: each metric's samples summed over their labels.
func serverMetrics(ctx context.Context, c *http.Client, base, key string) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	req.Header.Set("X-API-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics sums the samples of each metric of a Prometheus text exposition over their labels;
// comments and lines it cannot read are skipped.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		sp := strings.LastIndexByte(line, ' ')
		if line == "" || line[0] == '#' || sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name := line[:sp]
		if i := strings.IndexAny(name, "{ "); i >= 0 {
			name = name[:i]
		}
		m[name] += v
	}
	return m, sc.Err()
}

func getJSON(ctx context.Context, c *http.Client, url, key string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("X-API-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// noop serves a JSON handler that does no work beyond decoding the request and encoding a reply: the
// baseline that bench compares ingest with.
func noop(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("orderflow noop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var req contracts.CreateOrderRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			http.Error(w, `{"error":{"code":"INVALID_JSON","message":"bad json"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"customerId": req.CustomerID, "status": "PENDING"})
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
