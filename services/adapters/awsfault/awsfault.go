// Package awsfault classifies the errors of AWS SDK calls into orderflow's fault kinds, once for every AWS
// adapter: what AWS would accept on a retry (throttling, a 5xx, a dropped connection, a timeout) is
// fault.Unavailable, a request AWS refused as malformed is fault.Invalid, and anything else (a missing
// queue, denied access: a deployment bug) stays fault.Internal, which is retried and then dead-lettered.
package awsfault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/orderflow/orderflow/services/fault"
)

// invalidCodes are the error codes with which AWS refuses a request that will never succeed as sent.
var invalidCodes = map[string]bool{
	"ValidationException":                        true,
	"InvalidParameter":                           true,
	"InvalidParameterException":                  true,
	"InvalidParameterValue":                      true,
	"InvalidParameterValueException":             true,
	"InvalidAttributeValue":                      true,
	"InvalidMessageContents":                     true,
	"MissingParameter":                           true,
	"BatchRequestTooLong":                        true,
	"AWS.SimpleQueueService.BatchRequestTooLong": true,
	// PutEvents entry codes: a detail that is not a JSON object, an entry refused as it is.
	"MalformedDetail": true,
	"InvalidArgument": true,
}

// Kind returns the fault kind of an error returned by an AWS SDK call.
func Kind(err error) fault.Kind {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fault.Unavailable
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary {
		return fault.Unavailable
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if invalidCodes[api.ErrorCode()] {
			return fault.Invalid
		}
		if api.ErrorFault() == smithy.FaultServer {
			return fault.Unavailable
		}
	}
	return fault.Internal
}

// Wrap classifies err (see Kind) and wraps it with what was being done, e.g. "send order 42 to the
// ingest queue". It returns nil for a nil err.
func Wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fault.Wrap(Kind(err), err, fmt.Sprintf(format, args...))
}

// EntryKind classifies the error code of one entry of a batch call that AWS accepted as a whole (a
// SendMessageBatch Failed entry, a PutEvents entry with an ErrorCode): throttling and internal failures
// are fault.Unavailable, as is any code AWS does not document as the sender's fault; senderFault (SQS
// says so per entry) or a validation code makes it fault.Invalid.
func EntryKind(code string, senderFault bool) fault.Kind {
	if senderFault || invalidCodes[code] {
		return fault.Invalid
	}
	return fault.Unavailable
}

// Wait waits d before a retry, or until ctx ends, whichever is first, and returns ctx's error in the
// second case: the backoff between the attempts of the adapters' resends of failed batch entries.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
