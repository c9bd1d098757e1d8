package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/orderflow/orderflow/services/adapters/emulators"
	"github.com/orderflow/orderflow/services/lambdas"
)

// The goals.
const (
	sizeGoal   = 12 << 20 // bytes (12 MiB)
	initGoalMs = 30.0
)

// result is what was measured of one function.
type result struct {
	fn   string
	size int64
	// initMs is the emulator's INIT REPORT durationMs of each cold start; coldMinusWarmMs the first
	// invocation's round trip minus the second's; reportMs the REPORT line's Init Duration.
	initMs, coldMinusWarmMs, reportMs []float64
	// pkgInitMs is the clock time of all package initializers (GODEBUG=inittrace=1, one extra start),
	// slowestPkg and slowestPkgMs the slowest of them.
	pkgInitMs, slowestPkgMs float64
	slowestPkg              string
	// initCalls is how many AWS requests the traced start made; answer is the first cold invocation's.
	initCalls int
	answer    string
	err       error
}

// bench measures every function and prints the table and the summary to w.
func bench(w io.Writer, dist string, runs int) error {
	var fns []string
	for _, f := range lambdas.Functions {
		fns = append(fns, f.Name)
	}
	tmp, err := os.MkdirTemp("", "awsbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sizes, sizesFrom, err := arm64Sizes(dist, tmp, fns)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "awsbench: building the emulator and the functions for %s/%s…\n", runtime.GOOS, runtime.GOARCH)
	rie, bootstrap, err := hostBuild(tmp, fns)
	if err != nil {
		return err
	}
	stub := newStubAWS()
	defer stub.Close()
	home := filepath.Join(tmp, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		return err
	}
	// Round robin, so that a burst of load elsewhere on the machine does not land on one function alone.
	results := make([]result, len(lambdas.Functions))
	for i := range runs + 1 {
		traced := i == runs
		fmt.Fprintf(os.Stderr, "awsbench: cold start %d of %d of every function\n", i+1, runs+1)
		for j, f := range lambdas.Functions {
			r := &results[j]
			r.fn, r.size = f.Name, sizes[f.Name]
			if r.err == nil {
				r.err = measure(r, rie, bootstrap(f.Name), functionEnv(f, stub.URL, home), eventFor(f), stub, traced)
			}
		}
	}
	report(w, results, sizesFrom, runs)
	var failed []string
	for _, r := range results {
		if r.err != nil {
			failed = append(failed, r.fn)
			fmt.Fprintf(os.Stderr, "awsbench: %s: %v\n", r.fn, r.err)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not measure %s", strings.Join(failed, ", "))
	}
	return nil
}

// measure starts the function cold in a fresh emulator and adds what it measured to r. A traced start
// runs with GODEBUG=inittrace=1 and is sent a payload no handler can decode, so that no handler code runs
// and every AWS request it makes is one of init's; its time is not counted.
func measure(r *result, rie, bootstrap string, env []string, event []byte, stub *stubAWS, traced bool) error {
	if traced {
		env = append(slices.Clone(env), "GODEBUG=inittrace=1")
		event = []byte("{")
	}
	stub.before(time.Now())
	e, err := emulators.StartRIE(rie, bootstrap, env)
	if err != nil {
		return err
	}
	defer e.Stop()
	if err := coldStart(e, event, stub, r, traced); err != nil {
		return fmt.Errorf("%w\n%s", err, e.Output())
	}
	return nil
}

// coldStart invokes a fresh emulator twice and reads its log.
func coldStart(e *emulators.RIE, event []byte, stub *stubAWS, r *result, traced bool) error {
	status, body, cold, err := e.Invoke(event)
	if err != nil {
		return err
	}
	_, _, warm, err := e.Invoke(event)
	if err != nil {
		return err
	}
	done, ok := e.WaitLine("INIT RTDONE(", 5*time.Second)
	if !ok {
		return errors.New("no INIT RTDONE line in the emulator's output")
	}
	if !strings.Contains(done.Text, "status: success") {
		return fmt.Errorf("init failed: %s", done.Text)
	}
	if traced {
		r.initCalls = stub.before(time.Now())
		r.pkgInitMs, r.slowestPkg, r.slowestPkgMs = packageInit(e.Output())
		return nil
	}
	line, ok := e.WaitLine("INIT REPORT(durationMs: ", 5*time.Second)
	if !ok {
		return errors.New("no INIT REPORT line in the emulator's output")
	}
	ms, err := numberAfter(line.Text, "INIT REPORT(durationMs: ")
	if err != nil {
		return err
	}
	r.initMs = append(r.initMs, ms)
	r.coldMinusWarmMs = append(r.coldMinusWarmMs, float64(cold-warm)/float64(time.Millisecond))
	if line, ok := e.WaitLine("\tInit Duration: ", 5*time.Second); ok {
		if ms, err := numberAfter(line.Text, "\tInit Duration: "); err == nil {
			r.reportMs = append(r.reportMs, ms)
		}
	}
	if r.answer == "" {
		r.answer = fmt.Sprintf("%d %s", status, answerSummary(body))
	}
	return nil
}

// numberAfter parses the number that follows prefix in s.
func numberAfter(s, prefix string) (float64, error) {
	_, rest, ok := strings.Cut(s, prefix)
	if !ok {
		return 0, fmt.Errorf("no %q in %q", prefix, s)
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end < 0 {
		end = len(rest)
	}
	return strconv.ParseFloat(rest[:end], 64)
}

// packageInit sums the clock time of the package initializers in GODEBUG=inittrace=1 output
// ("init <package> @<start> ms, <clock> ms clock, …") and returns the slowest package. The emulator is a
// Go program too and traces its own initializers first, before it starts the bootstrap; each process's
// trace starts again near @0 ms, so only the last process's lines, the bootstrap's, are counted.
func packageInit(out string) (total float64, slowest string, slowestMs float64) {
	last := -1.0
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 7 || f[0] != "init" || f[5] != "ms" || f[6] != "clock," || !strings.HasPrefix(f[2], "@") {
			continue
		}
		at, err1 := strconv.ParseFloat(strings.TrimPrefix(f[2], "@"), 64)
		ms, err2 := strconv.ParseFloat(f[4], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if at < last { // a new process's trace
			total, slowest, slowestMs = 0, "", 0
		}
		last = at
		total += ms
		if ms > slowestMs {
			slowest, slowestMs = f[1], ms
		}
	}
	return total, slowest, slowestMs
}

// answerSummary shortens an invocation's answer for the table: a proxy response's status code, or the
// start of the payload.
func answerSummary(body []byte) string {
	var proxy struct {
		StatusCode int `json:"statusCode"`
	}
	if json.Unmarshal(body, &proxy) == nil && proxy.StatusCode != 0 {
		return fmt.Sprintf("(proxy %d)", proxy.StatusCode)
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 48 {
		s = s[:45] + "..."
	}
	return s
}

// eventFor is an event for f that does as little as the function allows: GET /healthz for the HTTP
// functions (no AWS call), an empty batch for the queue consumer, an event of a type no stage handles for
// the rule targets, and the schedule's event for the reconciler (one Query, answered empty by the stub).
func eventFor(f lambdas.Function) []byte {
	switch f.Trigger {
	case lambdas.HTTP:
		b, _ := json.Marshal(events.APIGatewayProxyRequest{
			Resource: "/{proxy+}", Path: "/healthz", HTTPMethod: "GET", PathParameters: map[string]string{"proxy": "healthz"},
			RequestContext: events.APIGatewayProxyRequestContext{Stage: "prod", HTTPMethod: "GET", Path: "/prod/healthz",
				Identity: events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7"}},
		})
		return b
	case lambdas.Queue:
		return []byte(`{"Records":[]}`)
	case lambdas.Schedule:
		return []byte(`{"version":"0","id":"awsbench","detail-type":"Scheduled Event","source":"aws.events",` +
			`"account":"123456789012","time":"2026-12-01T09:00:00Z","region":"us-east-1","resources":[],"detail":{}}`)
	}
	return []byte(`{"version":"0","id":"awsbench","detail-type":"awsbench.Noop","source":"awsbench",` +
		`"account":"123456789012","time":"2026-12-01T09:00:00Z","region":"us-east-1","resources":[],"detail":{}}`)
}

// functionEnv is the whole environment of the emulator and of f under it: f's variables with dummy
// values, a region, static dummy credentials, every endpoint at the stub and no shared config files.
func functionEnv(f lambdas.Function, endpoint, home string) []string {
	env := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIAORDERFLOWBENCH", "AWS_SECRET_ACCESS_KEY=orderflowbenchsecret",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=" + endpoint, "HOME=" + home,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_LAMBDA_FUNCTION_NAME=" + f.Name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(orDefault(f.MemoryMB, lambdas.DefaultMemoryMB)),
	}
	for _, name := range f.Env() {
		v := "orderflow-bench-" + strings.ToLower(strings.TrimSuffix(name, "_TABLE_NAME"))
		switch name {
		case lambdas.EnvOrderQueueURL:
			v = "https://sqs.us-east-1.amazonaws.com/123456789012/orderflow-bench-ingest"
		case lambdas.EnvSNSTopicARN:
			v = "arn:aws:sns:us-east-1:123456789012:orderflow-bench"
		case lambdas.EnvBedrockModelID:
			v = "anthropic.claude-bench-v1:0"
		}
		env = append(env, name+"="+v)
	}
	return env
}

// orDefault returns v, or def when v is zero.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "OVER"
}

// report prints the table and the one-line summary.
func report(w io.Writer, results []result, sizesFrom string, runs int) {
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "Lambda functions: arm64 bootstrap size and cold init under the Runtime Interface Emulator (sizes from %s)\n", sizesFrom)
	fmt.Fprintf(w, "init: median of %d cold starts of bootstraps built for %s/%s (%d CPUs, load average %s), each in a fresh emulator;\n",
		runs, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	fmt.Fprintln(w, "  the emulator's INIT REPORT durationMs, what Lambda reports as Init Duration (runtime init start to its first /next).")
	fmt.Fprintln(w, "  cold-warm: first invocation's round trip minus the second's (a cross-check). RIE REPORT: that line's Init Duration,")
	fmt.Fprintln(w, "  which this emulator takes around its asynchronous init hand-off only, so it says nothing about the function.")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "function\tarm64 size\t<= 12 MiB\tinit median (min-max)\t<= 30 ms\tcold-warm\tRIE REPORT\tpackage init (slowest)\tAWS calls in init\tfirst answer")
	var largest, slowest *result
	sizeMet, initMet := 0, 0
	for i := range results {
		r := &results[i]
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\tfailed: %s\t\t\t\t\t\t\n", r.fn, mib(r.size), verdict(r.size <= sizeGoal), strings.SplitN(r.err.Error(), "\n", 2)[0])
			continue
		}
		init := median(r.initMs)
		if r.size <= sizeGoal {
			sizeMet++
		}
		if init <= initGoalMs {
			initMet++
		}
		if largest == nil || r.size > largest.size {
			largest = r
		}
		if slowest == nil || init > median(slowest.initMs) {
			slowest = r
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f ms (%.1f-%.1f)\t%s\t%.1f ms\t%.2f ms\t%.1f ms (%s %.1f ms)\t%d\t%s\n",
			r.fn, mib(r.size), verdict(r.size <= sizeGoal), init, slices.Min(r.initMs), slices.Max(r.initMs), verdict(init <= initGoalMs),
			median(r.coldMinusWarmMs), median(r.reportMs), r.pkgInitMs, r.slowestPkg, r.slowestPkgMs, r.initCalls, r.answer)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	if largest == nil {
		fmt.Fprintln(w, "summary: no function could be measured")
		return
	}
	met := "goals met"
	if sizeMet < len(results) || initMet < len(results) {
		met = "goals NOT met"
	}
	fmt.Fprintf(w, "summary: largest binary %s %s (size goal <= 12 MiB met by %d of %d); slowest init %s %.1f ms (init goal <= 30 ms met by %d of %d); %s\n",
		largest.fn, mib(largest.size), sizeMet, len(results), slowest.fn, median(slowest.initMs), initMet, len(results), met)
}
