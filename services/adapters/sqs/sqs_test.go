package sqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/awslambda"
	"github.com/orderflow/orderflow/services/adapters/emulators/emulatorstest"
	sqsadapter "github.com/orderflow/orderflow/services/adapters/sqs"
	"github.com/orderflow/orderflow/services/fault"
)

func TestMain(m *testing.M) { os.Exit(emulatorstest.Main(m)) }

func client(t *testing.T) *sqs.Client {
	t.Helper()
	return sqs.NewFromConfig(emulatorstest.MotoConfig(t))
}

func createQueue(t *testing.T, c *sqs.Client, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(emulatorstest.UniqueName("ingest")), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	return aws.ToString(out.QueueUrl)
}

func orders(prefix string, n int) []contracts.OrderMessage {
	out := make([]contracts.OrderMessage, n)
	for i := range out {
		out[i] = contracts.OrderMessage{OrderID: fmt.Sprintf("%s-%02d", prefix, i), CorrelationID: "corr-" + prefix}
	}
	return out
}

// drain receives until the queue has stayed empty for one long poll, deleting what it receives.
func drain(t *testing.T, c *sqs.Client, url string) []contracts.OrderMessage {
	t.Helper()
	var got []contracts.OrderMessage
	for {
		out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(out.Messages) == 0 {
			return got
		}
		for _, m := range out.Messages {
			msg, err := awslambda.DecodeOrderMessage(aws.ToString(m.Body))
			if err != nil {
				t.Fatalf("received a body that is not an order message: %v", err)
			}
			got = append(got, msg)
			if _, err := c.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
	}
}

func sortedIDs(msgs []contracts.OrderMessage) []string {
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.OrderID)
	}
	slices.Sort(ids)
	return ids
}

func TestSendPutsTheOrderMessageOnTheQueueAsJSON(t *testing.T) {
	t.Parallel()
	c := client(t)
	url := createQueue(t, c, nil)
	want := contracts.OrderMessage{OrderID: "0193a0b4-7c1e-7000-8000-000000000001", CorrelationID: "corr-1"}
	if err := sqsadapter.NewQueue(c, url).Send(t.Context(), want); err != nil {
		t.Fatalf("Send: %v", err)
	}
	out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("ReceiveMessage = %v, %v; want one message", out, err)
	}
	wantBody := `{"orderId":"0193a0b4-7c1e-7000-8000-000000000001","correlationId":"corr-1"}`
	if got := aws.ToString(out.Messages[0].Body); got != wantBody {
		t.Errorf("body = %s, want %s", got, wantBody)
	}
}

func TestSendToAMissingQueueIsAnError(t *testing.T) {
	t.Parallel()
	c := client(t)
	err := sqsadapter.NewQueue(c, emulatorstest.Moto(t).Endpoint+"/123456789012/no-such-queue").Send(t.Context(), contracts.OrderMessage{OrderID: "o1"})
	if err == nil || !strings.Contains(err.Error(), "send order o1") {
		t.Errorf("Send to a missing queue: %v, want an error naming the order", err)
	}
}

// recordingClient passes calls to the real client, counting SendMessageBatch calls and the entry ids of
// each; inject, when set, rewrites a call's outcome before it reaches SQS.
type recordingClient struct {
	*sqs.Client
	mu     sync.Mutex
	calls  [][]string // entry ids per SendMessageBatch call
	inject func(call int, in *sqs.SendMessageBatchInput) (send []types.SendMessageBatchRequestEntry, failed []types.BatchResultErrorEntry, err error)
}

func (c *recordingClient) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	c.mu.Lock()
	var ids []string
	for _, e := range in.Entries {
		ids = append(ids, aws.ToString(e.Id))
	}
	c.calls = append(c.calls, ids)
	call := len(c.calls)
	c.mu.Unlock()
	if c.inject == nil {
		return c.Client.SendMessageBatch(ctx, in, opts...)
	}
	send, failed, err := c.inject(call, in)
	if err != nil {
		return nil, err
	}
	out := &sqs.SendMessageBatchOutput{}
	if len(send) > 0 {
		real, err := c.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: in.QueueUrl, Entries: send}, opts...)
		if err != nil {
			return nil, err
		}
		out.Successful, out.Failed = real.Successful, real.Failed
	}
	out.Failed = append(out.Failed, failed...)
	return out, nil
}

func (c *recordingClient) batchCalls() [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]string(nil), c.calls...)
}

// failEntries makes the given entry ids fail, with code, on the first `times` calls; other entries are
// sent. senderFault marks the failures as the sender's.
func failEntries(times int, code string, senderFault bool, ids ...string) func(int, *sqs.SendMessageBatchInput) ([]types.SendMessageBatchRequestEntry, []types.BatchResultErrorEntry, error) {
	return func(call int, in *sqs.SendMessageBatchInput) ([]types.SendMessageBatchRequestEntry, []types.BatchResultErrorEntry, error) {
		var send []types.SendMessageBatchRequestEntry
		var failed []types.BatchResultErrorEntry
		for _, e := range in.Entries {
			if call <= times && slices.Contains(ids, aws.ToString(e.Id)) {
				failed = append(failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String(code), Message: aws.String("injected"), SenderFault: senderFault})
				continue
			}
			send = append(send, e)
		}
		return send, failed, nil
	}
}

func TestSendBatchSendsTwentyFiveMessagesInThreeCalls(t *testing.T) {
	t.Parallel()
	c := &recordingClient{Client: client(t)}
	url := createQueue(t, c.Client, nil)
	msgs := orders("batch", 25)
	if err := sqsadapter.NewQueue(c, url).SendBatch(t.Context(), msgs); err != nil {
		t.Fatalf("SendBatch: %v", err)
	}
	var sizes []int
	for _, call := range c.batchCalls() {
		sizes = append(sizes, len(call))
	}
	if diff := cmp.Diff([]int{10, 10, 5}, sizes); diff != "" {
		t.Errorf("entries per call (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sortedIDs(msgs), sortedIDs(drain(t, c.Client, url))); diff != "" {
		t.Errorf("messages on the queue (-want +got):\n%s", diff)
	}
}

func TestSendBatchResendsOnlyTheFailedEntries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		inject    func(int, *sqs.SendMessageBatchInput) ([]types.SendMessageBatchRequestEntry, []types.BatchResultErrorEntry, error)
		wantCalls [][]string
		wantKind  fault.Kind
		wantErr   []string // orders the error must name; nil for success
		wantSent  int      // messages that reach the queue
		// wantNotSent are the orders the error's NotSent returns.
		wantNotSent []string
	}{
		{
			name:      "entries failing once are resent alone, in order, and then sent",
			inject:    failEntries(1, "InternalError", false, "3", "1"),
			wantCalls: [][]string{{"0", "1", "2", "3", "4"}, {"1", "3"}},
			wantSent:  5,
		},
		{
			name:        "an entry failing every time is retried three times and then named",
			inject:      failEntries(99, "ServiceUnavailable", false, "2"),
			wantCalls:   [][]string{{"0", "1", "2", "3", "4"}, {"2"}, {"2"}, {"2"}},
			wantKind:    fault.Unavailable,
			wantErr:     []string{"order retry-02 (ServiceUnavailable: injected)"},
			wantSent:    4,
			wantNotSent: []string{"retry-02"},
		},
		{
			name:        "an entry that is the sender's fault is not resent",
			inject:      failEntries(99, "InvalidMessageContents", true, "4"),
			wantCalls:   [][]string{{"0", "1", "2", "3", "4"}},
			wantKind:    fault.Invalid,
			wantErr:     []string{"order retry-04 (InvalidMessageContents: injected)"},
			wantSent:    4,
			wantNotSent: []string{"retry-04"},
		},
		{
			name: "an entry SQS reports neither as sent nor as failed is resent",
			inject: func(call int, in *sqs.SendMessageBatchInput) ([]types.SendMessageBatchRequestEntry, []types.BatchResultErrorEntry, error) {
				if call == 1 {
					return in.Entries[1:], nil, nil // entry 0 vanishes from the response
				}
				return in.Entries, nil, nil
			},
			wantCalls: [][]string{{"0", "1", "2", "3", "4"}, {"0"}},
			wantSent:  5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &recordingClient{Client: client(t), inject: tt.inject}
			url := createQueue(t, c.Client, nil)
			err := sqsadapter.NewQueue(c, url, sqsadapter.WithBatchRetries(3, time.Millisecond)).SendBatch(t.Context(), orders("retry", 5))
			if diff := cmp.Diff(tt.wantCalls, c.batchCalls()); diff != "" {
				t.Errorf("entry ids per call (-want +got):\n%s", diff)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Errorf("SendBatch: %v", err)
				}
			} else {
				var be *sqsadapter.BatchError
				if !errors.As(err, &be) || fault.KindOf(err) != tt.wantKind {
					t.Fatalf("SendBatch error = %v (kind %s), want a BatchError of kind %s", err, fault.KindOf(err), tt.wantKind)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %q", err, s)
					}
				}
				if len(be.Failed) != len(tt.wantErr) {
					t.Errorf("BatchError lists %d messages, want %d", len(be.Failed), len(tt.wantErr))
				}
				var partial interface {
					NotSent() []contracts.OrderMessage
				}
				if !errors.As(err, &partial) {
					t.Fatalf("SendBatch error = %v, want one that names the messages not sent", err)
				}
				var notSent []string
				for _, m := range partial.NotSent() {
					notSent = append(notSent, m.OrderID)
				}
				if diff := cmp.Diff(tt.wantNotSent, notSent); diff != "" {
					t.Errorf("NotSent (-want +got):\n%s", diff)
				}
			}
			if got := len(drain(t, c.Client, url)); got != tt.wantSent {
				t.Errorf("%d messages reached the queue, want %d", got, tt.wantSent)
			}
		})
	}
}

func TestSendBatchClassifiesAFailedCall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want fault.Kind
	}{
		{"a throttled call is unavailable", &smithy.GenericAPIError{Code: "RequestThrottled", Message: "slow down"}, fault.Unavailable},
		{"a server fault is unavailable", &smithy.GenericAPIError{Code: "InternalError", Fault: smithy.FaultServer}, fault.Unavailable},
		{"a request too long is invalid", &smithy.GenericAPIError{Code: "AWS.SimpleQueueService.BatchRequestTooLong", Fault: smithy.FaultClient}, fault.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &recordingClient{Client: client(t), inject: func(int, *sqs.SendMessageBatchInput) ([]types.SendMessageBatchRequestEntry, []types.BatchResultErrorEntry, error) {
				return nil, nil, tt.err
			}}
			err := sqsadapter.NewQueue(c, "unused").SendBatch(t.Context(), orders("call", 12))
			if fault.KindOf(err) != tt.want || !errors.Is(err, tt.err) || !strings.Contains(err.Error(), "0 of 12 messages sent") {
				t.Errorf("SendBatch error = %v (kind %s), want kind %s saying none was sent", err, fault.KindOf(err), tt.want)
			}
		})
	}
}

// TestSendBatchCountsWhatWasSentBeforeACallFailed: a call that fails outright while a chunk's failed
// entries are resent leaves the rest of that chunk sent, and the error counts them.
func TestSendBatchCountsWhatWasSentBeforeACallFailed(t *testing.T) {
	t.Parallel()
	refused := &smithy.GenericAPIError{Code: "RequestThrottled", Message: "slow down"}
	first := failEntries(1, "InternalError", false, "3")
	c := &recordingClient{Client: client(t)}
	c.inject = func(call int, in *sqs.SendMessageBatchInput) ([]types.SendMessageBatchRequestEntry, []types.BatchResultErrorEntry, error) {
		if call == 2 {
			return nil, nil, refused
		}
		return first(call, in)
	}
	url := createQueue(t, c.Client, nil)
	err := sqsadapter.NewQueue(c, url, sqsadapter.WithBatchRetries(3, time.Millisecond)).SendBatch(t.Context(), orders("part", 12))
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "9 of 12 messages sent") {
		t.Errorf("SendBatch error = %v, want the refused call saying 9 of 12 were sent", err)
	}
	if got := len(drain(t, c.Client, url)); got != 9 {
		t.Errorf("%d messages reached the queue, want 9", got)
	}
}

// lambdaEvent is what Lambda's event source mapping hands the function for received messages.
func lambdaEvent(msgs []types.Message) events.SQSEvent {
	var ev events.SQSEvent
	for _, m := range msgs {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Attributes: m.Attributes, EventSource: "aws:sqs",
		})
	}
	return ev
}

// TestPartialBatchFailuresRedriveOnlyThePoisonMessage plays Lambda's event source mapping with
// ReportBatchItemFailures against moto: receive a batch, hand it to the SQS adapter, delete the records
// it did not report. The good messages are handled once and gone; the poison one comes back after each
// visibility timeout until, after maxReceiveCount receives, SQS moves it to the dead-letter queue.
func TestPartialBatchFailuresRedriveOnlyThePoisonMessage(t *testing.T) {
	t.Parallel()
	c := client(t)
	ctx := t.Context()
	dlq := createQueue(t, c, nil)
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(dlq), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	const maxReceiveCount = 3
	policy, _ := json.Marshal(map[string]string{"deadLetterTargetArn": attrs.Attributes["QueueArn"], "maxReceiveCount": fmt.Sprint(maxReceiveCount)})
	url := createQueue(t, c, map[string]string{"VisibilityTimeout": "1", "RedrivePolicy": string(policy)})

	good := orders("good", 7)
	poison := contracts.OrderMessage{OrderID: "poison", CorrelationID: "corr-poison"}
	if err := sqsadapter.NewQueue(c, url).SendBatch(ctx, append([]contracts.OrderMessage{good[0], good[1], poison}, good[2:]...)); err != nil {
		t.Fatalf("SendBatch: %v", err)
	}

	var mu sync.Mutex
	handled := map[string]int{}
	fn := awslambda.SQS(func(_ context.Context, m contracts.OrderMessage) error {
		mu.Lock()
		defer mu.Unlock()
		handled[m.OrderID]++
		if m.OrderID == poison.OrderID {
			return fault.Unavailablef("poison order")
		}
		return nil
	}, awslambda.WithLogger(slog.New(slog.DiscardHandler)))

	var poisonReceives []string // ApproximateReceiveCount of each receive of the poison message
	deadline := time.Now().Add(30 * time.Second)
	for dlqDepth(t, c, dlq) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the poison message did not reach the dead-letter queue; handled %v", handled)
		}
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		ev := lambdaEvent(out.Messages)
		resp, err := fn(ctx, ev)
		if err != nil {
			t.Fatalf("the SQS adapter returned error %v; it must be nil", err)
		}
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for _, rec := range ev.Records {
			if m, _ := awslambda.DecodeOrderMessage(rec.Body); m.OrderID == poison.OrderID {
				poisonReceives = append(poisonReceives, rec.Attributes["ApproximateReceiveCount"])
				if !failed[rec.MessageId] {
					t.Errorf("the poison message %s was not reported as failed", rec.MessageId)
				}
				continue
			}
			if failed[rec.MessageId] {
				t.Errorf("good message %s was reported as failed", rec.MessageId)
				continue
			}
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String(rec.ReceiptHandle)}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
	}

	// Longer than the visibility timeout: a good message that was not deleted would be back by now.
	if late := drain(t, c, url); len(late) != 0 {
		t.Errorf("messages redelivered after the poison one was dead-lettered: %v", late)
	}
	want := map[string]int{poison.OrderID: maxReceiveCount}
	for _, m := range good {
		want[m.OrderID] = 1
	}
	mu.Lock()
	if diff := cmp.Diff(want, handled); diff != "" {
		t.Errorf("times each order was handled (-want +got):\n%s", diff)
	}
	mu.Unlock()
	if diff := cmp.Diff([]string{"1", "2", "3"}, poisonReceives); diff != "" {
		t.Errorf("receive counts of the poison message (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"poison"}, sortedIDs(drain(t, c, dlq))); diff != "" {
		t.Errorf("dead-letter queue (-want +got):\n%s", diff)
	}
}

func dlqDepth(t *testing.T, c *sqs.Client, url string) int {
	t.Helper()
	out, err := c.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	var n int
	fmt.Sscan(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)], &n)
	return n
}
