package awslambda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/awslambda"
	"github.com/orderflow/orderflow/services/fault"
)

var at = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func envelope(detail string) events.EventBridgeEvent {
	return events.EventBridgeEvent{
		Version: "0", ID: "fresh-envelope-id", DetailType: contracts.DetailOrderCreated, Source: contracts.SourceOrders,
		AccountID: "123456789012", Time: at, Region: "eu-west-1", Resources: []string{"order-1"}, Detail: json.RawMessage(detail),
	}
}

func TestEventConvertsTheEnvelope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		detail string
		wantID string
	}{
		{"the detail's eventId becomes the id", `{"eventId":"deterministic-1","orderId":"order-1"}`, "deterministic-1"},
		{"without eventId the envelope id stays", `{"orderId":"order-1"}`, "fresh-envelope-id"},
		{"an empty eventId is ignored", `{"eventId":"","orderId":"order-1"}`, "fresh-envelope-id"},
		{"a detail that is not an object keeps the envelope id", `[1,2]`, "fresh-envelope-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := contracts.Event{
				Version: "0", ID: tt.wantID, DetailType: contracts.DetailOrderCreated, Source: contracts.SourceOrders,
				Account: "123456789012", Time: at, Region: "eu-west-1", Resources: []string{"order-1"}, Detail: json.RawMessage(tt.detail),
			}
			if diff := cmp.Diff(want, awslambda.Event(envelope(tt.detail))); diff != "" {
				t.Errorf("Event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventDecodesTheJSONLambdaDelivers(t *testing.T) {
	t.Parallel()
	raw := `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"OrderCreated","source":"orderflow.orders",
		"account":"111122223333","time":"2026-12-01T09:00:00Z","region":"us-east-1","resources":["order-1"],
		"detail":{"eventId":"deterministic-1","orderId":"order-1"}}`
	var in events.EventBridgeEvent
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		t.Fatal(err)
	}
	got := awslambda.Event(in)
	if got.ID != "deterministic-1" || got.DetailType != "OrderCreated" || got.Source != "orderflow.orders" ||
		got.Account != "111122223333" || !got.Time.Equal(at) || got.Region != "us-east-1" || got.Resources[0] != "order-1" {
		t.Errorf("Event = %+v", got)
	}
}

func TestEventBridgeReturnsTheHandlersErrorAndLogsIt(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	boom := fault.Unavailablef("store down")
	var got contracts.Event
	fn := awslambda.EventBridge(func(_ context.Context, e contracts.Event) error { got = e; return boom }, awslambda.WithLogger(log))
	err := fn(context.Background(), envelope(`{"eventId":"deterministic-1"}`))
	if !errors.Is(err, boom) {
		t.Errorf("error = %v, want it to wrap the handler's", err)
	}
	if got.ID != "deterministic-1" {
		t.Errorf("handler saw id %q, want the detail's eventId", got.ID)
	}
	if !bytes.Contains(logs.Bytes(), []byte(`"event":"deterministic-1"`)) || !bytes.Contains(logs.Bytes(), []byte(`"kind":"unavailable"`)) {
		t.Errorf("log = %s, want the event id and the kind", logs.String())
	}
	if err := awslambda.EventBridge(func(context.Context, contracts.Event) error { return nil })(context.Background(), envelope(`{}`)); err != nil {
		t.Errorf("a handled event returned %v", err)
	}
}

func record(id, body string) events.SQSMessage {
	return events.SQSMessage{MessageId: id, Body: body, Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
}

func TestSQSReportsEveryFailedRecordAndNeverFailsTheBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		records []events.SQSMessage
		want    []string // message ids reported as failed
		handled []string // order ids the handler saw
	}{
		{"all handled reports nothing", []events.SQSMessage{record("m1", `{"orderId":"o1"}`), record("m2", `{"orderId":"o2"}`)}, nil, []string{"o1", "o2"}},
		{"a failing handler reports only its record", []events.SQSMessage{record("m1", `{"orderId":"o1"}`), record("m2", `{"orderId":"fail"}`), record("m3", `{"orderId":"o3"}`)}, []string{"m2"}, []string{"o1", "fail", "o3"}},
		{"a body that is not JSON is reported", []events.SQSMessage{record("m1", `not json`), record("m2", `{"orderId":"o2"}`)}, []string{"m1"}, []string{"o2"}},
		{"a body without an order id is reported", []events.SQSMessage{record("m1", `{"correlationId":"c"}`)}, []string{"m1"}, nil},
		{"a panicking handler is reported", []events.SQSMessage{record("m1", `{"orderId":"panic"}`), record("m2", `{"orderId":"o2"}`)}, []string{"m1"}, []string{"panic", "o2"}},
		{"an empty batch reports nothing", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			seen := map[string]bool{}
			h := func(_ context.Context, m contracts.OrderMessage) error {
				mu.Lock()
				seen[m.OrderID] = true
				mu.Unlock()
				switch m.OrderID {
				case "fail":
					return fault.Unavailablef("try later")
				case "panic":
					panic("boom")
				}
				return nil
			}
			fn := awslambda.SQS(h, awslambda.WithLogger(slog.New(slog.DiscardHandler)))
			resp, err := fn(context.Background(), events.SQSEvent{Records: tt.records})
			if err != nil {
				t.Fatalf("SQS returned error %v; it must always be nil", err)
			}
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BatchItemFailures (-want +got):\n%s", diff)
			}
			for _, id := range tt.handled {
				if !seen[id] {
					t.Errorf("order %s was not handled", id)
				}
			}
			if len(seen) != len(tt.handled) {
				t.Errorf("handled %v, want %v", seen, tt.handled)
			}
		})
	}
}

func TestSQSResponseEncodesAsAnEmptyListWhenAllSucceed(t *testing.T) {
	t.Parallel()
	fn := awslambda.SQS(func(context.Context, contracts.OrderMessage) error { return nil })
	resp, _ := fn(context.Background(), events.SQSEvent{Records: []events.SQSMessage{record("m1", `{"orderId":"o1"}`)}})
	b, _ := json.Marshal(resp)
	if string(b) != `{"batchItemFailures":[]}` {
		t.Errorf("response = %s", b)
	}
}

func TestSQSHandlesRecordsConcurrentlyWithinTheBound(t *testing.T) {
	t.Parallel()
	const bound = 3
	var running, peak atomic.Int32
	release := make(chan struct{})
	h := func(context.Context, contracts.OrderMessage) error {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		running.Add(-1)
		return nil
	}
	var recs []events.SQSMessage
	for i := range 10 {
		recs = append(recs, record(string(rune('a'+i)), `{"orderId":"o"}`))
	}
	done := make(chan events.SQSEventResponse)
	go func() {
		resp, _ := awslambda.SQS(h, awslambda.WithConcurrency(bound))(context.Background(), events.SQSEvent{Records: recs})
		done <- resp
	}()
	deadline := time.After(5 * time.Second)
	for running.Load() < bound {
		select {
		case <-deadline:
			t.Fatalf("only %d records ran at once, want %d", running.Load(), bound)
		case <-time.After(time.Millisecond):
		}
	}
	close(release)
	if resp := <-done; len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures %v", resp.BatchItemFailures)
	}
	if p := peak.Load(); p != bound {
		t.Errorf("peak concurrency %d, want %d", p, bound)
	}
}

func TestDecodeOrderMessageRefusesWhatIsNotAnOrderMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       contracts.OrderMessage
		wantErr    bool
	}{
		{"an order message", `{"orderId":"o1","correlationId":"c1"}`, contracts.OrderMessage{OrderID: "o1", CorrelationID: "c1"}, false},
		{"not JSON", `{`, contracts.OrderMessage{}, true},
		{"no order id", `{}`, contracts.OrderMessage{}, true},
		{"a JSON string", `"o1"`, contracts.OrderMessage{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := awslambda.DecodeOrderMessage(tt.body)
			if tt.wantErr {
				if !fault.Is(err, fault.Invalid) {
					t.Errorf("error = %v, want a fault.Invalid", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("DecodeOrderMessage = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestScheduledRunsTheFunctionAndReturnsItsError(t *testing.T) {
	t.Parallel()
	runs := 0
	boom := errors.New("store down")
	fn := awslambda.Scheduled(func(context.Context) error { runs++; return boom }, awslambda.WithLogger(slog.New(slog.DiscardHandler)))
	scheduled := json.RawMessage(`{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`)
	if err := fn(context.Background(), scheduled); !errors.Is(err, boom) || runs != 1 {
		t.Errorf("Scheduled: err %v after %d runs, want the function's error after 1", err, runs)
	}
}

// The handlers as the Lambda runtime calls them: from the JSON payloads AWS sends to the JSON it answers.
func TestHandlersAnswerTheLambdaRuntime(t *testing.T) {
	t.Parallel()
	quiet := awslambda.WithLogger(slog.New(slog.DiscardHandler))
	var seen []string
	orderHandler := func(_ context.Context, m contracts.OrderMessage) error {
		if m.OrderID == "bad" {
			return fault.Unavailablef("try later")
		}
		return nil
	}
	eventHandler := func(_ context.Context, e contracts.Event) error {
		seen = append(seen, e.ID)
		if e.DetailType == "Boom" {
			return errors.New("boom")
		}
		return nil
	}
	tests := []struct {
		name    string
		handler any
		payload string
		want    string // the response JSON; "" when the invocation must fail
	}{
		{
			name:    "an SQS batch answers with the failed message ids",
			handler: awslambda.SQS(orderHandler, quiet),
			payload: `{"Records":[
				{"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d","receiptHandle":"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a","body":"{\"orderId\":\"good\"}",
				 "attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1545082649183"},"messageAttributes":{},
				 "md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-2:123456789012:my-queue","awsRegion":"us-east-2"},
				{"messageId":"2e1424d4-f796-459a-8184-9c92662be6da","receiptHandle":"AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq","body":"{\"orderId\":\"bad\"}",
				 "attributes":{"ApproximateReceiveCount":"2"},"messageAttributes":{},"eventSource":"aws:sqs","awsRegion":"us-east-2"}]}`,
			want: `{"batchItemFailures":[{"itemIdentifier":"2e1424d4-f796-459a-8184-9c92662be6da"}]}`,
		},
		{
			name:    "an EventBridge event that is handled answers null",
			handler: awslambda.EventBridge(eventHandler, quiet),
			payload: `{"version":"0","id":"fresh","detail-type":"OrderCreated","source":"orderflow.orders","account":"123456789012",
				"time":"2026-12-01T09:00:00Z","region":"us-east-1","resources":["o1"],"detail":{"eventId":"deterministic-1"}}`,
			want: `null`,
		},
		{
			name:    "an EventBridge event whose handler fails fails the invocation",
			handler: awslambda.EventBridge(eventHandler, quiet),
			payload: `{"version":"0","id":"fresh","detail-type":"Boom","source":"orderflow.orders","time":"2026-12-01T09:00:00Z","detail":{}}`,
		},
		{
			name:    "a scheduled event runs the function",
			handler: awslambda.Scheduled(func(context.Context) error { return nil }, quiet),
			payload: `{"version":"0","id":"53dc4d37","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",
				"time":"2026-12-01T09:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/reconcile"],"detail":{}}`,
			want: `null`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := lambda.NewHandler(tt.handler).Invoke(context.Background(), []byte(tt.payload))
			if tt.want == "" {
				if err == nil {
					t.Errorf("Invoke = %s, want an error", out)
				}
				return
			}
			if err != nil || string(out) != tt.want {
				t.Errorf("Invoke = %s, %v; want %s", out, err, tt.want)
			}
		})
	}
	if diff := cmp.Diff([]string{"deterministic-1", "fresh"}, seen); diff != "" {
		t.Errorf("event ids the handler saw (-want +got):\n%s", diff)
	}
}
