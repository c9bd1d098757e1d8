// Package lambda_test checks the Lambda entrypoints in cmd/lambda from the outside: what their import
// graphs hold when built for Lambda (linux/arm64, no cgo), and how the built bootstraps behave when the
// AWS Lambda Runtime Interface Emulator runs them and is sent real invocations over its HTTP API.
package lambda_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/orderflow/orderflow/services/adapters/emulators"
	"github.com/orderflow/orderflow/services/lambdas"
)

// rieCommand is the emulator's main package, a tool dependency in go.mod.
const rieCommand = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// forbidden reports why an import path must not be in a Lambda binary ("" when it may be).
func forbidden(path string) string {
	const mod = "github.com/orderflow/orderflow/"
	switch {
	case path == "github.com/mattn/go-sqlite3" || strings.HasPrefix(path, "github.com/mattn/go-sqlite3/"):
		return "the SQLite driver needs cgo"
	case path == mod+"services/adapters/sqlite" || strings.HasPrefix(path, mod+"services/adapters/sqlite/"):
		return "the SQLite adapter belongs to the local runtime"
	case path == mod+"services/adapters/localbus" || strings.HasPrefix(path, mod+"services/adapters/localbus/"):
		return "the in-process bus belongs to the local runtime"
	case strings.HasPrefix(path, "github.com/aws/aws-cdk-go/") || strings.HasPrefix(path, "github.com/cdklabs/") ||
		strings.Contains(path, "jsii"):
		return "the CDK and jsii belong to infra/, not to the runtime"
	}
	return ""
}

// TestImportGraph lists every cmd/lambda/<fn> as `make lambdas` builds it and fails on any dependency the
// AWS runtime must not link, and on any function folder without an entry in lambdas.Functions (or the
// other way round).
func TestImportGraph(t *testing.T) {
	t.Parallel()
	goCmd := goTool(t)
	cmd := exec.Command(goCmd, "list", "-e", "-f", `{{.Name}} {{.ImportPath}} {{with .Error}}ERROR:{{.Err}}{{end}}{{range .Deps}} {{.}}{{end}}`, "./...")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS=-tags=lambda.norpc")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	const prefix = "github.com/orderflow/orderflow/cmd/lambda/"
	var listed []string
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "main" {
			continue
		}
		fn, ok := strings.CutPrefix(fields[1], prefix)
		if !ok {
			t.Errorf("unexpected main package %s", fields[1])
			continue
		}
		listed = append(listed, fn)
		for _, dep := range fields[2:] {
			if e, ok := strings.CutPrefix(dep, "ERROR:"); ok {
				t.Errorf("%s: %s", fn, e)
			} else if why := forbidden(dep); why != "" {
				t.Errorf("%s imports %s: %s", fn, dep, why)
			}
		}
	}

	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	var names []string
	for _, f := range lambdas.Functions {
		names = append(names, f.Name)
	}
	slices.Sort(listed)
	slices.Sort(names)
	if !slices.Equal(dirs, names) {
		t.Errorf("folders under cmd/lambda %v, functions in lambdas.Functions %v", dirs, names)
	}
	if !slices.Equal(listed, names) {
		t.Errorf("main packages under cmd/lambda %v, functions in lambdas.Functions %v", listed, names)
	}
}

// TestUnderRIE builds the emulator and the api and reconciler bootstraps for this machine, as `make
// lambdas` builds them for Lambda, and invokes them through the emulator's HTTP API. AWS is a local stub
// that records what it is asked, so nothing leaves the machine.
func TestUnderRIE(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the Runtime Interface Emulator runs on Linux only")
	}
	if testing.Short() {
		t.Skip("builds three binaries")
	}
	bin := t.TempDir()
	start := time.Now()
	cmd := exec.Command(goTool(t), "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin+string(filepath.Separator),
		"./"+lambdas.API, "./"+lambdas.Reconciler, rieCommand)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the emulator and two bootstraps in %v", time.Since(start).Round(time.Millisecond))
	rie := filepath.Join(bin, "aws-lambda-rie")
	bootstrap := func(fn string) string { return filepath.Join(bin, fn) }

	t.Run("api healthz", func(t *testing.T) {
		t.Parallel()
		aws := newStubAWS(t)
		fn := startRIE(t, rie, bootstrap(lambdas.API), functionEnv(t, lambdas.API, aws.URL, ""))
		for _, phase := range []string{"cold", "warm"} {
			status, body := fn.invoke(t, healthzEvent())
			if status != http.StatusOK {
				t.Fatalf("%s: the emulator answered %d %s", phase, status, body)
			}
			var res events.APIGatewayProxyResponse
			if err := json.Unmarshal(body, &res); err != nil {
				t.Fatalf("%s: not a proxy response: %v: %s", phase, err, body)
			}
			if res.StatusCode != http.StatusOK || res.Body != `{"status":"ok"}`+"\n" || res.IsBase64Encoded {
				t.Errorf("%s: proxy response %d %q (base64 %v), want 200 %q", phase, res.StatusCode, res.Body, res.IsBase64Encoded, `{"status":"ok"}`+"\n")
			}
			if ct := res.MultiValueHeaders["Content-Type"]; !slices.Equal(ct, []string{"application/json"}) {
				t.Errorf("%s: Content-Type %v, want application/json", phase, ct)
			}
		}
		fn.waitLog(t, "INIT RTDONE(status: success)")
		if calls := aws.calls(); len(calls) > 0 {
			t.Errorf("init and GET /healthz called AWS: %v", calls)
		}
	})

	t.Run("api without ORDERS_TABLE_NAME", func(t *testing.T) {
		t.Parallel()
		testMissingVariable(t, rie, bootstrap(lambdas.API), lambdas.API, lambdas.EnvOrdersTable)
	})

	t.Run("reconciler without ORDER_QUEUE_URL", func(t *testing.T) {
		t.Parallel()
		testMissingVariable(t, rie, bootstrap(lambdas.Reconciler), lambdas.Reconciler, lambdas.EnvOrderQueueURL)
	})

	t.Run("reconciler pass", func(t *testing.T) {
		t.Parallel()
		aws := newStubAWS(t)
		fn := startRIE(t, rie, bootstrap(lambdas.Reconciler), functionEnv(t, lambdas.Reconciler, aws.URL, ""))
		event := `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",` +
			`"source":"aws.events","account":"123456789012","time":"2026-12-01T09:00:00Z","region":"us-east-1",` +
			`"resources":["arn:aws:events:us-east-1:123456789012:rule/reconciler"],"detail":{}}`
		status, body := fn.invoke(t, []byte(event))
		if status != http.StatusOK || strings.TrimSpace(string(body)) != "null" {
			t.Fatalf("the emulator answered %d %s, want 200 null", status, body)
		}
		calls := aws.calls()
		if len(calls) != 1 || calls[0].target != "DynamoDB_20120810.Query" {
			t.Fatalf("AWS calls %v, want one DynamoDB Query", calls)
		}
		var q struct{ TableName, IndexName string }
		if err := json.Unmarshal(calls[0].body, &q); err != nil || q.TableName != dummyValue(lambdas.EnvOrdersTable) || q.IndexName != "pendingByAge" {
			t.Errorf("Query %s, want the orders table's pendingByAge index", calls[0].body)
		}
	})
}

// testMissingVariable starts fn without the variable missing and checks that an invocation fails and that
// the function's init names the variable.
func testMissingVariable(t *testing.T, rie, bootstrap, fn, missing string) {
	aws := newStubAWS(t)
	r := startRIE(t, rie, bootstrap, functionEnv(t, fn, aws.URL, missing))
	status, body := r.invoke(t, []byte(`{}`))
	if status == http.StatusOK {
		t.Errorf("the emulator answered %d %s to a function without %s", status, body, missing)
	}
	want := fmt.Sprintf("orderflow %s: missing environment variable %s (", fn, missing)
	if !strings.Contains(string(body), missing) {
		r.waitLog(t, want)
	}
	r.waitLog(t, "INIT RTDONE(status: error)")
	if calls := aws.calls(); len(calls) > 0 {
		t.Errorf("a failed init called AWS: %v", calls)
	}
}

// goTool returns the go command that runs the tests.
func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	return p
}

// dummyValue is a harmless value for a function's environment variable.
func dummyValue(name string) string {
	switch name {
	case lambdas.EnvOrderQueueURL:
		return "https://sqs.us-east-1.amazonaws.com/123456789012/orderflow-test-ingest"
	case lambdas.EnvEventBusName:
		return "orderflow-test"
	case lambdas.EnvSNSTopicARN:
		return "arn:aws:sns:us-east-1:123456789012:orderflow-test"
	case lambdas.EnvBedrockModelID:
		return "anthropic.claude-test-v1:0"
	case lambdas.EnvAdminAPIKeyIDs:
		return "adminkeyid"
	}
	return "orderflow-test-" + strings.ToLower(strings.TrimSuffix(name, "_TABLE_NAME"))
}

// functionEnv is the whole environment of the emulator and of fn under it: what fn requires (but without),
// a region and static dummy credentials, every AWS endpoint at the stub, and no shared config files.
func functionEnv(t *testing.T, fn, endpoint, without string) []string {
	spec, ok := lambdas.Lookup(fn)
	if !ok {
		t.Fatalf("no function %s", fn)
	}
	home := t.TempDir()
	env := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIAORDERFLOWTEST", "AWS_SECRET_ACCESS_KEY=orderflowtestsecret",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=" + endpoint, "HOME=" + home,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_LAMBDA_FUNCTION_NAME=" + fn,
	}
	for _, name := range spec.Env() {
		if name != without {
			env = append(env, name+"="+dummyValue(name))
		}
	}
	return env
}

// healthzEvent is what API Gateway's REST proxy integration sends for GET /healthz on stage prod.
func healthzEvent() []byte {
	b, _ := json.Marshal(events.APIGatewayProxyRequest{
		Resource: "/{proxy+}", Path: "/healthz", HTTPMethod: http.MethodGet,
		Headers:           map[string]string{"Accept": "application/json", "Host": "abc123.execute-api.us-east-1.amazonaws.com"},
		MultiValueHeaders: map[string][]string{"Accept": {"application/json"}, "Host": {"abc123.execute-api.us-east-1.amazonaws.com"}},
		PathParameters:    map[string]string{"proxy": "healthz"},
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: "123456789012", ResourceID: "abc123", Stage: "prod", RequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
			Identity:     events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7", UserAgent: "lambda-test"},
			ResourcePath: "/{proxy+}", HTTPMethod: http.MethodGet, APIID: "abc123", Path: "/prod/healthz",
		},
	})
	return b
}

// awsCall is one request the stub received.
type awsCall struct {
	target string // X-Amz-Target, or the query protocol's Action
	body   []byte
}

func (c awsCall) String() string { return c.target }

// stubAWS stands in for every AWS endpoint: it answers DynamoDB Query with no items and everything else
// with a ValidationException, and records what it was asked.
type stubAWS struct {
	*httptest.Server
	mu  sync.Mutex
	got []awsCall
}

func newStubAWS(t *testing.T) *stubAWS {
	s := &stubAWS{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		target := r.Header.Get("X-Amz-Target")
		if target == "" {
			target = r.Method + " " + r.URL.Path
			if q, err := parseForm(body); err == nil && q != "" {
				target = q
			}
		}
		s.mu.Lock()
		s.got = append(s.got, awsCall{target: target, body: body})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if target == "DynamoDB_20120810.Query" {
			_, _ = io.WriteString(w, `{"Count":0,"Items":[],"ScannedCount":0}`)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"stub AWS endpoint"}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// parseForm returns the Action of a query-protocol request body.
func parseForm(body []byte) (string, error) {
	for kv := range strings.SplitSeq(string(body), "&") {
		if v, ok := strings.CutPrefix(kv, "Action="); ok {
			return v, nil
		}
	}
	return "", nil
}

func (s *stubAWS) calls() []awsCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// startRIE runs bootstrap under the emulator with exactly env and stops it when the test ends.
func startRIE(t *testing.T, rie, bootstrap string, env []string) *rieProcess {
	t.Helper()
	e, err := emulators.StartRIE(rie, bootstrap, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			t.Logf("emulator output:\n%s", e.Output())
		}
	})
	return &rieProcess{e}
}

// rieProcess is an emulator running one bootstrap, with test-failing helpers.
type rieProcess struct{ *emulators.RIE }

// invoke posts event to the emulator and returns its status and body.
func (r *rieProcess) invoke(t *testing.T, event []byte) (int, []byte) {
	t.Helper()
	status, body, _, err := r.Invoke(event)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// waitLog waits until the emulator's output has a line containing s.
func (r *rieProcess) waitLog(t *testing.T, s string) {
	t.Helper()
	if _, ok := r.WaitLine(s, 10*time.Second); !ok {
		t.Fatalf("no line with %q in the emulator's output:\n%s", s, r.Output())
	}
}
