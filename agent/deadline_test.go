package agent

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/order"
)

// deadlineOrders fails every read once its context is done, as the DynamoDB client does.
type deadlineOrders struct{ Orders }

func (o deadlineOrders) Get(ctx context.Context, id string) (*order.Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return o.Orders.Get(ctx, id)
}

func (o deadlineOrders) List(ctx context.Context, customerID string, limit int, cursor string) ([]*order.Order, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	return o.Orders.List(ctx, customerID, limit, cursor)
}

func (o deadlineOrders) GetByReference(ctx context.Context, customerID, reference string) (*order.Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return o.Orders.GetByReference(ctx, customerID, reference)
}

// stallingModel answers its first call with a tool use, then blocks every later call until the call's
// context ends, as a Bedrock call does that runs into the deadline. It records the deadline of each
// call's context.
type stallingModel struct {
	mu        sync.Mutex
	deadlines []time.Time
	first     func(ModelRequest) (ModelResponse, error)
}

func (m *stallingModel) Converse(ctx context.Context, req ModelRequest) (ModelResponse, error) {
	m.mu.Lock()
	deadline, _ := ctx.Deadline()
	m.deadlines = append(m.deadlines, deadline)
	n := len(m.deadlines)
	m.mu.Unlock()
	if n == 1 {
		return m.first(req)
	}
	<-ctx.Done()
	return ModelResponse{}, ctx.Err()
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A model that stalls until the request's deadline does not take the offline responder's time: the
// responder still answers, from a store that fails reads on an ended context, before the deadline.
func TestSlowModelLeavesTheFallbackTimeBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	const query = "Why did order 0193b2c3 fail?"
	offlineBot, _ := newBot(t, fixture(t), nil, Options{})
	offline, err := offlineBot.Answer(context.Background(), contracts.ChatRequest{Query: query, CustomerID: "cust-alice", SessionID: "s"})
	if err != nil {
		t.Fatal(err)
	}

	model := &stallingModel{first: askTool("t1", ToolGetOrderStatus, `{"orderId":"0193b2c3"}`)}
	var logs lockedBuffer
	bot, reg := newBot(t, deadlineOrders{fixture(t)}, model, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	resp, err := bot.Answer(ctx, contracts.ChatRequest{Query: query, CustomerID: "cust-alice", SessionID: "s"})
	if err != nil {
		t.Fatalf("Answer: %v, want the offline responder's answer", err)
	}
	if diff := cmp.Diff(offline, resp); diff != "" {
		t.Errorf("Answer (-offline responder +got):\n%s", diff)
	}
	if !strings.Contains(resp.Answer, "Card declined by issuer") {
		t.Errorf("answer %q does not say why order 0193b2c3 failed", resp.Answer)
	}
	if diff := cmp.Diff([]string{aliceFailed}, resp.OrderIDs); diff != "" {
		t.Errorf("order ids (-want +got):\n%s", diff)
	}
	if len(model.deadlines) != 2 {
		t.Fatalf("model called %d times, want 2", len(model.deadlines))
	}
	if got := metricValue(t, reg, "orderflow_chatbot_fallbacks_total", "reason", reasonModelError); got != 1 {
		t.Errorf("model_error fallbacks = %v, want 1", got)
	}
	if got := metricValue(t, reg, "orderflow_chatbot_model_calls_total", "stop_reason", "error"); got != 1 {
		t.Errorf("failed model calls = %v, want 1", got)
	}
	if got := metricValue(t, reg, "orderflow_chatbot_requests_total", "source", contracts.ChatSourceFallback, "outcome", "ok"); got != 1 {
		t.Errorf("fallback answers = %v, want 1", got)
	}
	if !strings.Contains(logs.String(), "chatbot model failed; answering offline") {
		t.Errorf("log does not tell of the model failure:\n%s", logs.String())
	}
}

// The model's rounds end the reserve before the request's deadline, or a quarter of the time left when
// that is less; without a deadline they have none of their own.
func TestModelDeadlineKeepsTheReserve(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		reserve time.Duration
		timeout time.Duration // 0: no deadline
		// keep bounds the time between the model's deadline and the request's.
		minKeep, maxKeep time.Duration
	}{
		{name: "no deadline", reserve: time.Second},
		{name: "default reserve", timeout: time.Hour, minKeep: DefaultFallbackReserve, maxKeep: DefaultFallbackReserve},
		{name: "reserve option", reserve: 5 * time.Second, timeout: time.Hour, minKeep: 5 * time.Second, maxKeep: 5 * time.Second},
		{name: "short deadline", reserve: time.Hour, timeout: 40 * time.Second, minKeep: 9 * time.Second, maxKeep: 10 * time.Second},
		{name: "no reserve", reserve: -1, timeout: time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			model := &stallingModel{first: say(StopEndTurn, "Order 0193b2c3 failed: the card was declined.")}
			bot, _ := newBot(t, fixture(t), model, Options{FallbackReserve: tc.reserve})
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			if _, err := bot.Answer(ctx, contracts.ChatRequest{Query: "Why did order 0193b2c3 fail?", CustomerID: "cust-alice"}); err != nil {
				t.Fatal(err)
			}
			got := model.deadlines[0]
			want, ok := ctx.Deadline()
			if !ok {
				if !got.IsZero() {
					t.Errorf("model deadline %v, want none", got)
				}
				return
			}
			if keep := want.Sub(got); keep < tc.minKeep || keep > tc.maxKeep {
				t.Errorf("model deadline %v before the request's, want between %v and %v", keep, tc.minKeep, tc.maxKeep)
			}
		})
	}
}
