package local

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/app/apitest"
)

func TestTheTextsOfACompletedOrderAreStored(t *testing.T) {
	t.Parallel()
	l, err := Start(context.Background(), Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimit: 100000, RateBurst: 100000,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	c := apitest.Client{T: t, URL: l.URL, ClientKey: l.ClientKey, AdminKey: l.AdminKey}
	o := c.Await(c.Create(apitest.OrderBody("c-texts", apitest.WithPhone("+31629408162"))).OrderID)
	if o.Status != "COMPLETED" {
		t.Fatalf("status %s, failure %+v", o.Status, o.Failure)
	}
	// The completed text is sent after the order is COMPLETED, by the notifier's own delivery.
	var texts []contracts.Text
	apitest.WaitFor(t, func() bool {
		if texts, err = l.DB.Texts(context.Background(), o.OrderID); err != nil {
			t.Fatal(err)
		}
		return len(texts) >= 2
	}, "two texts stored")
	if len(texts) != 2 {
		t.Fatalf("texts = %+v, want two", texts)
	}
	for i, want := range []string{"🛒 Order Created!", "✅ Order Completed!"} {
		got := texts[i]
		if !strings.HasPrefix(got.Text, want) || !strings.Contains(got.Text, "Order: "+o.Reference+"\n") {
			t.Errorf("text %d = %q, want %q about %s", i, got.Text, want, o.Reference)
		}
		if got.OrderID != o.OrderID || got.To != "+31629408162" || got.ID == "" || got.SentAt.IsZero() {
			t.Errorf("text %d = %+v, want an id, the order, the customer's phone and when it was sent", i, got)
		}
	}
}
