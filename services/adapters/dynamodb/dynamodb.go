package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/orderflow/orderflow/services/adapters/awsfault"
	"github.com/orderflow/orderflow/services/fault"
)

// API is the part of the DynamoDB API the adapters call; *dynamodb.Client (of the AWS SDK) has it.
type API interface {
	GetItem(ctx context.Context, in *awsdynamodb.GetItemInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *awsdynamodb.PutItemInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *awsdynamodb.UpdateItemInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *awsdynamodb.QueryInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *awsdynamodb.ScanInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.ScanOutput, error)
	BatchGetItem(ctx context.Context, in *awsdynamodb.BatchGetItemInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *awsdynamodb.TransactWriteItemsInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.TransactWriteItemsOutput, error)
}

var _ API = (*awsdynamodb.Client)(nil)

// Key attribute names, shared by every table (see lambdas.Table).
const (
	attrPK = "pk"
	attrSK = "sk"
)

// Limits of one TransactWriteItems call.
const (
	maxTransactItems = 100
	maxTransactBytes = 4 << 20
)

// maxWriteAttempts bounds how often a write is tried again when concurrent writers keep winning: a lost
// condition on a version, or a transaction cancelled by a conflicting one. Then the adapters return a
// fault.Unavailable error, so the delivery is retried later rather than dead-lettered.
const maxWriteAttempts = 100

// Cancellation reason codes of TransactionCanceledException.
const (
	reasonNone        = "None"
	reasonConditional = "ConditionalCheckFailed"
)

// retryableCodes are the error codes of a transient failure: the same request may succeed later.
var retryableCodes = map[string]bool{
	"ThrottlingException":                    true,
	"ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded":                   true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"TransactionConflictException":           true,
	"TransactionInProgressException":         true,
	"LimitExceededException":                 true,
	// Cancellation reasons (TransactionCanceledException) that say the same.
	"TransactionConflict":           true,
	"ThrottlingError":               true,
	"ProvisionedThroughputExceeded": true,
}

// classify gives a DynamoDB error its fault kind: throttling, throughput, request limits, server errors
// and transaction conflicts are fault.Unavailable (retried with backoff), and so is a call that never
// got an answer (a dropped connection or a timeout, once the SDK's retries are spent: what awsfault
// calls unavailable for every other AWS adapter); a request DynamoDB refuses as malformed
// (ValidationException: a key over 2,048 bytes, an item over 400 KB) is fault.Invalid, a 4xx on the API
// and a dead letter rather than endless retries in a stage; anything else keeps its error
// (fault.Internal), since a condition failure is mapped by the caller that knows what it means.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch {
		case retryableCodes[ae.ErrorCode()]:
			return fault.Wrap(fault.Unavailable, err, "DynamoDB is unavailable or busy")
		case ae.ErrorCode() == "ValidationException":
			return fault.Wrap(fault.Invalid, err, "DynamoDB refused the request as invalid (a key or item over its size limit?)")
		}
	}
	if awsfault.Kind(err) == fault.Unavailable {
		return fault.Wrap(fault.Unavailable, err, "DynamoDB did not answer")
	}
	return err
}

// canceled returns the cancellation reason codes of a TransactionCanceledException, in request order,
// and the items that failed their condition (with ReturnValuesOnConditionCheckFailure ALL_OLD).
func canceled(err error) ([]types.CancellationReason, bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	return tce.CancellationReasons, true
}

// transient reports whether every failed reason of a cancelled transaction is transient (conflict,
// throttling), so that the same transaction may succeed if sent again.
func transient(reasons []types.CancellationReason) bool {
	any := false
	for _, r := range reasons {
		code := str(r.Code)
		switch {
		case code == "" || code == reasonNone:
		case retryableCodes[code]:
			any = true
		default:
			return false
		}
	}
	return any
}

// transact sends a TransactWriteItems. A cancellation with a failed condition is returned as its
// reasons (in request order, with the item that failed where asked for) and a nil error, for the caller
// to map to a domain answer. A cancellation caused only by conflicting transactions or throttling is
// sent again after a short, jittered pause, up to maxWriteAttempts, and then is a fault.Unavailable
// error. Any other error is returned classified (a throttled call, which the SDK has already retried,
// is fault.Unavailable).
func transact(ctx context.Context, api API, items []types.TransactWriteItem) (reasons []types.CancellationReason, err error) {
	if len(items) > maxTransactItems {
		return nil, fmt.Errorf("transaction of %d actions is over DynamoDB's limit of %d", len(items), maxTransactItems)
	}
	in := &awsdynamodb.TransactWriteItemsInput{TransactItems: items}
	for attempt := 1; ; attempt++ {
		_, err := api.TransactWriteItems(ctx, in)
		if err == nil {
			return nil, nil
		}
		reasons, ok := canceled(err)
		if ok && failedAt(reasons) >= 0 {
			return reasons, nil
		}
		if ok && !transient(reasons) {
			return nil, fmt.Errorf("transaction cancelled: %v: %w", reasonCodes(reasons), err)
		}
		if !ok {
			// The SDK's retryer has already retried throttling and server errors.
			return nil, classify(err)
		}
		if attempt >= maxWriteAttempts {
			return nil, fault.Wrap(fault.Unavailable, err, fmt.Sprintf("transaction still conflicting after %d attempts", attempt))
		}
		if err := pause(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// pause waits before another attempt of a write that lost a race: a few milliseconds, growing with the
// attempt and jittered, so that racing writers spread out. When ctx ends first it returns ctx's error as
// fault.Unavailable: the write was not done, and may be tried again.
func pause(ctx context.Context, attempt int) error {
	return jitteredWait(ctx, time.Duration(min(attempt, 10))*4*time.Millisecond, "stopped before writing again")
}

// jitteredWait waits a random time up to limit, plus a millisecond; when ctx ends first it returns ctx's
// error as fault.Unavailable, with why.
func jitteredWait(ctx context.Context, limit time.Duration, why string) error {
	t := time.NewTimer(time.Duration(rand.Int64N(int64(limit))) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fault.Wrap(fault.Unavailable, ctx.Err(), why)
	case <-t.C:
		return nil
	}
}

// failedAt returns the index of the first action whose condition failed, or -1.
func failedAt(reasons []types.CancellationReason) int {
	for i, r := range reasons {
		if str(r.Code) == reasonConditional {
			return i
		}
	}
	return -1
}

// conditionFailed reports whether action i of a cancelled transaction failed its condition.
func conditionFailed(reasons []types.CancellationReason, i int) bool {
	return i < len(reasons) && str(reasons[i].Code) == reasonConditional
}

// conditionalCheckFailed reports whether a single-item write failed its condition.
func conditionalCheckFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// Attribute helpers.

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func b(v []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// getS returns the string attribute name of item ("" when missing or of another type).
func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// getN returns the number attribute name of item as an int64.
func getN(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is missing or not a number", name)
	}
	i, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return i, nil
}

func getB(item map[string]types.AttributeValue, name string) []byte {
	if v, ok := item[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

// key returns the primary key of an item of a table with only a partition key.
func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: s(pk)}
}

// sortable formats t in UTC with a fixed width, so that the strings sort as the times do.
func sortable(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// itemSize estimates the size DynamoDB counts for an item: attribute names plus values.
func itemSize(item map[string]types.AttributeValue) int {
	size := 0
	for name, v := range item {
		size += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			size += len(v.Value)
		case *types.AttributeValueMemberB:
			size += len(v.Value)
		default:
			size += 21
		}
	}
	return size
}
