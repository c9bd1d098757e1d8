package local

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/app/apitest"
	"github.com/orderflow/orderflow/services/routing"
)

// startForTexts starts the local runtime on dir, stopped when the test ends.
func startForTexts(t *testing.T, dir string) (*Local, apitest.Client) {
	t.Helper()
	l, err := Start(context.Background(), Config{
		Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimit: 100000, RateBurst: 100000,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Shutdown(context.Background()) })
	return l, apitest.Client{T: t, URL: l.URL, ClientKey: l.ClientKey, AdminKey: l.AdminKey}
}

func TestTheTextsOfACompletedOrderAreStored(t *testing.T) {
	t.Parallel()
	l, c := startForTexts(t, t.TempDir())
	o := c.Await(c.Create(apitest.OrderBody("c-texts", apitest.WithPhone("+31629408162"))).OrderID)
	if o.Status != "COMPLETED" {
		t.Fatalf("status %s, failure %+v", o.Status, o.Failure)
	}
	// The completed text is sent after the order is COMPLETED, by the notifier's own delivery.
	var texts []contracts.Text
	apitest.WaitFor(t, func() bool {
		var err error
		if texts, err = l.DB.Texts(context.Background(), o.OrderID); err != nil {
			t.Fatal(err)
		}
		return len(texts) >= 2
	}, "two texts stored")
	if len(texts) != 2 {
		t.Fatalf("texts = %+v, want two", texts)
	}
	// The notifier handles the events of an order concurrently, so a busy machine may send the completed
	// text first: the listing is by the time each was sent, and this test only asks for both.
	slices.SortFunc(texts, func(a, b contracts.Text) int { return strings.Compare(b.Text, a.Text) })
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

func TestARedeliveredEventIsTextedOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, c := startForTexts(t, dir)
	o := c.Await(c.Create(apitest.OrderBody("c-redelivered", apitest.WithPhone("+31629408162"))).OrderID)
	apitest.WaitFor(t, func() bool {
		texts, err := l.DB.Texts(context.Background(), o.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		return len(texts) == 2
	}, "two texts stored")
	events, err := l.DB.Events(context.Background(), o.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	// The bus delivers at least once: hand the notifier every event of the order again, twice.
	notify := l.App.Handlers[routing.Notifier]
	for range 2 {
		for _, e := range events {
			if err := notify(context.Background(), e); err != nil {
				t.Fatalf("redeliver %s: %v", e.DetailType, err)
			}
		}
	}
	texts, err := l.DB.Texts(context.Background(), o.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) != 2 {
		t.Errorf("%d texts stored, want 2", len(texts))
	}
	file, err := os.ReadFile(filepath.Join(dir, "notifications.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range texts {
		if n := bytes.Count(file, []byte(`"id":"`+text.ID+`"`)); n != 1 {
			t.Errorf("text %s is %d times in notifications.jsonl, want once", text.ID, n)
		}
	}
}
