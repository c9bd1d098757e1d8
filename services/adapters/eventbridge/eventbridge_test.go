package eventbridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/awslambda"
	"github.com/orderflow/orderflow/services/adapters/emulators"
	"github.com/orderflow/orderflow/services/adapters/emulators/emulatorstest"
	ebadapter "github.com/orderflow/orderflow/services/adapters/eventbridge"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/pipeline"
)

func TestMain(m *testing.M) { os.Exit(emulatorstest.Main(m)) }

var at = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

// event is an event as pipeline.Envelope.Event makes it: the deterministic id also in the detail.
func event(orderID, detailType string, padding int) contracts.Event {
	id := pipeline.EventID(orderID, detailType)
	detail, _ := json.Marshal(map[string]any{"eventId": id, "orderId": orderID, "correlationId": "corr-" + orderID,
		"schemaVersion": contracts.SchemaVersion, "note": strings.Repeat("x", padding)})
	return contracts.Event{Version: "0", ID: id, DetailType: detailType, Source: contracts.SourceOrders,
		Account: "000000000000", Time: at, Region: "local", Resources: []string{orderID}, Detail: detail}
}

func eventsFor(prefix string, n, padding int) []contracts.Event {
	out := make([]contracts.Event, n)
	for i := range out {
		out[i] = event(fmt.Sprintf("%s-%02d", prefix, i), contracts.DetailOrderCreated, padding)
	}
	return out
}

// bus is a fresh moto bus whose one rule sends every orderflow event to a probe queue.
type bus struct {
	name     string
	eb       *eventbridge.Client
	sqs      *sqs.Client
	probeURL string
}

func newBus(t *testing.T) bus {
	t.Helper()
	cfg := emulatorstest.MotoConfig(t)
	b := bus{eb: eventbridge.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg)}
	b.name = emulatorstest.EventBus(t, b.eb)
	url, arn := emulatorstest.ProbeQueue(t, b.sqs)
	b.probeURL = url
	emulatorstest.RuleToQueue(t, b.eb, b.name, emulatorstest.UniqueName("all"), `{"source":[{"prefix":"orderflow."}]}`, arn)
	return b
}

// delivered returns the events the probe queue received, as the Lambda adapter hands them to a handler.
func (b bus) delivered(t *testing.T, want int) []contracts.Event {
	t.Helper()
	var out []contracts.Event
	handle := awslambda.EventBridge(func(_ context.Context, e contracts.Event) error {
		out = append(out, e)
		return nil
	})
	for _, body := range emulatorstest.ReceiveAll(t, b.sqs, b.probeURL, want, 10*time.Second) {
		var in events.EventBridgeEvent
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("probe message is not an EventBridge event: %v: %s", err, body)
		}
		if err := handle(t.Context(), in); err != nil {
			t.Fatalf("handle: %v", err)
		}
	}
	return out
}

func ids(evs []contracts.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	slices.Sort(out)
	return out
}

// recordingClient passes PutEvents calls to moto, keeping the entries of each call; inject, when set,
// gives each entry of a call its outcome instead: "" sends it to moto, anything else is the error code it
// fails with.
type recordingClient struct {
	ebadapter.Client
	mu     sync.Mutex
	calls  [][]types.PutEventsRequestEntry
	inject func(call, i int, e types.PutEventsRequestEntry) string
	result func(call int, out *eventbridge.PutEventsOutput) // rewrites a response, when set
	err    error                                            // fails every call, when set
}

func (c *recordingClient) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	c.mu.Lock()
	c.calls = append(c.calls, slices.Clone(in.Entries))
	call := len(c.calls)
	c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	if c.inject == nil {
		out, err := c.Client.PutEvents(ctx, in, opts...)
		if err == nil && c.result != nil {
			c.result(call, out)
		}
		return out, err
	}
	out := &eventbridge.PutEventsOutput{Entries: make([]types.PutEventsResultEntry, len(in.Entries))}
	var send []types.PutEventsRequestEntry
	var at []int
	for i, e := range in.Entries {
		if code := c.inject(call, i, e); code != "" {
			out.Entries[i] = types.PutEventsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("injected")}
			out.FailedEntryCount++
			continue
		}
		send, at = append(send, e), append(at, i)
	}
	if len(send) > 0 {
		real, err := c.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: send}, opts...)
		if err != nil {
			return nil, err
		}
		for j, r := range real.Entries {
			out.Entries[at[j]] = r
		}
		out.FailedEntryCount += real.FailedEntryCount
	}
	return out, nil
}

// callOrders returns the order ids of the entries of each call.
func (c *recordingClient) callOrders() [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][]string
	for _, call := range c.calls {
		var orders []string
		for _, e := range call {
			orders = append(orders, e.Resources[0])
		}
		out = append(out, orders)
	}
	return out
}

func callSizes(orders [][]string) []int {
	var out []int
	for _, call := range orders {
		out = append(out, len(call))
	}
	return out
}

func TestPublishPutsTheEventOnTheBusAsARuleTargetSeesIt(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	sent := []contracts.Event{
		event("order-1", contracts.DetailOrderCreated, 0),
		event("order-1", contracts.DetailOrderCompleted, 0),
	}
	sent[1].Source = contracts.SourceFulfillment
	if err := ebadapter.New(b.eb, b.name).Publish(t.Context(), sent...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	got := b.delivered(t, len(sent))
	slices.SortFunc(got, func(x, y contracts.Event) int { return strings.Compare(x.DetailType, y.DetailType) })
	slices.SortFunc(sent, func(x, y contracts.Event) int { return strings.Compare(x.DetailType, y.DetailType) })
	if len(got) != len(sent) {
		t.Fatalf("probe received %d events, want %d", len(got), len(sent))
	}
	for i, want := range sent {
		// EventBridge stamps its own account and region; the id comes back from the detail, not from the
		// fresh one EventBridge stamped.
		want.Account, want.Region = emulators.MotoAccount, emulators.MotoRegion
		if diff := cmp.Diff(want, got[i], cmp.Transformer("detail", func(d json.RawMessage) map[string]any {
			var m map[string]any
			_ = json.Unmarshal(d, &m)
			return m
		})); diff != "" {
			t.Errorf("delivered %s (-want +got):\n%s", want.DetailType, diff)
		}
	}
}

func TestPublishBatchesTwentyFiveEventsInThreeCalls(t *testing.T) {
	t.Parallel()
	b := newBus(t)
	c := &recordingClient{Client: b.eb}
	sent := eventsFor("batch", 25, 0)
	if err := ebadapter.New(c, b.name).Publish(t.Context(), sent...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if diff := cmp.Diff([]int{10, 10, 5}, callSizes(c.callOrders())); diff != "" {
		t.Errorf("entries per call (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids(sent), ids(b.delivered(t, len(sent)))); diff != "" {
		t.Errorf("delivered events (-want +got):\n%s", diff)
	}
}

func TestEntrySizeCountsWhatAWSCounts(t *testing.T) {
	t.Parallel()
	e := contracts.Event{Source: "orderflow.orders", DetailType: "OrderCreated", Detail: json.RawMessage(`{"a":"é"}`),
		Resources: []string{"order-1", "order-2"}, Time: at}
	entry := ebadapter.Entry(e, "bus")
	// 14 for the time, 16 + 12 for source and detail type, 10 bytes of UTF-8 detail, 7 + 7 of resources.
	if got := ebadapter.EntrySize(entry); got != 14+16+12+10+14 {
		t.Errorf("EntrySize = %d, want %d", got, 14+16+12+10+14)
	}
	e.Time = time.Time{}
	if entry := ebadapter.Entry(e, "bus"); entry.Time != nil || ebadapter.EntrySize(entry) != 16+12+10+14 {
		t.Errorf("an event without a time: entry time %v, size %d", entry.Time, ebadapter.EntrySize(entry))
	}
	if got := aws.ToString(entry.EventBusName); got != "bus" {
		t.Errorf("EventBusName = %q", got)
	}
}

func TestPublishKeepsEachCallWithinTheSizeLimit(t *testing.T) {
	t.Parallel()
	one := ebadapter.EntrySize(ebadapter.Entry(event("size-00", contracts.DetailOrderCreated, 1000), ""))
	tests := []struct {
		name    string
		limit   int
		n       int
		padding int
		want    []int // entries per call
	}{
		{"three entries fit one call", 3 * one, 7, 1000, []int{3, 3, 1}},
		{"one byte short of three entries makes calls of two", 3*one - 1, 7, 1000, []int{2, 2, 2, 1}},
		{"the entry count still caps a large limit", 100 * one, 12, 1000, []int{10, 2}},
		{"the default limit holds 256 KiB per call", ebadapter.DefaultMaxSize, 6, 60 << 10, []int{4, 2}},
		{"the 2026 limit of 1 MiB takes events over 256 KiB", 1 << 20, 3, 300 << 10, []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBus(t)
			c := &recordingClient{Client: b.eb}
			sent := eventsFor("size", tt.n, tt.padding)
			if err := ebadapter.New(c, b.name, ebadapter.WithMaxSize(tt.limit)).Publish(t.Context(), sent...); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			if diff := cmp.Diff(tt.want, callSizes(c.callOrders())); diff != "" {
				t.Errorf("entries per call (-want +got):\n%s", diff)
			}
			for i, call := range c.calls {
				size := 0
				for _, e := range call {
					size += ebadapter.EntrySize(e)
				}
				if size > tt.limit {
					t.Errorf("call %d carries %d bytes, over the limit of %d", i+1, size, tt.limit)
				}
			}
			if diff := cmp.Diff(ids(sent), ids(b.delivered(t, len(sent)))); diff != "" {
				t.Errorf("delivered events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPublishOfNoEventsMakesNoCall(t *testing.T) {
	t.Parallel()
	c := &recordingClient{err: fmt.Errorf("must not be called")}
	if err := ebadapter.New(c, "bus").Publish(context.Background()); err != nil || len(c.callOrders()) != 0 {
		t.Errorf("Publish() = %v after %d calls, want nil after none", err, len(c.callOrders()))
	}
}

func TestPublishRefusesAnEventOverTheLimitAndSendsNothing(t *testing.T) {
	t.Parallel()
	c := &recordingClient{err: fmt.Errorf("must not be called")}
	big := event("big-order", contracts.DetailOrderCreated, ebadapter.DefaultMaxSize)
	err := ebadapter.New(c, "bus").Publish(context.Background(), event("small-order", contracts.DetailOrderCreated, 0), big)
	if !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), big.ID) || !strings.Contains(err.Error(), "big-order") {
		t.Errorf("Publish = %v, want a fault.Invalid naming the event and its order", err)
	}
	if len(c.callOrders()) != 0 {
		t.Errorf("%d calls made, want none", len(c.callOrders()))
	}
}

func TestPublishResendsOnlyTheFailedEntries(t *testing.T) {
	t.Parallel()
	// failing fails the entries of orders, with code, the first `times` times each is sent.
	failing := func(times int, code string, orders ...string) func(call, i int, e types.PutEventsRequestEntry) string {
		var mu sync.Mutex
		sends := map[string]int{}
		return func(_, _ int, e types.PutEventsRequestEntry) string {
			mu.Lock()
			defer mu.Unlock()
			order := e.Resources[0]
			sends[order]++
			if sends[order] <= times && slices.Contains(orders, order) {
				return code
			}
			return ""
		}
	}
	tests := []struct {
		name      string
		inject    func(call, i int, e types.PutEventsRequestEntry) string
		result    func(call int, out *eventbridge.PutEventsOutput)
		n         int
		wantCalls [][]string
		wantKind  fault.Kind
		wantErr   []string // what the error must name; nil for success
		wantSent  int
	}{
		{
			name:   "entries failing once are resent alone and in order",
			inject: failing(1, "ThrottlingException", "retry-03", "retry-01"),
			n:      5,
			wantCalls: [][]string{
				{"retry-00", "retry-01", "retry-02", "retry-03", "retry-04"},
				{"retry-01", "retry-03"},
			},
			wantSent: 5,
		},
		{
			name:   "failures in two calls of a large publish are resent within their own call",
			inject: failing(1, "InternalFailure", "retry-02", "retry-11"),
			n:      12,
			wantCalls: [][]string{
				{"retry-00", "retry-01", "retry-02", "retry-03", "retry-04", "retry-05", "retry-06", "retry-07", "retry-08", "retry-09"},
				{"retry-02"},
				{"retry-10", "retry-11"},
				{"retry-11"},
			},
			wantSent: 12,
		},
		{
			name:      "an entry failing every time is retried three times and then named",
			inject:    failing(99, "InternalFailure", "retry-01"),
			n:         3,
			wantCalls: [][]string{{"retry-00", "retry-01", "retry-02"}, {"retry-01"}, {"retry-01"}, {"retry-01"}},
			wantKind:  fault.Unavailable,
			wantErr:   []string{pipeline.EventID("retry-01", contracts.DetailOrderCreated), "order retry-01", "InternalFailure"},
			wantSent:  2,
		},
		{
			name:      "a malformed entry is not resent",
			inject:    failing(99, "MalformedDetail", "retry-02"),
			n:         3,
			wantCalls: [][]string{{"retry-00", "retry-01", "retry-02"}},
			wantKind:  fault.Invalid,
			wantErr:   []string{pipeline.EventID("retry-02", contracts.DetailOrderCreated), "MalformedDetail"},
			wantSent:  2,
		},
		{
			name: "a response that does not line up with the request is resent whole",
			result: func(call int, out *eventbridge.PutEventsOutput) {
				if call == 1 {
					out.Entries = out.Entries[:1]
				}
			},
			n:         2,
			wantCalls: [][]string{{"retry-00", "retry-01"}, {"retry-00", "retry-01"}},
			wantSent:  4, // moto got both calls in full: consumers deduplicate by event id
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newBus(t)
			c := &recordingClient{Client: b.eb, inject: tt.inject, result: tt.result}
			sent := eventsFor("retry", tt.n, 0)
			err := ebadapter.New(c, b.name, ebadapter.WithRetries(3, time.Millisecond)).Publish(t.Context(), sent...)
			if diff := cmp.Diff(tt.wantCalls, c.callOrders()); diff != "" {
				t.Errorf("orders per call (-want +got):\n%s", diff)
			}
			if tt.wantErr == nil && err != nil {
				t.Errorf("Publish: %v", err)
			}
			if tt.wantErr != nil {
				if fault.KindOf(err) != tt.wantKind {
					t.Errorf("Publish error %v is of kind %s, want %s", err, fault.KindOf(err), tt.wantKind)
				}
				for _, s := range tt.wantErr {
					if err == nil || !strings.Contains(err.Error(), s) {
						t.Errorf("error %v does not name %q", err, s)
					}
				}
			}
			if got := len(b.delivered(t, tt.wantSent)); got != tt.wantSent {
				t.Errorf("%d events delivered, want %d", got, tt.wantSent)
			}
		})
	}
}

func TestPublishClassifiesAFailedCall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want fault.Kind
	}{
		{"throttling is unavailable", &smithy.GenericAPIError{Code: "ThrottlingException"}, fault.Unavailable},
		{"an internal error is unavailable", &smithy.GenericAPIError{Code: "InternalException", Fault: smithy.FaultServer}, fault.Unavailable},
		{"a missing bus is internal", &smithy.GenericAPIError{Code: "ResourceNotFoundException", Fault: smithy.FaultClient}, fault.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &recordingClient{err: tt.err}
			err := ebadapter.New(c, "bus").Publish(context.Background(), eventsFor("call", 12, 0)...)
			if fault.KindOf(err) != tt.want || !strings.Contains(err.Error(), "left 12 of 12 events unpublished") {
				t.Errorf("Publish = %v (kind %s), want kind %s", err, fault.KindOf(err), tt.want)
			}
		})
	}
}
