package function_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/orderflow/orderflow/services/app"
	"github.com/orderflow/orderflow/services/app/function"
	"github.com/orderflow/orderflow/services/lambdas"
	"github.com/orderflow/orderflow/services/routing"
)

// TestTheOptionalSettingsAreCheckedAtColdStart builds the notifier and the validation function from an
// environment with every required variable, then with each optional setting spelt wrong: a function
// refuses to start with an error that names the variable (the CDK app checks the same at synth), and
// starts with the settings spelt right.
func TestTheOptionalSettingsAreCheckedAtColdStart(t *testing.T) {
	build := func(name string, extra map[string]string) error {
		spec, ok := lambdas.Lookup(name)
		if !ok {
			t.Fatalf("no function %s", name)
		}
		env := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
		for _, v := range spec.Env() {
			env[v] = "orderflow-test-" + strings.ToLower(v)
		}
		for k, v := range extra {
			env[k] = v
		}
		_, err := function.New(context.Background(), name, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, io.Discard, io.Discard)
		return err
	}
	good := map[string]map[string]string{
		routing.Notifier:   {lambdas.EnvDedupRetention: "744h", lambdas.EnvMaxEventSize: "1048576"},
		routing.Validation: {lambdas.EnvOrderLimit: "50000.00", lambdas.EnvMaxEventSize: "262144"},
	}
	for name, env := range good {
		if err := build(name, env); err != nil {
			t.Errorf("%s with %v: %v", name, env, err)
		}
	}
	for _, tc := range []struct{ function, variable, value string }{
		{routing.Notifier, lambdas.EnvDedupRetention, "soon"},
		{routing.Notifier, lambdas.EnvDedupRetention, "-1h"},
		{routing.Notifier, lambdas.EnvMaxEventSize, "1e6"},
		{routing.Notifier, lambdas.EnvMaxEventSize, "2000000"},
		{routing.Validation, lambdas.EnvOrderLimit, "1e5"},
		{routing.Validation, lambdas.EnvOrderLimit, "0"},
		// CloudWatch would drop every metric line of these without a word.
		{routing.Notifier, lambdas.EnvMetricsNamespace, "AWS/Lambda"},
		{routing.Notifier, lambdas.EnvMetricsNamespace, `Orderflow"Staging`},
		{routing.Notifier, lambdas.EnvMetricsNamespace, strings.Repeat("n", 256)},
	} {
		err := build(tc.function, map[string]string{tc.variable: tc.value})
		if err == nil || !strings.Contains(err.Error(), tc.variable) {
			t.Errorf("%s with %s=%q: error %v, want one naming %s", tc.function, tc.variable, tc.value, err, tc.variable)
		}
	}
}

// TestMetricsGoToTheNamespaceOfTheEnvironment serves one request with the api function and reads the
// EMF line it writes: its metrics are in METRICS_NAMESPACE, which the CDK app sets per stack so that two
// copies of the stack in one account keep their metrics and alarms apart, and in "Orderflow" without it.
func TestMetricsGoToTheNamespaceOfTheEnvironment(t *testing.T) {
	spec, _ := lambdas.Lookup(lambdas.API)
	for _, tc := range []struct{ namespace, want string }{{"OrderflowStaging", "OrderflowStaging"}, {"", "Orderflow"}} {
		env := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
		for _, v := range spec.Env() {
			env[v] = "orderflow-test-" + strings.ToLower(v)
		}
		if tc.namespace != "" {
			env[lambdas.EnvMetricsNamespace] = tc.namespace
		}
		var lines bytes.Buffer
		f, err := function.New(context.Background(), lambdas.API, func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			&lines, io.Discard, function.WithAPI(app.BuildAPI))
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.Proxy()(context.Background(), events.APIGatewayProxyRequest{
			HTTPMethod: http.MethodGet, Path: "/healthz", Resource: "/healthz",
			RequestContext: events.APIGatewayProxyRequestContext{Stage: "prod", HTTPMethod: http.MethodGet, Path: "/prod/healthz"},
		})
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /healthz: %d %v", res.StatusCode, err)
		}
		var namespaces []string
		for _, line := range strings.Split(strings.TrimSpace(lines.String()), "\n") {
			var l struct {
				AWS struct{ CloudWatchMetrics []struct{ Namespace string } } `json:"_aws"`
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("EMF line %q: %v", line, err)
			}
			for _, d := range l.AWS.CloudWatchMetrics {
				namespaces = append(namespaces, d.Namespace)
			}
		}
		if len(namespaces) == 0 {
			t.Fatalf("METRICS_NAMESPACE=%q: no EMF metrics written for a request", tc.namespace)
		}
		for _, got := range namespaces {
			if got != tc.want {
				t.Errorf("METRICS_NAMESPACE=%q: metrics in namespace %q, want %q", tc.namespace, got, tc.want)
			}
		}
	}
}
