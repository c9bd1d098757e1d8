package local

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/orderflow/orderflow/services/adapters/webhook"
	"github.com/orderflow/orderflow/services/app/apitest"
)

func TestWebhookDeliveriesAreLogged(t *testing.T) {
	t.Parallel()
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hook.Close()
	sub := webhook.Subscription{Name: "analytics", Endpoint: hook.URL,
		EventPattern: json.RawMessage(`{"source":["orderflow.fulfillment"],"detail-type":["OrderCompleted"]}`)}
	l, err := Start(context.Background(), Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimit: 100000, RateBurst: 100000, Subscriptions: []webhook.Subscription{sub},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	c := apitest.Client{T: t, URL: l.URL, ClientKey: l.ClientKey, AdminKey: l.AdminKey}
	o := c.Await(c.Create(apitest.OrderBody("c-hook", nil)).OrderID)
	apitest.WaitFor(t, func() bool { return l.Deliveries.Subscriptions()[0].Delivered == 1 }, "the delivery logged")
	got := l.Deliveries.Subscriptions()[0]
	if got.Name != "analytics" || got.Failed != 0 || len(got.Recent) != 1 {
		t.Fatalf("subscription = %+v, want one delivered attempt", got)
	}
	if d := got.Recent[0]; !d.OK || d.StatusCode != 200 || d.DetailType != "OrderCompleted" || d.OrderID != o.OrderID {
		t.Errorf("attempt = %+v, want OrderCompleted about %s answered 200", d, o.OrderID)
	}
}
