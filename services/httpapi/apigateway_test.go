package httpapi_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/orderflow/orderflow/services/adapters/apigateway"
	"github.com/orderflow/orderflow/services/httpapi"
)

// viaAPIGatewayEnv, when set to 1, makes every test of this package reach the API as it runs on AWS: the
// request becomes the proxy event API Gateway sends, the Lambda proxy adapter turns it back into an
// http.Request for the same handler, and the response goes back through the proxy response.
const viaAPIGatewayEnv = "ORDERFLOW_TEST_VIA_APIGATEWAY"

var viaAPIGateway = os.Getenv(viaAPIGatewayEnv) == "1"

// The API keys of the test, as API Gateway knows them: by id.
var gatewayKeys = []apigateway.Key{
	{ID: "key-client", Value: clientKey},
	{ID: "key-other", Value: otherKey},
	{ID: "key-admin", Value: adminKey},
}

// behindAPIGateway builds the API as the api function does on AWS — callers named by their API key id,
// admins by ADMIN_API_KEY_IDS, no in-process rate limiter (API Gateway throttles per usage plan) — and puts
// it behind API Gateway's key check and proxy events.
func behindAPIGateway(cfg httpapi.Config, deps httpapi.Deps) http.Handler {
	cfg.ClientKeys, cfg.AdminKeys = nil, nil
	cfg.Identify = apigateway.Identify([]string{"key-admin"})
	cfg.Rate, cfg.Burst = 0, 0
	return &apigateway.Local{API: apigateway.Handler(httpapi.New(cfg, deps), ""), Keys: gatewayKeys}
}

// TestEveryCaseThroughAPIGatewayProxyEvents runs this package's tests again with every request going
// through API Gateway proxy events and the Lambda proxy adapter: the same paths, bodies, headers, errors
// and status codes as over plain HTTP.
func TestEveryCaseThroughAPIGatewayProxyEvents(t *testing.T) {
	if viaAPIGateway {
		return // this is the run through API Gateway
	}
	if testing.Short() {
		t.Log("running the API's tests a second time through proxy events")
	}
	cmd := exec.Command(os.Args[0], "-test.run", ".", "-test.count", "1", "-test.v")
	cmd.Env = append(os.Environ(), viaAPIGatewayEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	passed := len(regexp.MustCompile(`(?m)^\s*--- PASS`).FindAll(out.Bytes(), -1))
	failed := regexp.MustCompile(`(?m)^\s*--- FAIL.*$`).FindAll(out.Bytes(), -1)
	if err != nil || len(failed) > 0 {
		t.Fatalf("through API Gateway proxy events: %v; %d passed, failures:\n%s\n\nfull output:\n%s", err, passed, bytes.Join(failed, []byte("\n")), out.Bytes())
	}
	if passed == 0 {
		t.Fatalf("through API Gateway proxy events: no test ran:\n%s", out.Bytes())
	}
	t.Logf("%d tests and subtests passed through API Gateway proxy events", passed)
}
