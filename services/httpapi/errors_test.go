package httpapi_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/httpapi"
)

// Errors from the services reach the client through the one mapping, over the wire.
func TestServiceErrorsOverHTTP(t *testing.T) {
	t.Parallel()
	secret := errors.New("pq: password authentication failed for user orderflow")
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{name: "internal", err: fmt.Errorf("store: %w", secret), wantStatus: 500, wantCode: contracts.CodeInternal},
		{name: "unavailable", err: fault.Wrap(fault.Unavailable, secret, "throttled"), wantStatus: 503, wantCode: contracts.CodeUnavailable},
		{name: "conflict", err: fault.Conflictf("busy"), wantStatus: 409, wantCode: contracts.CodeConflict},
		{name: "idempotency key reused", err: fault.New(fault.Conflict, contracts.CodeIdempotencyKeyReused, "reused"), wantStatus: 422, wantCode: contracts.CodeIdempotencyKeyReused},
		{name: "not found", err: fault.NotFoundf("gone"), wantStatus: 404, wantCode: contracts.CodeNotFound},
		{name: "rate limited downstream", err: fault.New(fault.RateLimited, "", "slow down"), wantStatus: 429, wantCode: contracts.CodeRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(_ *httpapi.Config, d *httpapi.Deps) { d.Ingest = stubIngest{err: tt.err} })
			for _, r := range []request{
				{method: "POST", path: "/orders", key: clientKey, body: orderBody},
				{method: "POST", path: "/orders/o-1/cancel", key: clientKey},
			} {
				res := e.do(t, r)
				if res.status != tt.wantStatus {
					t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, res.status, tt.wantStatus, res.body)
				}
				if code := res.errorBody(t).Error.Code; code != tt.wantCode {
					t.Errorf("%s %s: code %s, want %s", r.method, r.path, code, tt.wantCode)
				}
				if strings.Contains(string(res.body), "password") {
					t.Errorf("%s %s: body %s leaks internals", r.method, r.path, res.body)
				}
			}
		})
	}
}
