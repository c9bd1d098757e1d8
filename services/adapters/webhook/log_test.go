package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/webhook"
)

const orderID = "0195f000-0000-7000-8000-000000000001"

func orderEvent(id string) contracts.Event {
	return contracts.Event{
		ID: id, DetailType: contracts.DetailOrderCompleted, Resources: []string{orderID},
		Detail: json.RawMessage(`{"orderId":"` + orderID + `"}`),
	}
}

// endpoint is a test server answering status with body.
func endpoint(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// unreachable returns a URL nothing listens on.
func unreachable(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	return url
}

// only returns the one subscription of the log.
func only(t *testing.T, log *webhook.Log) contracts.Subscription {
	t.Helper()
	subs := log.Subscriptions()
	if len(subs) != 1 {
		t.Fatalf("subscriptions = %+v, want one", subs)
	}
	return subs[0]
}

func TestTheLogRecordsEachAttempt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		endpoint func(t *testing.T) string
		want     contracts.Delivery
		// wantError is what the recorded error contains.
		wantError []string
	}{
		{"a 200 is delivered", func(t *testing.T) string { return endpoint(t, 200, "thanks").URL },
			contracts.Delivery{StatusCode: 200, OK: true}, nil},
		{"a 503 failed with its status", func(t *testing.T) string { return endpoint(t, 503, "down for maintenance").URL },
			contracts.Delivery{StatusCode: 503}, []string{"503 Service Unavailable", "down for maintenance"}},
		{"a 404 failed with its status", func(t *testing.T) string { return endpoint(t, 404, "").URL },
			contracts.Delivery{StatusCode: 404}, []string{"404 Not Found"}},
		{"an unreachable endpoint failed with no status", unreachable,
			contracts.Delivery{StatusCode: 0}, []string{"connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sub := webhook.Subscription{Name: "shipping", Endpoint: tt.endpoint(t), EventPattern: json.RawMessage(`{"source":["orderflow.fulfillment"]}`), Secret: "s3cret"}
			log := webhook.NewLog([]webhook.Subscription{sub}, 0)
			before := time.Now().UTC()
			err := webhook.Handler(http.DefaultClient, sub, log)(context.Background(), orderEvent("ev-1"))
			if tt.want.OK != (err == nil) {
				t.Fatalf("Handler = %v, want ok %v", err, tt.want.OK)
			}
			got := only(t, log)
			want := contracts.Subscription{Name: "shipping", Endpoint: sub.Endpoint, EventPattern: sub.EventPattern}
			if tt.want.OK {
				want.Delivered = 1
			} else {
				want.Failed = 1
			}
			d := tt.want
			d.EventID, d.DetailType, d.OrderID = "ev-1", contracts.DetailOrderCompleted, orderID
			want.Recent = []contracts.Delivery{d}
			ignore := cmpopts.IgnoreFields(contracts.Delivery{}, "At", "DurationMs", "Error")
			if diff := cmp.Diff(want, got, ignore); diff != "" {
				t.Errorf("subscription (-want +got):\n%s", diff)
			}
			r := got.Recent[0]
			if r.At.Before(before) || r.At.After(time.Now().UTC()) || r.DurationMs < 0 {
				t.Errorf("attempt at %v taking %vms, want it timed during the call", r.At, r.DurationMs)
			}
			if tt.want.OK && r.Error != "" {
				t.Errorf("error = %q, want none", r.Error)
			}
			for _, part := range tt.wantError {
				if !strings.Contains(r.Error, part) {
					t.Errorf("error = %q, want it to contain %q", r.Error, part)
				}
			}
		})
	}
}

func TestTheLogKeepsOnlyAShortErrorOfALongAnswer(t *testing.T) {
	t.Parallel()
	sub := webhook.Subscription{Name: "s", Endpoint: endpoint(t, 500, strings.Repeat("stack trace line\n", 1000)).URL}
	log := webhook.NewLog([]webhook.Subscription{sub}, 0)
	_ = webhook.Handler(http.DefaultClient, sub, log)(context.Background(), orderEvent("ev-1"))
	e := only(t, log).Recent[0].Error
	if !strings.Contains(e, "500 Internal Server Error") || len(e) > 210 || strings.Contains(e, "\n") {
		t.Errorf("error = %q (%d bytes), want the status line and at most ~200 bytes on one line", e, len(e))
	}
}

func TestTheLogCountsAndKeepsTheNewestAttempts(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	fail := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	sub := webhook.Subscription{Name: "s", Endpoint: srv.URL}
	log := webhook.NewLog([]webhook.Subscription{sub}, 3)
	h := webhook.Handler(srv.Client(), sub, log)
	for i := 1; i <= 5; i++ {
		mu.Lock()
		fail = i == 4
		mu.Unlock()
		_ = h(context.Background(), orderEvent(fmt.Sprintf("ev-%d", i)))
	}
	got := only(t, log)
	if got.Delivered != 4 || got.Failed != 1 {
		t.Errorf("delivered %d, failed %d; want 4 and 1", got.Delivered, got.Failed)
	}
	var ids []string
	for _, d := range got.Recent {
		ids = append(ids, fmt.Sprintf("%s %v", d.EventID, d.OK))
	}
	if diff := cmp.Diff([]string{"ev-5 true", "ev-4 false", "ev-3 true"}, ids); diff != "" {
		t.Errorf("recent, newest first (-want +got):\n%s", diff)
	}
}

func TestTheLogListsSubscriptionsByNameBeforeAnyAttempt(t *testing.T) {
	t.Parallel()
	log := webhook.NewLog([]webhook.Subscription{{Name: "warehouse", Endpoint: "http://w"}, {Name: "accounting", Endpoint: "http://a"}}, 0)
	subs := log.Subscriptions()
	var names []string
	for _, s := range subs {
		names = append(names, s.Name)
		if s.Recent == nil || len(s.Recent) != 0 || s.Delivered != 0 || s.Failed != 0 {
			t.Errorf("%s = %+v, want no attempts and an empty, non-nil Recent", s.Name, s)
		}
	}
	if diff := cmp.Diff([]string{"accounting", "warehouse"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(subs[0])
	if err != nil || !strings.Contains(string(b), `"recent":[]`) {
		t.Errorf("encoded %s, %v; want an empty recent list", b, err)
	}
}

func TestTheLogIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := endpoint(t, 200, "")
	subs := []webhook.Subscription{{Name: "a", Endpoint: srv.URL}, {Name: "b", Endpoint: srv.URL}}
	log := webhook.NewLog(subs, 10)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := webhook.Handler(srv.Client(), subs[i%2], log)
			for j := range 20 {
				_ = h(context.Background(), orderEvent(fmt.Sprintf("ev-%d-%d", i, j)))
				_ = log.Subscriptions()
			}
		}()
	}
	wg.Wait()
	for _, s := range log.Subscriptions() {
		if s.Delivered != 80 || len(s.Recent) != 10 {
			t.Errorf("%s: delivered %d with %d recent, want 80 and 10", s.Name, s.Delivered, len(s.Recent))
		}
	}
}

func TestANilLogRecordsNothing(t *testing.T) {
	t.Parallel()
	srv := endpoint(t, 200, "")
	var log *webhook.Log
	if err := webhook.Handler(srv.Client(), webhook.Subscription{Name: "s", Endpoint: srv.URL}, log)(context.Background(), orderEvent("ev-1")); err != nil {
		t.Fatal(err)
	}
	if got := log.Subscriptions(); len(got) != 0 {
		t.Errorf("subscriptions of a nil log = %+v, want none", got)
	}
}
