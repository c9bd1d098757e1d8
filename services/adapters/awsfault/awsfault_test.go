package awsfault_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/orderflow/orderflow/services/adapters/awsfault"
	"github.com/orderflow/orderflow/services/fault"
)

func httpError(status int, err error) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}}
}

func TestKindClassifiesWhatRetryingCanFix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want fault.Kind
	}{
		{"throttling is unavailable", &smithy.GenericAPIError{Code: "ThrottlingException"}, fault.Unavailable},
		{"SQS throttling is unavailable", &smithy.GenericAPIError{Code: "RequestThrottled"}, fault.Unavailable},
		{"a 503 is unavailable", httpError(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), fault.Unavailable},
		{"a server fault is unavailable", &smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer}, fault.Unavailable},
		{"a deadline is unavailable", fmt.Errorf("call: %w", context.DeadlineExceeded), fault.Unavailable},
		{"a validation error is invalid", httpError(400, &smithy.GenericAPIError{Code: "ValidationException", Fault: smithy.FaultClient}), fault.Invalid},
		{"a missing queue is internal", httpError(400, &smithy.GenericAPIError{Code: "AWS.SimpleQueueService.NonExistentQueue", Fault: smithy.FaultClient}), fault.Internal},
		{"denied access is internal", httpError(403, &smithy.GenericAPIError{Code: "AccessDeniedException", Fault: smithy.FaultClient}), fault.Internal},
		{"an unknown error is internal", errors.New("boom"), fault.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := awsfault.Kind(tt.err); got != tt.want {
				t.Errorf("Kind = %s, want %s", got, tt.want)
			}
			err := awsfault.Wrap(tt.err, "send order %s", "o1")
			if fault.KindOf(err) != tt.want || !errors.Is(err, tt.err) || err.Error() != "send order o1: "+tt.err.Error() {
				t.Errorf("Wrap = %v (kind %s)", err, fault.KindOf(err))
			}
		})
	}
	if awsfault.Wrap(nil, "nothing") != nil {
		t.Error("Wrap(nil) is not nil")
	}
}

func TestEntryKindTrustsTheSenderFaultFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code        string
		senderFault bool
		want        fault.Kind
	}{
		{"ThrottlingException", false, fault.Unavailable},
		{"InternalFailure", false, fault.Unavailable},
		{"SomethingNew", false, fault.Unavailable},
		{"SomethingNew", true, fault.Invalid},
		{"ValidationException", false, fault.Invalid},
		{"MalformedDetail", false, fault.Invalid},
	}
	for _, tt := range tests {
		if got := awsfault.EntryKind(tt.code, tt.senderFault); got != tt.want {
			t.Errorf("EntryKind(%q, %v) = %s, want %s", tt.code, tt.senderFault, got, tt.want)
		}
	}
}
