package function_test

import (
	"context"
	"io"
	"strings"
	"testing"

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
	} {
		err := build(tc.function, map[string]string{tc.variable: tc.value})
		if err == nil || !strings.Contains(err.Error(), tc.variable) {
			t.Errorf("%s with %s=%q: error %v, want one naming %s", tc.function, tc.variable, tc.value, err, tc.variable)
		}
	}
}
