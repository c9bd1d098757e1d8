package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/app/apitest"
)

// TestTheAPIReferenceJournalsEachOrderItAccepts drives apiref, bench's reference for the API's own cost,
// over loopback HTTP: it answers as the API does, and every order it accepted is in its journal, once,
// with its idempotency record; a replay and a refused body add nothing.
func TestTheAPIReferenceJournalsEachOrderItAccepts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"apiref", "--addr", addr, "--dir", dir, "--api-keys", clientKey}, io.Discard, io.Discard, nil)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("apiref: %v", err)
		}
	}
	t.Cleanup(stop)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := waitHealthy(wctx, http.DefaultClient, "http://"+addr+"/healthz"); err != nil {
		t.Fatal(err)
	}
	c := apitest.Client{T: t, URL: "http://" + addr, ClientKey: clientKey}

	plain := c.Create(apitest.OrderBody("c-ref"))
	keyed := c.Create(apitest.OrderBody("c-ref"), "Idempotency-Key", "k-1")
	if replay := c.Create(apitest.OrderBody("c-ref"), "Idempotency-Key", "k-1"); replay.OrderID != keyed.OrderID {
		t.Errorf("replay created order %s, want %s", replay.OrderID, keyed.OrderID)
	}
	if r := c.Do("POST", "/orders", clientKey, map[string]any{"customerId": "c-ref"}); r.Status != http.StatusBadRequest {
		t.Errorf("an order without items = %d %s, want 400", r.Status, r.Body)
	}
	if r := c.Do("POST", "/orders", "wrong-key", apitest.OrderBody("c-ref")); r.Status != http.StatusForbidden {
		t.Errorf("a wrong key = %d, want 403", r.Status)
	}
	var got contracts.Order
	c.Do("GET", "/orders/"+plain.OrderID, clientKey, nil).Decode(t, &got)
	if got.OrderID != plain.OrderID || got.Status != "PENDING" {
		t.Errorf("GET the order = %s %s, want %s PENDING", got.OrderID, got.Status, plain.OrderID)
	}
	stop()

	f, err := os.Open(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type line struct {
		Order struct {
			ID string `json:"id"`
		} `json:"order"`
		Idempotency *struct {
			Key string
		} `json:"idempotency"`
		Message contracts.OrderMessage `json:"message"`
	}
	var lines []line
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 2 {
		t.Fatalf("journal has %d lines, want 2 (one per order accepted): %+v", len(lines), lines)
	}
	if lines[0].Order.ID != plain.OrderID || lines[0].Idempotency != nil || lines[0].Message.OrderID != plain.OrderID {
		t.Errorf("first line = %+v, want order %s without a key, queued", lines[0], plain.OrderID)
	}
	if lines[1].Order.ID != keyed.OrderID || lines[1].Idempotency == nil || lines[1].Message.OrderID != keyed.OrderID {
		t.Errorf("second line = %+v, want order %s with its key, queued", lines[1], keyed.OrderID)
	}
}
