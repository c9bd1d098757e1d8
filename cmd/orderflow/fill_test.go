package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/app/apitest"
	"github.com/orderflow/orderflow/services/app/local"
	"github.com/orderflow/orderflow/services/pipeline"
)

func TestFillAddsOrdersLikeAnyOther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	start := func() (*local.Local, *apitest.Client) {
		l, err := local.Start(ctx, local.Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return l, &apitest.Client{T: t, URL: l.URL, ClientKey: l.ClientKey, AdminKey: l.AdminKey}
	}
	l, c := start()
	tmpl := c.Await(c.Create(apitest.OrderBody("filled", apitest.WithPhone("+31629408162")), "Idempotency-Key", "template-key").OrderID, "COMPLETED")
	if err := l.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"fill", "--data-dir", dir, "--orders", "2500", "--customers", "10"}, &out, io.Discard, nil); err != nil {
		t.Fatalf("fill: %v", err)
	}
	if !strings.Contains(out.String(), "added 2500 orders") {
		t.Errorf("fill said %q", out.String())
	}

	l, c = start()
	defer l.Shutdown(ctx)
	var snap contracts.LiveSnapshot
	c.Do("GET", "/admin/live", c.AdminKey, nil).Decode(t, &snap)
	for _, s := range snap.Statuses {
		if s.Status == "COMPLETED" && s.Count != 2501 {
			t.Errorf("COMPLETED after the fill: %d, want 2501", s.Count)
		}
	}
	var page contracts.OrderList
	c.Do("GET", "/admin/orders?limit=100", c.AdminKey, nil).Decode(t, &page)
	if len(page.Orders) != 100 || page.Orders[0].OrderID != tmpl.OrderID {
		t.Fatalf("the newest orders: %d, the template (placed now) first: %v; the copies were placed before it", len(page.Orders), page.Orders[0].OrderID == tmpl.OrderID)
	}
	c.Do("GET", "/admin/orders?customerId=fill-00003&limit=100", c.AdminKey, nil).Decode(t, &page)
	if len(page.Orders) != 100 || page.NextCursor == nil || page.Orders[0].CustomerID != "fill-00003" {
		t.Fatalf("a fill customer's orders: %d", len(page.Orders))
	}
	refs := map[string]bool{}
	for _, o := range page.Orders {
		if refs[o.Reference] {
			t.Errorf("reference %s twice", o.Reference)
		}
		refs[o.Reference] = true
	}
	clone := page.Orders[1]
	if clone.ShippingAddress != tmpl.ShippingAddress || clone.TotalAmount != tmpl.TotalAmount {
		t.Errorf("copy %+v differs from the template beyond its ids", clone)
	}
	if clone.Status != "COMPLETED" || clone.Reference == tmpl.Reference || len(clone.History) != len(tmpl.History) || clone.Shipment == nil {
		t.Errorf("copy %+v", clone)
	}
	evs := c.Events(clone.OrderID)
	if len(evs) != len(c.Events(tmpl.OrderID)) {
		t.Fatalf("copy has %d events", len(evs))
	}
	for _, e := range evs {
		var d contracts.DetailMeta
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if e.ID != pipeline.EventID(clone.OrderID, e.DetailType) || d.EventID != e.ID || d.OrderID != clone.OrderID || d.Reference != clone.Reference || e.Resources[0] != clone.OrderID {
			t.Errorf("copied event %s %s: %+v", e.DetailType, e.ID, d)
		}
	}
	var texts contracts.TextList
	c.Do("GET", "/admin/orders/"+clone.OrderID+"/texts", c.AdminKey, nil).Decode(t, &texts)
	if len(texts.Texts) != 2 || !strings.Contains(texts.Texts[1].Text, clone.Reference) {
		t.Errorf("copied texts %+v", texts.Texts)
	}
	c.Do("GET", "/orders?customerId=fill-00003&reference="+clone.Reference, c.ClientKey, nil).Decode(t, &page)
	if len(page.Orders) != 1 || page.Orders[0].OrderID != clone.OrderID {
		t.Errorf("the copy by its reference: %+v", page.Orders)
	}
	// The template's key still replays the template; the store goes on taking orders.
	if again := c.Create(apitest.OrderBody("filled", apitest.WithPhone("+31629408162")), "Idempotency-Key", "template-key"); again.OrderID != tmpl.OrderID {
		t.Errorf("the template's key gave order %s", again.OrderID)
	}
	c.Await(c.Create(apitest.OrderBody("after-fill")).OrderID, "COMPLETED")
}
