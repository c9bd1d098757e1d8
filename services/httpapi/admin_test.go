package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/httpapi"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/live"
	"github.com/orderflow/orderflow/services/order"
)

// searchingOrders answers Search from the in-memory orders by listing every customer's orders, and
// remembers the last query.
type searchingOrders struct {
	orders *memOrders
	mu     sync.Mutex
	last   order.Search
}

func (s *searchingOrders) Search(ctx context.Context, q order.Search) ([]*order.Order, string, error) {
	s.mu.Lock()
	s.last = q
	s.mu.Unlock()
	if q.Cursor == "bad" {
		return nil, "", fault.Invalidf("cursor %q is not valid", q.Cursor)
	}
	var out []*order.Order
	for _, c := range []string{"cust-1", "cust-2"} {
		page, _, err := s.orders.Orders.List(ctx, c, 100, "")
		if err != nil {
			return nil, "", err
		}
		for _, o := range page {
			if (q.Status == "" || o.Status() == q.Status) && (q.CustomerID == "" || o.CustomerID() == q.CustomerID) &&
				(q.Reference == "" || o.Reference() == q.Reference) {
				out = append(out, o)
			}
		}
	}
	slices.SortFunc(out, func(a, b *order.Order) int { return strings.Compare(b.ID(), a.ID()) })
	if len(out) > q.Limit {
		return out[:q.Limit], "next-page", nil
	}
	return out, "", nil
}

func (s *searchingOrders) query() order.Search {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// memTexts holds texts by order.
type memTexts map[string][]contracts.Text

func (m memTexts) Texts(_ context.Context, orderID string) ([]contracts.Text, error) {
	return m[orderID], nil
}

// memDeadLetters is a dead-letter table in memory.
type memDeadLetters struct {
	mu      sync.Mutex
	letters []contracts.DeadLetter
	fail    error
}

func (m *memDeadLetters) List(_ context.Context, limit int) ([]contracts.DeadLetter, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, 0, m.fail
	}
	return slices.Clone(m.letters[:min(limit, len(m.letters))]), len(m.letters), nil
}

func (m *memDeadLetters) Redrive(_ context.Context, ids ...int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	before := len(m.letters)
	m.letters = slices.DeleteFunc(m.letters, func(d contracts.DeadLetter) bool { return len(ids) == 0 || slices.Contains(ids, d.ID) })
	return before - len(m.letters), nil
}

// tracingChatbot answers with one tool call.
type tracingChatbot struct{ got []contracts.ChatRequest }

func (c *tracingChatbot) Trace(_ context.Context, req contracts.ChatRequest) (contracts.ChatTrace, error) {
	c.got = append(c.got, req)
	return contracts.ChatTrace{
		ChatResponse: contracts.ChatResponse{Answer: "It is on its way.", SessionID: "s-9", OrderIDs: []string{}, Source: contracts.ChatSourceFallback},
		ToolCalls:    []contracts.ToolCall{{Name: "list_recent_orders", Input: json.RawMessage(`{"limit":5}`), Output: json.RawMessage(`{"orders":[]}`)}},
	}, nil
}

// adminEnv is an API with every admin service.
type adminEnv struct {
	*env
	search  *searchingOrders
	texts   memTexts
	letters *memDeadLetters
	board   *live.Board
	chatbot *tracingChatbot
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	a := &adminEnv{texts: memTexts{}, letters: &memDeadLetters{}, chatbot: &tracingChatbot{},
		board: live.New(map[order.Status]int64{order.Completed: 4}, live.Options{DeadLetters: func(context.Context) (int, error) { return 2, nil }})}
	a.env = newEnv(t, func(_ *httpapi.Config, d *httpapi.Deps) {
		a.search = &searchingOrders{orders: d.Orders.(*memOrders)}
		d.Admin = &httpapi.Admin{Orders: a.search, Texts: a.texts, DeadLetters: a.letters, Live: a.board, Chatbot: a.chatbot,
			Subscriptions: func() []contracts.Subscription {
				return []contracts.Subscription{{Name: "warehouse", Endpoint: "http://warehouse.example/hook", EventPattern: json.RawMessage(`{"source":["orderflow.fulfillment"]}`),
					Delivered: 3, Failed: 1, Recent: []contracts.Delivery{{EventID: "e1", DetailType: "OrderCompleted", StatusCode: 503, Error: "503 Service Unavailable"}}}}
			}}
	})
	return a
}

func TestAdminEndpointsNeedAnAdminKey(t *testing.T) {
	a := newAdminEnv(t)
	for _, r := range []request{
		{method: "GET", path: "/admin/orders"},
		{method: "GET", path: "/admin/orders/x/texts"},
		{method: "GET", path: "/admin/dead-letters"},
		{method: "POST", path: "/admin/dead-letters/redrive", body: `{"all":true}`},
		{method: "GET", path: "/admin/live"},
		{method: "GET", path: "/admin/live/stream"},
		{method: "POST", path: "/admin/chatbot", body: `{"query":"hi","customerId":"c"}`},
		{method: "GET", path: "/admin/subscriptions"},
	} {
		for _, key := range []string{"", "wrong-key", clientKey} {
			r.key = key
			res := a.do(t, r)
			if res.status != http.StatusForbidden || res.errorBody(t).Error.Code != contracts.CodeForbidden {
				t.Errorf("%s %s with key %q: %d %s, want 403 FORBIDDEN", r.method, r.path, key, res.status, res.body)
			}
		}
	}
	if n := len(a.letters.letters); n != 0 {
		t.Fatalf("setup: %d dead letters", n)
	}
	// Without the admin services the endpoints do not exist.
	plain := newEnv(t)
	if res := plain.do(t, request{method: "GET", path: "/admin/live", key: adminKey}); res.status != http.StatusNotFound {
		t.Errorf("GET /admin/live without admin services: %d, want 404", res.status)
	}
}

func TestAdminSearchFindsOrdersOfAnyCustomer(t *testing.T) {
	a := newAdminEnv(t)
	first := a.createOrder(t, "cust-1")
	second := a.createOrder(t, "cust-2")
	a.orders.moveTo(t, second.OrderID, order.Fulfillment)

	var page contracts.OrderList
	res := a.do(t, request{method: "GET", path: "/admin/orders?limit=1", key: adminKey})
	res.decode(t, &page)
	if res.status != 200 || len(page.Orders) != 1 || page.Orders[0].OrderID != second.OrderID || page.NextCursor == nil {
		t.Fatalf("first page: %d %s, want the newest order and a cursor", res.status, res.body)
	}
	res = a.do(t, request{method: "GET", path: "/admin/orders?status=FULFILLMENT&customerId=cust-2", key: adminKey})
	res.decode(t, &page)
	if len(page.Orders) != 1 || page.Orders[0].Status != "FULFILLMENT" || page.NextCursor != nil {
		t.Errorf("by status and customer: %s", res.body)
	}
	if q := a.search.query(); q.Status != order.Fulfillment || q.CustomerID != "cust-2" || q.Limit != 20 {
		t.Errorf("query %+v: want status, customer and the default limit", q)
	}
	ref := strings.ToLower(strings.ReplaceAll(first.Reference, "-", ""))
	res = a.do(t, request{method: "GET", path: "/admin/orders?reference=" + ref, key: adminKey})
	res.decode(t, &page)
	if len(page.Orders) != 1 || page.Orders[0].OrderID != first.OrderID {
		t.Errorf("by reference %s: %s", ref, res.body)
	}
	for _, tc := range []struct{ query, field string }{
		{"status=SHIPPED", "status"},
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"limit=+5", "limit"},
		{"limit=05", "limit"},
		{"reference=nope", "reference"},
		{"reference=7K3M-Q9TX&cursor=abc", "cursor"},
		{"customerId=" + strings.Repeat("c", contracts.MaxCustomerIDLength+1), "customerId"},
		{"cursor=bad", ""},
	} {
		res := a.do(t, request{method: "GET", path: "/admin/orders?" + tc.query, key: adminKey})
		body := res.errorBody(t)
		if res.status != 400 || (tc.field != "" && (len(body.Error.Details) == 0 || body.Error.Details[0].Field != tc.field)) {
			t.Errorf("?%s: %d %s, want 400 about %q", tc.query, res.status, res.body, tc.field)
		}
	}
}

func TestAdminTextsOfAnOrder(t *testing.T) {
	a := newAdminEnv(t)
	o := a.createOrder(t, "cust-1")
	sent := contracts.Text{ID: "sms-1", OrderID: o.OrderID, To: "+31629408162", Text: "🛒 Order Created!", SentAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	a.texts[o.OrderID] = []contracts.Text{sent}
	var list contracts.TextList
	res := a.do(t, request{method: "GET", path: "/admin/orders/" + o.OrderID + "/texts", key: adminKey})
	res.decode(t, &list)
	if res.status != 200 || len(list.Texts) != 1 || list.Texts[0] != sent {
		t.Errorf("texts: %d %s", res.status, res.body)
	}
	other := a.createOrder(t, "cust-2")
	if res := a.do(t, request{method: "GET", path: "/admin/orders/" + other.OrderID + "/texts", key: adminKey}); res.status != 200 || string(res.body) != `{"texts":[]}`+"\n" {
		t.Errorf("an order without texts: %d %q, want an empty list", res.status, res.body)
	}
	if res := a.do(t, request{method: "GET", path: "/admin/orders/no-such-order/texts", key: adminKey}); res.status != 404 {
		t.Errorf("texts of an unknown order: %d, want 404", res.status)
	}
}

func TestAdminDeadLettersListAndRedrive(t *testing.T) {
	a := newAdminEnv(t)
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := int64(1); i <= 3; i++ {
		a.letters.letters = append(a.letters.letters, contracts.DeadLetter{ID: i, Target: "webhook:warehouse", DetailType: "OrderCompleted", OrderID: "o1", Error: "503", Attempts: 5, FailedAt: at})
	}
	var list contracts.DeadLetterList
	res := a.do(t, request{method: "GET", path: "/admin/dead-letters?limit=2", key: adminKey})
	res.decode(t, &list)
	if res.status != 200 || len(list.DeadLetters) != 2 || list.Total != 3 || list.DeadLetters[0].Target != "webhook:warehouse" {
		t.Fatalf("list: %d %s", res.status, res.body)
	}
	for _, tc := range []struct{ body, field string }{
		{`{}`, "ids"},
		{`{"ids":[]}`, "ids"},
		{`{"all":false}`, "ids"},
		{`{"all":true,"ids":[1]}`, "ids"},
		{`{"all":"yes"}`, "all"},
		{`{"ids":"1"}`, "ids"},
		{`{"ids":[0]}`, "ids[0]"},
		{`{"ids":[1.5]}`, "ids[0]"},
		{`{"ids":["1"]}`, "ids[0]"},
		{`{"ids":[1],"force":true}`, "force"},
		{`[1]`, "body"},
	} {
		res := a.do(t, request{method: "POST", path: "/admin/dead-letters/redrive", key: adminKey, body: tc.body})
		body := res.errorBody(t)
		if res.status != 400 || len(body.Error.Details) == 0 || body.Error.Details[0].Field != tc.field {
			t.Errorf("redrive %s: %d %s, want 400 about %s", tc.body, res.status, res.body, tc.field)
		}
	}
	if got := len(a.letters.letters); got != 3 {
		t.Fatalf("refused redrives moved letters: %d left", got)
	}
	var result contracts.RedriveResult
	res = a.do(t, request{method: "POST", path: "/admin/dead-letters/redrive", key: adminKey, body: `{"ids":[2,99]}`})
	res.decode(t, &result)
	if res.status != 200 || result.Redriven != 1 || len(a.letters.letters) != 2 {
		t.Errorf("redrive one: %d %s, %d left", res.status, res.body, len(a.letters.letters))
	}
	res = a.do(t, request{method: "POST", path: "/admin/dead-letters/redrive", key: adminKey, body: `{"all":true}`})
	res.decode(t, &result)
	if res.status != 200 || result.Redriven != 2 || len(a.letters.letters) != 0 {
		t.Errorf("redrive all: %d %s, %d left", res.status, res.body, len(a.letters.letters))
	}
	a.letters.fail = errors.New("disk on fire")
	if res := a.do(t, request{method: "GET", path: "/admin/dead-letters", key: adminKey}); res.status != 500 || strings.Contains(string(res.body), "fire") {
		t.Errorf("a failing store: %d %s, want 500 without internals", res.status, res.body)
	}
}

func TestAdminChatbotShowsToolCalls(t *testing.T) {
	a := newAdminEnv(t)
	var trace contracts.ChatTrace
	res := a.do(t, request{method: "POST", path: "/admin/chatbot", key: adminKey, body: `{"query":"Where is my order?","customerId":"cust-1"}`})
	res.decode(t, &trace)
	if res.status != 200 || trace.Answer == "" || len(trace.ToolCalls) != 1 || trace.ToolCalls[0].Name != "list_recent_orders" {
		t.Fatalf("trace: %d %s", res.status, res.body)
	}
	if len(a.chatbot.got) != 1 || a.chatbot.got[0].CustomerID != "cust-1" {
		t.Errorf("asked %+v", a.chatbot.got)
	}
	// The same checks as POST /chatbot.
	res = a.do(t, request{method: "POST", path: "/admin/chatbot", key: adminKey, body: `{"customerId":"cust-1"}`})
	if body := res.errorBody(t); res.status != 400 || body.Error.Details[0].Field != "query" {
		t.Errorf("without a query: %d %s", res.status, res.body)
	}
}

func TestAdminSubscriptionsAndLiveSnapshot(t *testing.T) {
	a := newAdminEnv(t)
	var subs contracts.SubscriptionList
	res := a.do(t, request{method: "GET", path: "/admin/subscriptions", key: adminKey})
	res.decode(t, &subs)
	if res.status != 200 || len(subs.Subscriptions) != 1 || subs.Subscriptions[0].Recent[0].StatusCode != 503 {
		t.Errorf("subscriptions: %d %s", res.status, res.body)
	}
	var snap contracts.LiveSnapshot
	res = a.do(t, request{method: "GET", path: "/admin/live", key: adminKey})
	res.decode(t, &snap)
	if res.status != 200 || snap.DeadLetters != 2 || len(snap.Statuses) != len(order.Statuses) || snap.Statuses[5] != (contracts.StatusCount{Status: "COMPLETED", Count: 4}) {
		t.Errorf("snapshot: %d %s", res.status, res.body)
	}
}

// sseEvent is one event of a text/event-stream.
type sseEvent struct{ name, data string }

// readEvents parses a text/event-stream into a channel.
func readEvents(body io.Reader) <-chan sseEvent {
	ch := make(chan sseEvent)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				ch <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ch
}

// The stream is served directly, not through the API Gateway adapter: on AWS the console is not served
// and API Gateway would buffer a stream anyway.
func TestAdminLiveStreamSendsSnapshotsAndEvents(t *testing.T) {
	board := live.New(nil, live.Options{})
	orders := newMemOrders()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(httpapi.New(httpapi.Config{AdminKeys: []string{adminKey}, Logger: quiet}, httpapi.Deps{
		Orders: orders, Ingest: ingest.NewService(orders, nopQueue{}, orders, ingest.Config{Logger: quiet}), Inventory: newMemInventory(),
		Admin: &httpapi.Admin{Live: board},
	}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/admin/live/stream", nil)
	req.Header.Set("X-API-Key", adminKey)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, ct)
	}
	events := readEvents(res.Body)
	next := func(name string) sseEvent {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("stream ended waiting for %q", name)
				}
				if ev.name == name {
					return ev
				}
			case <-timeout:
				t.Fatalf("no %q event within 5 s", name)
			}
		}
	}
	var snap contracts.LiveSnapshot
	if err := json.Unmarshal([]byte(next("snapshot").data), &snap); err != nil || len(snap.Statuses) != len(order.Statuses) {
		t.Fatalf("first snapshot %+v: %v", snap, err)
	}
	board.Accepted(time.Now())
	board.Published(contracts.Event{ID: "e1", DetailType: "OrderCreated", Source: "orderflow.orders", Resources: []string{"o1"}, Detail: json.RawMessage(`{"reference":"7K3M-Q9TX"}`)})
	var le contracts.LiveEvent
	if err := json.Unmarshal([]byte(next("event").data), &le); err != nil || le.ID != "e1" || le.OrderID != "o1" || le.Reference != "7K3M-Q9TX" {
		t.Fatalf("event %+v: %v", le, err)
	}
	// The next snapshot, within a second, counts the accepted order.
	if err := json.Unmarshal([]byte(next("snapshot").data), &snap); err != nil || snap.Statuses[0].Count != 1 {
		t.Fatalf("later snapshot %+v: %v", snap.Statuses, err)
	}
	// A server shutting down closes the board: the stream ends instead of holding the shutdown.
	board.Close()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the stream did not end after the board closed")
		}
	}
}
