// Package awsmeter counts what orderflow asks of AWS and prices it. A Meter is an aws-sdk-go-v2
// middleware: attached to a configuration (config.WithAPIOptions(m.APIOptions())) or to one client
// (func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, m.Middleware) }), it counts every call
// by service and operation and the billing units AWS charges by: DynamoDB read and write request units
// (from the ConsumedCapacity of the responses, which it asks for), EventBridge entries, SQS messages and
// 64 KB request chunks, SNS publishes and SMS. Bill turns counts per order into a monthly bill at list
// prices. The end-to-end run against the emulators and the benchmark print both.
package awsmeter

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamodbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	eventbridgetypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
)

// chunk is the 64 KB unit that SQS, SNS and EventBridge bill a payload by.
const chunk = 64 * 1024

// Operation names one API operation of one service, as the SDK names them ("DynamoDB", "PutItem").
type Operation struct {
	Service, Name string
}

// Calls are the counts of one operation.
type Calls struct {
	// Calls is the number of operation calls the application made.
	Calls int64
	// Attempts is the number of HTTP requests sent, retries included.
	Attempts int64
	// Errors is the number of calls that returned an error after their retries.
	Errors int64
}

// DynamoDB is the DynamoDB capacity consumed, in request units: on-demand mode bills one read request
// unit per read capacity unit and one write request unit per write capacity unit.
type DynamoDB struct {
	// ReadUnits and WriteUnits are what Bill charges: per call, the larger of the capacity the response
	// reported and the least the request can have cost by DynamoDB's rules (1 KB per write unit, 4 KB per
	// strongly consistent read unit, half that eventually consistent, transactions double). The floor
	// matters because DynamoDB Local under-reports transactions with several items of one size, and a
	// failed condition consumes capacity without reporting it.
	ReadUnits, WriteUnits float64
	// ReportedReadUnits and ReportedWriteUnits are the capacity as the responses reported it.
	ReportedReadUnits, ReportedWriteUnits float64
	// Unreported is the number of calls whose response carried no consumed capacity (failed calls).
	Unreported int64
}

// EventBridge counts the entries put on event buses.
type EventBridge struct {
	// Entries is the number of entries sent in PutEvents calls.
	Entries int64
	// Failed is the number of those entries the bus refused (an ErrorCode in the response).
	Failed int64
	// Chunks is the number of 64 KB chunks of the accepted entries: what EventBridge bills as events.
	Chunks int64
}

// SQS counts SQS messages and billed requests.
type SQS struct {
	// Sent, Received and Deleted count messages (not calls) accepted by Send*, returned by
	// ReceiveMessage and accepted by Delete*.
	Sent, Received, Deleted int64
	// Requests is the number of billed requests: one per call, or one per 64 KB chunk of its payload.
	Requests int64
}

// SNS counts SNS publishes.
type SNS struct {
	// Published is the number of messages published to topics; Chunks their billed 64 KB chunks.
	Published, Chunks int64
	// SMS is the number of publishes to a phone number (one text each, if it fits one SMS part).
	SMS int64
}

// Usage is a snapshot of a Meter's counts.
type Usage struct {
	// Operations are the calls by operation.
	Operations map[Operation]Calls
	// DynamoDB, EventBridge, SQS and SNS are the billing units of each service.
	DynamoDB    DynamoDB
	EventBridge EventBridge
	SQS         SQS
	SNS         SNS
}

// WritePerOrder prints the usage divided by orders: the calls of each operation (with retries and
// errors), then each service's billing units. It returns ErrNoOrders when orders is not positive, and
// w's error.
func (u Usage) WritePerOrder(w io.Writer, orders int64) error {
	if orders <= 0 {
		return ErrNoOrders
	}
	per := func(v float64) string { return strconv.FormatFloat(v/float64(orders), 'f', 2, 64) }
	ops := slices.SortedFunc(maps.Keys(u.Operations), func(a, b Operation) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Name, b.Name))
	})
	var sb strings.Builder
	fmt.Fprintf(&sb, "AWS requests per order, over %d orders\n\n", orders)
	t := table{align: "llrrr"}
	t.add("service", "operation", "calls", "attempts", "errors")
	for _, op := range ops {
		c := u.Operations[op]
		t.add(op.Service, op.Name, per(float64(c.Calls)), per(float64(c.Attempts)), per(float64(c.Errors)))
	}
	t.add("", "all", per(float64(u.Requests(""))), "", "")
	t.write(&sb)
	sb.WriteString("\n")
	t = table{align: "llr"}
	t.add("service", "billing unit", "per order")
	t.add("DynamoDB", "write request units", per(u.DynamoDB.WriteUnits))
	t.add("DynamoDB", "read request units", per(u.DynamoDB.ReadUnits))
	t.add("EventBridge", "entries put", per(float64(u.EventBridge.Entries)))
	t.add("EventBridge", "events billed (64 KB chunks)", per(float64(u.EventBridge.Chunks)))
	t.add("SQS", "messages sent", per(float64(u.SQS.Sent)))
	t.add("SQS", "requests billed (64 KB chunks)", per(float64(u.SQS.Requests)))
	t.add("SNS", "topic publishes", per(float64(u.SNS.Published)))
	t.add("SNS", "SMS", per(float64(u.SNS.SMS)))
	t.write(&sb)
	_, err := io.WriteString(w, sb.String())
	return err
}

// Requests returns the number of calls made to service ("DynamoDB", "SQS", ...), or to every service
// when service is "".
func (u Usage) Requests(service string) int64 {
	var n int64
	for op, c := range u.Operations {
		if service == "" || op.Service == service {
			n += c.Calls
		}
	}
	return n
}

// Meter counts AWS requests. It is safe for concurrent use; one Meter may be attached to every client.
type Meter struct {
	mu sync.Mutex
	u  Usage
}

// New returns a Meter with nothing counted.
func New() *Meter {
	return &Meter{u: Usage{Operations: map[Operation]Calls{}}}
}

// Snapshot returns a copy of the counts so far.
func (m *Meter) Snapshot() Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.u
	u.Operations = maps.Clone(m.u.Operations)
	return u
}

// Reset sets every count to zero.
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.u = Usage{Operations: map[Operation]Calls{}}
}

// APIOptions returns the middleware for config.WithAPIOptions, which attaches it to every client built
// from the configuration.
func (m *Meter) APIOptions() []func(*middleware.Stack) error {
	return []func(*middleware.Stack) error{m.Middleware}
}

// Middleware adds the meter to one operation's stack: an initialize step, first, that asks DynamoDB for
// the consumed capacity and counts the call and its billing units once it returns, and a finalize step
// after the retry loop that counts each attempt. It returns an error only if the stack already holds
// middleware with the meter's ids.
func (m *Meter) Middleware(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("awsmeter.Count", m.count), middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("awsmeter.Attempt", m.attempt), middleware.After)
}

func (m *Meter) attempt(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	op := operation(ctx)
	m.mu.Lock()
	c := m.u.Operations[op]
	c.Attempts++
	m.u.Operations[op] = c
	m.mu.Unlock()
	return next.HandleFinalize(ctx, in)
}

func operation(ctx context.Context) Operation {
	return Operation{Service: awsmiddleware.GetServiceID(ctx), Name: awsmiddleware.GetOperationName(ctx)}
}

func (m *Meter) count(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	in.Parameters = withConsumedCapacity(in.Parameters)
	out, md, err := next.HandleInitialize(ctx, in)
	op := operation(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.u.Operations[op]
	c.Calls++
	if err != nil {
		c.Errors++
	}
	m.u.Operations[op] = c
	var result any
	if err == nil {
		result = out.Result
	}
	m.record(in.Parameters, result, err)
	return out, md, err
}

// withConsumedCapacity returns a copy of a DynamoDB input with ReturnConsumedCapacity TOTAL, unless the
// caller asked for something already. It copies so that the caller's input, which may be shared between
// goroutines, is never written.
func withConsumedCapacity(params any) any {
	switch v := params.(type) {
	case *dynamodb.GetItemInput:
		return withTotal(v, func(i *dynamodb.GetItemInput) *dynamodbtypes.ReturnConsumedCapacity { return &i.ReturnConsumedCapacity })
	case *dynamodb.PutItemInput:
		return withTotal(v, func(i *dynamodb.PutItemInput) *dynamodbtypes.ReturnConsumedCapacity { return &i.ReturnConsumedCapacity })
	case *dynamodb.UpdateItemInput:
		return withTotal(v, func(i *dynamodb.UpdateItemInput) *dynamodbtypes.ReturnConsumedCapacity {
			return &i.ReturnConsumedCapacity
		})
	case *dynamodb.DeleteItemInput:
		return withTotal(v, func(i *dynamodb.DeleteItemInput) *dynamodbtypes.ReturnConsumedCapacity {
			return &i.ReturnConsumedCapacity
		})
	case *dynamodb.QueryInput:
		return withTotal(v, func(i *dynamodb.QueryInput) *dynamodbtypes.ReturnConsumedCapacity { return &i.ReturnConsumedCapacity })
	case *dynamodb.ScanInput:
		return withTotal(v, func(i *dynamodb.ScanInput) *dynamodbtypes.ReturnConsumedCapacity { return &i.ReturnConsumedCapacity })
	case *dynamodb.TransactWriteItemsInput:
		return withTotal(v, func(i *dynamodb.TransactWriteItemsInput) *dynamodbtypes.ReturnConsumedCapacity {
			return &i.ReturnConsumedCapacity
		})
	case *dynamodb.TransactGetItemsInput:
		return withTotal(v, func(i *dynamodb.TransactGetItemsInput) *dynamodbtypes.ReturnConsumedCapacity {
			return &i.ReturnConsumedCapacity
		})
	case *dynamodb.BatchWriteItemInput:
		return withTotal(v, func(i *dynamodb.BatchWriteItemInput) *dynamodbtypes.ReturnConsumedCapacity {
			return &i.ReturnConsumedCapacity
		})
	case *dynamodb.BatchGetItemInput:
		return withTotal(v, func(i *dynamodb.BatchGetItemInput) *dynamodbtypes.ReturnConsumedCapacity {
			return &i.ReturnConsumedCapacity
		})
	}
	return params
}

// withTotal returns in, or a shallow copy of it with ReturnConsumedCapacity TOTAL when it is unset.
func withTotal[I any](in *I, field func(*I) *dynamodbtypes.ReturnConsumedCapacity) any {
	if *field(in) != "" {
		return in
	}
	c := *in
	*field(&c) = dynamodbtypes.ReturnConsumedCapacityTotal
	return &c
}

// record adds the billing units of one call; result is nil when the call failed. m.mu is held.
func (m *Meter) record(params, result any, err error) {
	if m.recordDynamoDB(params, result, err) {
		return
	}
	switch in := params.(type) {
	// EventBridge
	case *eventbridge.PutEventsInput:
		m.u.EventBridge.Entries += int64(len(in.Entries))
		o, _ := result.(*eventbridge.PutEventsOutput)
		if o == nil {
			m.u.EventBridge.Failed += int64(len(in.Entries))
			return
		}
		for i, e := range in.Entries {
			if i < len(o.Entries) && o.Entries[i].ErrorCode != nil {
				m.u.EventBridge.Failed++
				continue
			}
			m.u.EventBridge.Chunks += chunks(eventSize(e))
		}

	// SQS
	case *sqs.SendMessageInput:
		m.u.SQS.Requests += chunks(sqsSize(in.MessageBody, in.MessageAttributes))
		if result != nil {
			m.u.SQS.Sent++
		}
	case *sqs.SendMessageBatchInput:
		var size int
		for _, e := range in.Entries {
			size += sqsSize(e.MessageBody, e.MessageAttributes)
		}
		m.u.SQS.Requests += chunks(size)
		if o, _ := result.(*sqs.SendMessageBatchOutput); o != nil {
			m.u.SQS.Sent += int64(len(o.Successful))
		}
	case *sqs.ReceiveMessageInput:
		var size int
		o, _ := result.(*sqs.ReceiveMessageOutput)
		if o != nil {
			for _, msg := range o.Messages {
				size += sqsSize(msg.Body, msg.MessageAttributes)
			}
			m.u.SQS.Received += int64(len(o.Messages))
		}
		m.u.SQS.Requests += chunks(size)
	case *sqs.DeleteMessageInput:
		m.u.SQS.Requests++
		if result != nil {
			m.u.SQS.Deleted++
		}
	case *sqs.DeleteMessageBatchInput:
		m.u.SQS.Requests++
		if o, _ := result.(*sqs.DeleteMessageBatchOutput); o != nil {
			m.u.SQS.Deleted += int64(len(o.Successful))
		}
	case *sqs.ChangeMessageVisibilityInput, *sqs.ChangeMessageVisibilityBatchInput, *sqs.GetQueueUrlInput, *sqs.GetQueueAttributesInput:
		m.u.SQS.Requests++

	// SNS
	case *sns.PublishInput:
		if result == nil {
			return
		}
		if in.PhoneNumber != nil && *in.PhoneNumber != "" {
			m.u.SNS.SMS++
			return
		}
		m.u.SNS.Published++
		m.u.SNS.Chunks += chunks(len(deref(in.Message)))
	case *sns.PublishBatchInput:
		o, _ := result.(*sns.PublishBatchOutput)
		if o == nil {
			return
		}
		m.u.SNS.Published += int64(len(o.Successful))
		var size int
		for _, e := range in.PublishBatchRequestEntries {
			size += len(deref(e.Message))
		}
		m.u.SNS.Chunks += chunks(size)
	}
}

// eventSize is an entry's size as EventBridge computes it for its limits and bill: the UTF-8 bytes of
// source, detail type, detail and resources, plus 14 bytes for a time.
func eventSize(e eventbridgetypes.PutEventsRequestEntry) int {
	n := len(deref(e.Source)) + len(deref(e.DetailType)) + len(deref(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	if e.Time != nil {
		n += 14
	}
	return n
}

// sqsSize is a message's billed payload: its body plus each attribute's name, type and value.
func sqsSize(body *string, attrs map[string]sqstypes.MessageAttributeValue) int {
	n := len(deref(body))
	for name, a := range attrs {
		n += len(name) + len(deref(a.DataType)) + len(deref(a.StringValue)) + len(a.BinaryValue)
		for _, v := range a.StringListValues {
			n += len(v)
		}
		for _, v := range a.BinaryListValues {
			n += len(v)
		}
	}
	return n
}

// chunks is the number of 64 KB chunks a payload of size bytes is billed as, at least one.
func chunks(size int) int64 {
	if size <= chunk {
		return 1
	}
	return int64((size + chunk - 1) / chunk)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
