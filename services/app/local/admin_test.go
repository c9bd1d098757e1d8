package local_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/webhook"
	"github.com/orderflow/orderflow/services/app/apitest"
	"github.com/orderflow/orderflow/services/app/local"
)

// receiver is another team's webhook endpoint that answers 503 until it is healed.
type receiver struct {
	healed   atomic.Bool
	received atomic.Int64
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if !r.healed.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	r.received.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func startWithHook(t *testing.T, dir string, hook string) (*local.Local, *apitest.Client) {
	t.Helper()
	l, err := local.Start(context.Background(), local.Config{
		Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxAttempts: 2, RetryBackoff: 10 * time.Millisecond,
		Subscriptions: []webhook.Subscription{{Name: "warehouse", Endpoint: hook,
			EventPattern: json.RawMessage(`{"source":["orderflow.fulfillment"],"detail-type":["OrderCompleted"]}`)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return l, &apitest.Client{T: t, URL: l.URL, ClientKey: l.ClientKey, AdminKey: l.AdminKey}
}

func TestTheConsoleEndpointsOnTheRealStore(t *testing.T) {
	t.Parallel()
	hook := &receiver{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	dir := t.TempDir()
	l, c := startWithHook(t, dir, hookSrv.URL)

	var ids []string
	for _, customer := range []string{"ada", "ada", "grace"} {
		ids = append(ids, c.Create(apitest.OrderBody(customer, apitest.WithPhone("+31629408162"))).OrderID)
	}
	for _, id := range ids {
		c.Await(id, "COMPLETED")
	}
	declined := c.Create(apitest.OrderBody("grace", apitest.WithToken("tok_decline"))).OrderID
	c.Await(declined, "FAILED")

	// Live: the counts and the series move with the orders.
	var snap contracts.LiveSnapshot
	apitest.WaitFor(t, func() bool {
		c.Do("GET", "/admin/live", c.AdminKey, nil).Decode(t, &snap)
		return countOf(snap, "COMPLETED") == 3 && countOf(snap, "FAILED") == 1
	}, "the live counts to show 3 COMPLETED and 1 FAILED")
	created, completed := 0, 0
	for _, s := range snap.Series {
		created, completed = created+s.Created, completed+s.Completed
	}
	if created != 4 || completed != 3 || len(snap.Failures) != 1 || snap.Failures[0].Code != "PAYMENT_DECLINED" {
		t.Errorf("series %d created, %d completed; failures %+v", created, completed, snap.Failures)
	}
	if res := c.Do("GET", "/admin/live", c.ClientKey, nil); res.Status != http.StatusForbidden {
		t.Errorf("a client key reads /admin/live: %d", res.Status)
	}

	// Search: newest first, by customer, by status, by reference of any customer.
	var page contracts.OrderList
	c.Do("GET", "/admin/orders?limit=2", c.AdminKey, nil).Decode(t, &page)
	if len(page.Orders) != 2 || page.Orders[0].OrderID != declined || page.NextCursor == nil {
		t.Fatalf("first page %+v", page)
	}
	c.Do("GET", "/admin/orders?limit=2&cursor="+*page.NextCursor, c.AdminKey, nil).Decode(t, &page)
	if len(page.Orders) != 2 || page.Orders[0].OrderID != ids[1] || page.Orders[1].OrderID != ids[0] || page.NextCursor != nil {
		t.Errorf("second page %+v", page)
	}
	c.Do("GET", "/admin/orders?customerId=grace&status=COMPLETED", c.AdminKey, nil).Decode(t, &page)
	if len(page.Orders) != 1 || page.Orders[0].OrderID != ids[2] {
		t.Errorf("grace's completed orders: %+v", page.Orders)
	}
	ref := c.Get(ids[0]).Reference
	c.Do("GET", "/admin/orders?reference="+strings.ToLower(ref), c.AdminKey, nil).Decode(t, &page)
	if len(page.Orders) != 1 || page.Orders[0].OrderID != ids[0] {
		t.Errorf("by reference %s: %+v", ref, page.Orders)
	}

	// Texts: created and completed.
	var texts contracts.TextList
	c.Do("GET", "/admin/orders/"+ids[0]+"/texts", c.AdminKey, nil).Decode(t, &texts)
	if len(texts.Texts) != 2 || !strings.Contains(texts.Texts[0].Text, "Order Created") || !strings.Contains(texts.Texts[1].Text, "Order Completed") ||
		texts.Texts[0].To != "+31629408162" || !strings.Contains(texts.Texts[1].Text, ref) {
		t.Errorf("texts %+v", texts.Texts)
	}

	// Dead letters: the warehouse endpoint is down, so each OrderCompleted is dead-lettered after 2 attempts.
	var letters contracts.DeadLetterList
	apitest.WaitFor(t, func() bool {
		c.Do("GET", "/admin/dead-letters", c.AdminKey, nil).Decode(t, &letters)
		return letters.Total == 3
	}, "3 dead letters for the warehouse")
	d := letters.DeadLetters[0]
	if d.Target != "webhook:warehouse" || d.DetailType != "OrderCompleted" || d.Attempts != 2 || !strings.Contains(d.Error, "503") || d.OrderID == "" {
		t.Errorf("dead letter %+v", d)
	}
	var subs contracts.SubscriptionList
	c.Do("GET", "/admin/subscriptions", c.AdminKey, nil).Decode(t, &subs)
	if len(subs.Subscriptions) != 1 || subs.Subscriptions[0].Failed != 6 || subs.Subscriptions[0].Recent[0].StatusCode != 503 {
		t.Errorf("subscriptions %+v", subs)
	}
	hook.healed.Store(true)
	var result contracts.RedriveResult
	c.Do("POST", "/admin/dead-letters/redrive", c.AdminKey, map[string]any{"ids": []int64{d.ID}}).Decode(t, &result)
	if result.Redriven != 1 {
		t.Errorf("redrive one: %+v", result)
	}
	apitest.WaitFor(t, func() bool { return hook.received.Load() == 1 }, "the redriven event to be delivered")
	c.Do("POST", "/admin/dead-letters/redrive", c.AdminKey, map[string]any{"all": true}).Decode(t, &result)
	if result.Redriven != 2 {
		t.Errorf("redrive all: %+v", result)
	}
	apitest.WaitFor(t, func() bool { return hook.received.Load() == 3 }, "every redriven event to be delivered")
	// The delivery log records an attempt once the endpoint's answer is read, just after the endpoint
	// counted it.
	apitest.WaitFor(t, func() bool {
		c.Do("GET", "/admin/subscriptions", c.AdminKey, nil).Decode(t, &subs)
		return subs.Subscriptions[0].Delivered == 3
	}, "the delivery log to record every delivery")
	c.Do("GET", "/admin/dead-letters", c.AdminKey, nil).Decode(t, &letters)
	if letters.Total != 0 || subs.Subscriptions[0].Delivered != 3 || !subs.Subscriptions[0].Recent[0].OK {
		t.Errorf("after the redrive: %d dead letters, subscription %+v", letters.Total, subs.Subscriptions[0])
	}

	// The chatbot, asked as a customer, says which tools it called.
	var trace contracts.ChatTrace
	c.Do("POST", "/admin/chatbot", c.AdminKey, map[string]any{"query": "Where is my order?", "customerId": "ada"}).Decode(t, &trace)
	if trace.Answer == "" || len(trace.ToolCalls) == 0 || trace.Source != contracts.ChatSourceFallback {
		t.Errorf("trace %+v", trace)
	}

	// The stream: a snapshot at once, then the events of a new order.
	req, _ := http.NewRequest("GET", l.URL+"/admin/live/stream", nil)
	req.Header.Set("X-API-Key", l.AdminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := bufio.NewScanner(res.Body)
	next := func(event string) string {
		t.Helper()
		name := ""
		for lines.Scan() {
			switch line := lines.Text(); {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && name == event:
				return strings.TrimPrefix(line, "data: ")
			}
		}
		t.Fatalf("stream ended before a %q event: %v", event, lines.Err())
		return ""
	}
	if err := json.Unmarshal([]byte(next("snapshot")), &snap); err != nil || countOf(snap, "COMPLETED") != 3 {
		t.Fatalf("first snapshot %v: %v", snap.Statuses, err)
	}
	fresh := c.Create(apitest.OrderBody("ada")).OrderID
	var ev contracts.LiveEvent
	if err := json.Unmarshal([]byte(next("event")), &ev); err != nil || ev.OrderID != fresh || ev.DetailType != "OrderCreated" || ev.Reference == "" {
		t.Errorf("first event %+v: %v", ev, err)
	}
	c.Await(fresh, "COMPLETED")

	// Shutting down ends the stream (it does not hold the shutdown), and the counts survive a restart.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a stream open: %v", err)
	}
	l2, c2 := startWithHook(t, dir, hookSrv.URL)
	defer l2.Shutdown(context.Background())
	c2.Do("GET", "/admin/live", c2.AdminKey, nil).Decode(t, &snap)
	if countOf(snap, "COMPLETED") != 4 || countOf(snap, "FAILED") != 1 || countOf(snap, "PENDING") != 0 {
		t.Errorf("after a restart: %+v", snap.Statuses)
	}
}

func countOf(s contracts.LiveSnapshot, status string) int64 {
	for _, c := range s.Statuses {
		if c.Status == status {
			return c.Count
		}
	}
	return -1
}
