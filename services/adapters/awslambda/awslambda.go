// Package awslambda turns the events AWS Lambda is invoked with into calls of orderflow's handlers: an
// EventBridge rule target's event into a pipeline.Handler call, an SQS event source mapping's batch into
// one call per message with a partial batch response, and a schedule's event into a reconciler run.
// It holds no business logic and touches no AWS API.
package awslambda

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/pipeline"
)

// DefaultConcurrency is how many records of one SQS batch are handled at once unless WithConcurrency
// says otherwise.
const DefaultConcurrency = 4

// Option configures the adapters.
type Option func(*options)

type options struct {
	log         *slog.Logger
	concurrency int
}

// WithLogger sets the logger failures are reported to (default slog.Default()).
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// WithConcurrency sets how many records of an SQS batch are handled at once (at least 1).
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = max(n, 1) } }

func build(opts []Option) options {
	o := options{log: slog.Default(), concurrency: DefaultConcurrency}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Event converts the envelope EventBridge delivers to a rule target into a contracts.Event. EventBridge
// stamps a fresh envelope id on every put, so when the detail carries eventId (contracts.DetailMeta), the
// deterministic id consumers deduplicate by, that becomes the event's ID; otherwise the envelope id stays.
func Event(e events.EventBridgeEvent) contracts.Event {
	ev := contracts.Event{
		Version: e.Version, ID: e.ID, DetailType: e.DetailType, Source: e.Source, Account: e.AccountID,
		Time: e.Time, Region: e.Region, Resources: e.Resources, Detail: e.Detail,
	}
	var meta struct {
		EventID string `json:"eventId"`
	}
	// A detail that is not an object is left for the handler's decoding to refuse (fault.Invalid).
	if json.Unmarshal(e.Detail, &meta) == nil && meta.EventID != "" {
		ev.ID = meta.EventID
	}
	return ev
}

// EventBridge adapts h to a Lambda function that is an EventBridge rule's target. EventBridge invokes it
// asynchronously, so an error is returned to Lambda, which retries the event and then sends it to the
// function's on-failure destination (configured by the CDK app): nothing is dropped. An error of a kind
// that retrying cannot fix (see fault.Retryable) is retried all the same, since Lambda offers no way to
// skip to the destination; the log line says it will not succeed.
func EventBridge(h pipeline.Handler, opts ...Option) func(context.Context, events.EventBridgeEvent) error {
	o := build(opts)
	return func(ctx context.Context, in events.EventBridgeEvent) error {
		e := Event(in)
		if err := h(ctx, e); err != nil {
			o.log.ErrorContext(ctx, "event handler failed", "event", e.ID, "envelopeId", in.ID, "detailType", e.DetailType,
				"source", e.Source, "orderId", pipeline.EventOrderID(e), "kind", fault.KindOf(err).String(),
				"retryable", fault.Retryable(err), "err", err)
			return fmt.Errorf("handle %s event %s: %w", e.DetailType, e.ID, err)
		}
		return nil
	}
}

// SQS adapts h to a Lambda function behind an SQS event source mapping that has ReportBatchItemFailures
// enabled (without it Lambda ignores the response and retries the whole batch). Each record is decoded
// and handled on its own, up to the configured concurrency at once; a record whose body is not an
// OrderMessage with an order id, whose handler fails or panics, is reported in BatchItemFailures by its
// message id, so that SQS makes only it visible again and, after the queue's maxReceiveCount, moves it
// to the dead-letter queue. The records handled are deleted by Lambda. The returned error is always nil:
// an error would fail, and redeliver, the whole batch.
func SQS(h func(context.Context, contracts.OrderMessage) error, opts ...Option) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	o := build(opts)
	return func(ctx context.Context, in events.SQSEvent) (events.SQSEventResponse, error) {
		errs := make([]error, len(in.Records))
		sem := make(chan struct{}, o.concurrency)
		var wg sync.WaitGroup
		for i, rec := range in.Records {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				errs[i] = handleRecord(ctx, h, rec)
			}()
		}
		wg.Wait()
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for i, err := range errs {
			if err == nil {
				continue
			}
			rec := in.Records[i]
			o.log.ErrorContext(ctx, "queue message failed", "messageId", rec.MessageId,
				"receiveCount", rec.Attributes["ApproximateReceiveCount"], "kind", fault.KindOf(err).String(),
				"retryable", fault.Retryable(err), "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
		return resp, nil
	}
}

// handleRecord decodes and handles one record, turning a panic into an error so that the other records
// of the batch are still reported correctly.
func handleRecord(ctx context.Context, h func(context.Context, contracts.OrderMessage) error, rec events.SQSMessage) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked on message %s: %v", rec.MessageId, r)
		}
	}()
	m, err := DecodeOrderMessage(rec.Body)
	if err != nil {
		return fmt.Errorf("message %s: %w", rec.MessageId, err)
	}
	if err := h(ctx, m); err != nil {
		return fmt.Errorf("message %s of order %s: %w", rec.MessageId, m.OrderID, err)
	}
	return nil
}

// ErrNoOrderID is returned (wrapped, kind fault.Invalid) by DecodeOrderMessage for a message without an
// order id.
var ErrNoOrderID = fault.New(fault.Invalid, "NO_ORDER_ID", "queue message has no orderId")

// DecodeOrderMessage reads the body of an ingest queue message. A body that is not a JSON OrderMessage,
// or has no order id, is a fault.Invalid error.
func DecodeOrderMessage(body string) (contracts.OrderMessage, error) {
	var m contracts.OrderMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return m, fault.Invalidf("queue message body is not an order message: %v", err)
	}
	if m.OrderID == "" {
		return m, ErrNoOrderID
	}
	return m, nil
}

// Scheduled adapts fn to a Lambda function invoked on a schedule (an EventBridge schedule rule or
// EventBridge Scheduler); the event's payload is ignored. An error is logged and returned, so Lambda
// records the invocation as failed; the next scheduled run starts afresh.
func Scheduled(fn func(context.Context) error, opts ...Option) func(context.Context, json.RawMessage) error {
	o := build(opts)
	return func(ctx context.Context, _ json.RawMessage) error {
		if err := fn(ctx); err != nil {
			o.log.ErrorContext(ctx, "scheduled run failed", "kind", fault.KindOf(err).String(), "err", err)
			return fmt.Errorf("scheduled run: %w", err)
		}
		return nil
	}
}
