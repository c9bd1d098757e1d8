package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
)

func TestErrorResponse(t *testing.T) {
	t.Parallel()
	secret := errors.New("dial tcp 10.0.0.7:5432: password authentication failed for user admin")
	tests := []struct {
		name       string
		err        error
		wantStatus int
		want       contracts.ErrorDetail
	}{
		{
			name:       "invalid with fields",
			err:        fmt.Errorf("create order: %w", &fault.Error{Kind: fault.Invalid, Code: contracts.CodeValidationFailed, Message: "the order request is invalid", Fields: []fault.FieldIssue{{Field: "customerId", Issue: "is required"}}}),
			wantStatus: 400,
			want:       contracts.ErrorDetail{Code: contracts.CodeValidationFailed, Message: "the order request is invalid", Details: []contracts.FieldIssue{{Field: "customerId", Issue: "is required"}}},
		},
		{
			name:       "invalid without a code",
			err:        fault.Invalidf("malformed cursor"),
			wantStatus: 400,
			want:       contracts.ErrorDetail{Code: contracts.CodeValidationFailed, Message: "malformed cursor"},
		},
		{name: "invalid JSON", err: invalidJSON(errors.New("x")), wantStatus: 400, want: contracts.ErrorDetail{Code: contracts.CodeInvalidJSON, Message: "request body is not valid JSON"}},
		{name: "unsupported media type", err: errMediaType, wantStatus: 415, want: contracts.ErrorDetail{Code: contracts.CodeUnsupportedMediaType, Message: errMediaType.Message}},
		{name: "payload too large", err: errTooLarge, wantStatus: 413, want: contracts.ErrorDetail{Code: contracts.CodePayloadTooLarge, Message: errTooLarge.Message}},
		{name: "method not allowed", err: errMethodNotAllowed, wantStatus: 405, want: contracts.ErrorDetail{Code: contracts.CodeMethodNotAllowed, Message: errMethodNotAllowed.Message}},
		{
			name:       "not found keeps its message but not the wrapped cause",
			err:        fmt.Errorf("get: %w", fault.Wrap(fault.NotFound, secret, "order o-1 not found")),
			wantStatus: 404,
			want:       contracts.ErrorDetail{Code: contracts.CodeNotFound, Message: "order o-1 not found"},
		},
		{
			name:       "transition conflict",
			err:        fmt.Errorf("cancel order o-1: %w", fmt.Errorf("order o-1 is FULFILLMENT: %w", order.ErrNotCancellable)),
			wantStatus: 409,
			want:       contracts.ErrorDetail{Code: contracts.CodeConflict, Message: "order can no longer be cancelled"},
		},
		{
			name:       "idempotency key reused",
			err:        &fault.Error{Kind: fault.Conflict, Code: contracts.CodeIdempotencyKeyReused, Message: "reused"},
			wantStatus: 422,
			want:       contracts.ErrorDetail{Code: contracts.CodeIdempotencyKeyReused, Message: "reused"},
		},
		{name: "unauthorized", err: errForbidden, wantStatus: 403, want: contracts.ErrorDetail{Code: contracts.CodeForbidden, Message: errForbidden.Message}},
		{name: "rate limited", err: errRateLimited, wantStatus: 429, want: contracts.ErrorDetail{Code: contracts.CodeRateLimited, Message: errRateLimited.Message}},
		{
			name:       "unavailable hides the cause",
			err:        fault.Wrap(fault.Unavailable, secret, "database at 10.0.0.7 down"),
			wantStatus: 503,
			want:       contracts.ErrorDetail{Code: contracts.CodeUnavailable, Message: "the service is temporarily unavailable; retry later"},
		},
		{
			name:       "unclassified error is internal and generic",
			err:        fmt.Errorf("store order: %w", secret),
			wantStatus: 500,
			want:       contracts.ErrorDetail{Code: contracts.CodeInternal, Message: "internal error"},
		},
		{
			name:       "internal fault with a message stays generic",
			err:        fault.Wrap(fault.Internal, secret, "sql: table orders missing"),
			wantStatus: 500,
			want:       contracts.ErrorDetail{Code: contracts.CodeInternal, Message: "internal error"},
		},
		{name: "unknown kind", err: &fault.Error{Kind: fault.Kind(99), Message: "?"}, wantStatus: 500, want: contracts.ErrorDetail{Code: contracts.CodeInternal, Message: "internal error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := errorResponse(tt.err)
			if status != tt.wantStatus {
				t.Errorf("status %d (%s), want %d", status, http.StatusText(status), tt.wantStatus)
			}
			if diff := cmp.Diff(tt.want, body.Error); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}
