package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
)

// callNames returns the names of the tool calls, in order.
func callNames(calls []contracts.ToolCall) []string {
	names := []string{}
	for _, c := range calls {
		names = append(names, c.Name)
	}
	return names
}

func TestTraceOfTheOfflineResponderListsTheToolsItCalled(t *testing.T) {
	t.Parallel()
	bot, _ := newBot(t, fixture(t), nil, Options{})
	req := contracts.ChatRequest{Query: "Where is my order?", CustomerID: "cust-bob", SessionID: "s"}
	trace, err := bot.Trace(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// Bob's newest order failed, so the responder picks the completed one from his recent orders and
	// tracks it.
	if diff := cmp.Diff([]string{ToolListRecentOrders, ToolTrackShipment}, callNames(trace.ToolCalls)); diff != "" {
		t.Fatalf("tools called (-want +got):\n%s", diff)
	}
	list, track := trace.ToolCalls[0], trace.ToolCalls[1]
	if got, want := string(list.Input), `{"limit":20}`; got != want {
		t.Errorf("list input = %s, want %s", got, want)
	}
	if got, want := string(track.Input), `{"orderId":"`+bobCompleted+`"}`; got != want {
		t.Errorf("track input = %s, want %s", got, want)
	}
	var tracking trackingInfo
	if err := json.Unmarshal(track.Output, &tracking); err != nil {
		t.Fatalf("track output %s: %v", track.Output, err)
	}
	if !tracking.Shipped || tracking.TrackingNumber != "FX123456789" || track.Error != "" {
		t.Errorf("track call = %+v, want the FedEx tracking number and no error", track)
	}
	if !strings.Contains(trace.Answer, "FX123456789") {
		t.Errorf("answer %q does not carry the tracking number the tool returned", trace.Answer)
	}

	// The answer is Answer's, word for word.
	other, _ := newBot(t, fixture(t), nil, Options{})
	resp, err := other.Answer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(resp, trace.ChatResponse); diff != "" {
		t.Errorf("Trace's response differs from Answer's (-answer +trace):\n%s", diff)
	}
}

func TestTraceRecordsTheModelsToolUseInputAndOutput(t *testing.T) {
	t.Parallel()
	const input = `{"orderId": "7k3m-q9tx"}` // as the model wrote it, spaces and case kept
	model := &scriptedModel{steps: []func(ModelRequest) (ModelResponse, error){
		askTool("t1", ToolGetOrderStatus, input),
		say(StopEndTurn, "Your order 7K3M-Q9TX is completed."),
	}}
	bot, reg := newBot(t, fixture(t), model, Options{})
	trace, err := bot.Trace(context.Background(), contracts.ChatRequest{Query: "How is 7k3m-q9tx?", CustomerID: "cust-alice", SessionID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	want := contracts.ChatResponse{Answer: "Your order 7K3M-Q9TX is completed.", SessionID: "s", OrderIDs: []string{aliceCompleted}, Source: contracts.ChatSourceModel}
	if diff := cmp.Diff(want, trace.ChatResponse); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if len(trace.ToolCalls) != 1 {
		t.Fatalf("tool calls = %+v, want one", trace.ToolCalls)
	}
	call := trace.ToolCalls[0]
	if call.Name != ToolGetOrderStatus || string(call.Input) != input || call.Error != "" {
		t.Errorf("tool call = %+v, want get_order_status with input %s and no error", call, input)
	}
	// The output is what the model was sent.
	if got, sent := string(call.Output), lastToolResults(t, model.requests[1])[0].Text; got != sent {
		t.Errorf("recorded output %s, model was sent %s", got, sent)
	}
	var details orderDetails
	if err := json.Unmarshal(call.Output, &details); err != nil {
		t.Fatal(err)
	}
	if details.OrderID != aliceCompleted || details.Status != "COMPLETED" {
		t.Errorf("output = %+v, want alice's completed order", details)
	}
	// Tracing counts the call once, as answering does.
	if got := metricValue(t, reg, "orderflow_chatbot_tool_calls_total", "tool", ToolGetOrderStatus, "outcome", "ok"); got != 1 {
		t.Errorf("get_order_status ok calls = %v, want 1", got)
	}
}

func TestTraceRecordsAFailingToolsError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		tool      string
		input     string
		wantInput string
		wantError string
	}{
		{"another customer's order", ToolGetOrderStatus, `{"orderId":"` + bobCompleted + `"}`, `{"orderId":"` + bobCompleted + `"}`, "not found"},
		{"unknown tool", "delete_order", `{}`, `{}`, "no tool"},
		{"input that is not JSON is kept as a string", ToolTrackShipment, `{"orderId":`, `"{\"orderId\":"`, "not valid"},
		{"no input", ToolListRecentOrders, ``, `{}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			model := &scriptedModel{steps: []func(ModelRequest) (ModelResponse, error){
				askTool("t1", tt.tool, tt.input), say(StopEndTurn, "Sorry, I couldn't look that up."),
			}}
			bot, _ := newBot(t, fixture(t), model, Options{})
			trace, err := bot.Trace(context.Background(), contracts.ChatRequest{Query: "hi", CustomerID: "cust-alice"})
			if err != nil {
				t.Fatal(err)
			}
			if len(trace.ToolCalls) != 1 {
				t.Fatalf("tool calls = %+v, want one", trace.ToolCalls)
			}
			call := trace.ToolCalls[0]
			if call.Name != tt.tool || string(call.Input) != tt.wantInput {
				t.Errorf("call = %s %s, want %s %s", call.Name, call.Input, tt.tool, tt.wantInput)
			}
			if tt.wantError == "" {
				if call.Error != "" || len(call.Output) == 0 {
					t.Errorf("call = %+v, want an output and no error", call)
				}
			} else if !strings.Contains(call.Error, tt.wantError) || call.Output != nil {
				t.Errorf("call = %+v, want no output and an error containing %q", call, tt.wantError)
			}
			if _, err := json.Marshal(trace); err != nil {
				t.Errorf("the trace cannot be encoded: %v", err)
			}
		})
	}
}

func TestTraceOfAFallbackListsTheModelsToolsThenTheResponders(t *testing.T) {
	t.Parallel()
	model := &scriptedModel{steps: []func(ModelRequest) (ModelResponse, error){
		askTool("t1", ToolListRecentOrders, `{"limit":2}`),
		fail(fault.Wrap(fault.Unavailable, errors.New("ServiceUnavailableException"), "model call failed")),
	}}
	bot, _ := newBot(t, fixture(t), model, Options{})
	trace, err := bot.Trace(context.Background(), contracts.ChatRequest{Query: "Why did order 0193b2c3 fail?", CustomerID: "cust-alice"})
	if err != nil {
		t.Fatal(err)
	}
	if trace.Source != contracts.ChatSourceFallback {
		t.Errorf("source = %q, want fallback", trace.Source)
	}
	if diff := cmp.Diff([]string{ToolListRecentOrders, ToolExplainFailure}, callNames(trace.ToolCalls)); diff != "" {
		t.Errorf("tools called (-want +got):\n%s", diff)
	}
}

func TestTraceWithoutToolCallsHasAnEmptyList(t *testing.T) {
	t.Parallel()
	bot, _ := newBot(t, fixture(t), nil, Options{})
	trace, err := bot.Trace(context.Background(), contracts.ChatRequest{Query: "hello", CustomerID: "cust-alice"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(trace)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"toolCalls":[]`) {
		t.Errorf("trace = %s, want an empty toolCalls list", b)
	}
}

func TestTraceRefusesWhatAnswerRefuses(t *testing.T) {
	t.Parallel()
	orders := fixture(t)
	bot, _ := newBot(t, orders, nil, Options{})
	if _, err := bot.Trace(context.Background(), contracts.ChatRequest{Query: " ", CustomerID: "cust-alice"}); !fault.Is(err, fault.Invalid) {
		t.Errorf("empty query: error = %v, want fault.Invalid", err)
	}
	orders.Err = fault.Unavailablef("store unavailable")
	if _, err := bot.Trace(context.Background(), contracts.ChatRequest{Query: "Where is my package?", CustomerID: "cust-alice"}); !fault.Is(err, fault.Unavailable) {
		t.Errorf("store outage: error = %v, want fault.Unavailable", err)
	}
}
