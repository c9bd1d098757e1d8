package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/app/apitest"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/routing"
)

// countingSyncer is a syncer that records its calls and fails with err.
type countingSyncer struct {
	calls int
	err   error
}

func (s *countingSyncer) Sync(context.Context) error { s.calls++; return s.err }

func TestADeliveryThatTellsTheWorldWaitsForTheSync(t *testing.T) {
	s := &countingSyncer{}
	var order []string
	h := afterSync(s, func(context.Context, localbus.Message) error {
		order = append(order, "delivered after "+map[bool]string{true: "the sync", false: "no sync"}[s.calls == 1])
		return nil
	})
	if err := h(t.Context(), localbus.Message{Target: "notifier"}); err != nil {
		t.Fatal(err)
	}
	if len(order) != 1 || order[0] != "delivered after the sync" {
		t.Fatalf("deliveries: %v", order)
	}

	s.err = errors.New("EIO")
	called := false
	h = afterSync(s, func(context.Context, localbus.Message) error { called = true; return nil })
	if err := h(t.Context(), localbus.Message{Target: "notifier"}); !errors.Is(err, s.err) || called {
		t.Fatalf("after a failed sync: err %v, handler called %v; want the sync's error and no delivery", err, called)
	}
}

func TestOnlyThePipelineStagesSkipTheSync(t *testing.T) {
	routed := map[string]bool{}
	for _, r := range routing.Table {
		routed[r.Target] = true
	}
	for target := range pipelineTargets {
		if !routed[target] {
			t.Errorf("%s skips the sync but is no routing target", target)
		}
	}
	if pipelineTargets[routing.Notifier] {
		t.Errorf("the notifier, which texts customers, skips the sync")
	}
}

func TestThePipelineRunsAheadOfTheDiskAndTheTextsWaitForIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var hold atomic.Bool
	release := make(chan struct{})
	l, err := Start(context.Background(), Config{
		Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimit: 100000, RateBurst: 100000,
		fsync: func(f *os.File) error {
			if hold.Load() {
				<-release
			}
			return f.Sync()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Shutdown(context.Background()) })
	// A first order, with the disk as usual, shows that the delivery engine runs.
	c := apitest.Client{T: t, URL: l.URL, ClientKey: l.ClientKey, AdminKey: l.AdminKey}
	if o := c.Await(c.Create(apitest.OrderBody("c-first")).OrderID); o.Status != "COMPLETED" {
		t.Fatalf("first order: status %s", o.Status)
	}

	hold.Store(true)
	var freeOnce sync.Once
	free := func() { freeOnce.Do(func() { hold.Store(false); close(release) }) }
	t.Cleanup(free) // before the shutdown, which syncs
	body, err := json.Marshal(apitest.OrderBody("c-ahead", apitest.WithPhone("+31629408162")))
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, l.URL+"/orders", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", l.ClientKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	// The pipeline takes the order all the way while the disk holds every fsync.
	ctx := sqlite.CommitOnly(context.Background())
	var id string
	apitest.WaitFor(t, func() bool {
		orders, _, err := l.DB.List(ctx, "c-ahead", 1, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(orders) == 0 {
			return false
		}
		id = orders[0].ID()
		return orders[0].Status() == order.Completed
	}, "the order COMPLETED while its fsync is held")
	select {
	case code := <-answered:
		t.Fatalf("POST /orders answered %d before the order was durable", code)
	default:
	}
	// The notifier has its texts ready by now; for a while longer, none of them may go out.
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if file, err := os.ReadFile(filepath.Join(dir, "notifications.jsonl")); err == nil && bytes.Contains(file, []byte("Customer: c-ahead")) {
			t.Fatalf("a text about order %s went out before the order was durable:\n%s", id, file)
		}
	}
	free()
	if code := <-answered; code != http.StatusCreated {
		t.Fatalf("POST /orders = %d, want 201", code)
	}
	apitest.WaitFor(t, func() bool {
		texts, err := l.DB.Texts(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return len(texts) == 2
	}, "the order's two texts, once it is durable")
}
