// Package sqs is the ingest queue on Amazon SQS: it sends the accepted orders that the dispatcher takes
// off the queue (through a Lambda event source mapping; see services/adapters/awslambda for that side).
package sqs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/awsfault"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
)

// Client is the part of the SQS API that Queue calls; *sqs.Client implements it.
type Client interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ Client = (*sqs.Client)(nil)

// MaxBatch is the most entries SQS takes in one SendMessageBatch call.
const MaxBatch = 10

// Queue sends order messages to one SQS queue. It is safe for concurrent use.
type Queue struct {
	client   Client
	url      string
	attempts int
	backoff  time.Duration
}

var (
	_ ingest.Queue        = (*Queue)(nil)
	_ ingest.DelayedQueue = (*Queue)(nil)
	_ ingest.BatchQueue   = (*Queue)(nil)
)

// Option configures a Queue.
type Option func(*Queue)

// WithBatchRetries sets how many times SendBatch resends the entries SQS reported as failed (default 3;
// 0 sends each entry once), waiting backoff before the first resend and twice as long before each next
// one (default 100ms).
func WithBatchRetries(retries int, backoff time.Duration) Option {
	return func(q *Queue) { q.attempts, q.backoff = max(retries, 0)+1, backoff }
}

// NewQueue returns the queue at queueURL, reached through client.
func NewQueue(client Client, queueURL string, opts ...Option) *Queue {
	q := &Queue{client: client, url: queueURL, attempts: 4, backoff: 100 * time.Millisecond}
	for _, opt := range opts {
		opt(q)
	}
	return q
}

// Send implements ingest.Queue: it sends m as a JSON body. Once it returns nil SQS has stored the
// message. A throttled or failing SQS is a fault.Unavailable error (see awsfault).
func (q *Queue) Send(ctx context.Context, m contracts.OrderMessage) error {
	return q.SendAfter(ctx, m, 0)
}

// MaxDelay is the longest delay SQS gives a message (DelaySeconds at most 900).
const MaxDelay = 15 * time.Minute

// SendAfter enqueues m to be delivered no sooner than delay from now (ingest.DelayedQueue), in whole
// seconds rounded up; a delay over MaxDelay is a fault.Invalid error.
func (q *Queue) SendAfter(ctx context.Context, m contracts.OrderMessage, delay time.Duration) error {
	if delay > MaxDelay {
		return fault.Invalidf("send order %s: delay %s is over SQS's %s", m.OrderID, delay, MaxDelay)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode queue message of order %s: %w", m.OrderID, err)
	}
	in := &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(string(body))}
	if delay > 0 {
		in.DelaySeconds = int32((delay + time.Second - 1) / time.Second)
	}
	if _, err := q.client.SendMessage(ctx, in); err != nil {
		return awsfault.Wrap(err, "send order %s to queue %s", m.OrderID, q.url)
	}
	return nil
}

// FailedMessage is a message that SendBatch could not send.
type FailedMessage struct {
	// Message is the message.
	Message contracts.OrderMessage
	// Code and Reason are what SQS said about the last attempt.
	Code, Reason string
	// SenderFault is SQS's verdict that the entry itself is at fault, so that it was not resent.
	SenderFault bool
}

// BatchError lists the messages of a SendBatch call that were not sent; every other message was.
type BatchError struct {
	Failed []FailedMessage
}

// Error names every message not sent, with what SQS said about it.
func (e *BatchError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		parts[i] = fmt.Sprintf("order %s (%s: %s)", f.Message.OrderID, f.Code, f.Reason)
	}
	return fmt.Sprintf("%d messages not sent: %s", len(e.Failed), strings.Join(parts, ", "))
}

// NotSent returns the messages not sent, in the order they were given: the reconciler reads it (see
// ingest.BatchQueue) to tell the orders queued from those to send again.
func (e *BatchError) NotSent() []contracts.OrderMessage {
	msgs := make([]contracts.OrderMessage, len(e.Failed))
	for i, f := range e.Failed {
		msgs[i] = f.Message
	}
	return msgs
}

// SendBatch sends msgs with SendMessageBatch, MaxBatch at a time. SQS can accept a call and still fail
// some of its entries: those are read from the response and resent, alone, up to the configured number of
// times, except the ones SQS says are the sender's fault. It returns nil when every message was sent, and
// otherwise an error wrapping a *BatchError that names each message not sent: fault.Invalid when every
// one of them was refused as the sender's fault, fault.Unavailable otherwise. When a whole call fails,
// the error (classified by awsfault) says how many messages were sent before it.
func (q *Queue) SendBatch(ctx context.Context, msgs []contracts.OrderMessage) error {
	var failed []FailedMessage
	sent := 0
	for start := 0; start < len(msgs); start += MaxBatch {
		chunk := msgs[start:min(start+MaxBatch, len(msgs))]
		f, n, err := q.sendChunk(ctx, chunk)
		sent += n
		if err != nil {
			return fmt.Errorf("%d of %d messages sent before a call failed: %w", sent, len(msgs), err)
		}
		failed = append(failed, f...)
	}
	if len(failed) == 0 {
		return nil
	}
	kind := fault.Invalid
	for _, f := range failed {
		if !f.SenderFault {
			kind = fault.Unavailable
		}
	}
	return fault.Wrap(kind, &BatchError{Failed: failed}, "send batch to queue "+q.url)
}

// sendChunk sends at most MaxBatch messages, resending failed entries, and returns those never sent and
// how many SQS listed as sent, also when a call fails outright (that call's entries are not counted).
func (q *Queue) sendChunk(ctx context.Context, chunk []contracts.OrderMessage) ([]FailedMessage, int, error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(chunk))
	pending := make([]int, len(chunk)) // indexes into chunk, which are also the entry ids
	for i, m := range chunk {
		body, err := json.Marshal(m)
		if err != nil {
			return nil, 0, fmt.Errorf("encode queue message of order %s: %w", m.OrderID, err)
		}
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		pending[i] = i
	}
	var given []FailedMessage                     // refused as the sender's fault: not resent
	last := map[int]types.BatchResultErrorEntry{} // the latest failure of each pending entry
	delay := q.backoff
	done := 0 // entries SQS listed as sent
	for attempt := 1; len(pending) > 0 && attempt <= q.attempts; attempt++ {
		if attempt > 1 {
			if awsfault.Wait(ctx, delay) != nil {
				break
			}
			delay *= 2
		}
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: make([]types.SendMessageBatchRequestEntry, 0, len(pending))}
		for _, i := range pending {
			in.Entries = append(in.Entries, entries[i])
		}
		out, err := q.client.SendMessageBatch(ctx, in)
		if err != nil {
			return nil, done, awsfault.Wrap(err, "send message batch to queue %s", q.url)
		}
		failures := map[int]types.BatchResultErrorEntry{}
		for _, f := range out.Failed {
			i, err := strconv.Atoi(aws.ToString(f.Id))
			if err != nil || !slices.Contains(pending, i) {
				return nil, done, fmt.Errorf("send message batch to queue %s: SQS reported a failure of an entry not sent, %q", q.url, aws.ToString(f.Id))
			}
			failures[i] = f
		}
		sent := map[int]bool{}
		for _, ok := range out.Successful {
			if i, err := strconv.Atoi(aws.ToString(ok.Id)); err == nil {
				sent[i] = true
			}
		}
		var retry []int
		for _, i := range pending {
			f, failed := failures[i]
			switch {
			case failed && f.SenderFault:
				given = append(given, FailedMessage{Message: chunk[i], Code: aws.ToString(f.Code), Reason: aws.ToString(f.Message), SenderFault: true})
			case failed:
				last[i] = f
				retry = append(retry, i)
			case sent[i]:
				done++
			default:
				// An entry is sent only if SQS lists it as such: one listed nowhere is resent.
				last[i] = types.BatchResultErrorEntry{Code: aws.String("NotReported"), Message: aws.String("SQS reported neither success nor failure")}
				retry = append(retry, i)
			}
		}
		pending = retry // still in the caller's order
	}
	for _, i := range pending {
		f := last[i]
		given = append(given, FailedMessage{Message: chunk[i], Code: aws.ToString(f.Code), Reason: aws.ToString(f.Message)})
	}
	return given, done, nil
}
