package sqlite_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
)

// concurrency is how many goroutines per CPU the parallel benchmarks run: a server has many requests in
// flight at once, and group commit is what makes them cheap, so benchmarking with one writer per CPU
// would measure fsync latency instead of throughput.
const concurrency = 32

func reportOps(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkCreateParallel measures durable order intake: Create with an idempotency record, then the
// queue Send, as the API does for each POST /orders.
func BenchmarkCreateParallel(b *testing.B) {
	db := open(b, sqlite.Options{Router: router(b)})
	b.SetParallelism(concurrency)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o := pipelinetest.NewOrder(b, "cust-bench", time.Now())
			rec := &ingest.IdempotencyRecord{Key: "key-" + o.ID(), RequestHash: "h", OrderID: o.ID(), Response: []byte(`{}`), CreatedAt: time.Now()}
			if err := db.Create(b.Context(), o, rec); err != nil {
				b.Fatalf("Create: %v", err)
			}
			if err := db.Send(b.Context(), contracts.OrderMessage{OrderID: o.ID()}); err != nil {
				b.Fatalf("Send: %v", err)
			}
		}
	})
	reportOps(b)
}

// BenchmarkUpdateParallel measures the pipeline's write path: an Update that reads the order, changes
// it, and stores it with one routed event, over 10,000 orders.
func BenchmarkUpdateParallel(b *testing.B) {
	db := open(b, sqlite.Options{Router: router(b)})
	const orders = 10_000
	ids := make([]string, orders)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String() // in creation order, as the API makes them
	}
	var wg sync.WaitGroup // created concurrently, so that setting up takes a few commits, not 10,000
	for w := range concurrency {
		wg.Go(func() {
			for i := w; i < orders; i += concurrency {
				o := pipelinetest.NewOrder(b, fmt.Sprintf("cust-%d", i%100), time.Now())
				s := o.Snapshot()
				s.ID = ids[i]
				if err := db.Create(b.Context(), order.FromSnapshot(s), nil); err != nil {
					b.Errorf("Create: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	var next atomic.Int64
	b.SetParallelism(concurrency)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			_, err := db.Update(b.Context(), ids[n%orders], func(o *order.Order) ([]contracts.Event, error) {
				e, err := pipeline.LocalEnvelope.Event(o, contracts.SourceValidation, contracts.DetailOrderValidated,
					contracts.OrderValidatedDetail{DetailMeta: pipeline.Meta(o), CustomerID: o.CustomerID(), Items: pipeline.LineItems(o)}, time.Now())
				e.ID = uuid.NewString() // every update publishes a new event, as each stage does
				return []contracts.Event{e}, err
			})
			if err != nil {
				b.Fatalf("Update: %v", err)
			}
		}
	})
	reportOps(b)
}

// BenchmarkReserve measures stock reservations of two lines each, for distinct orders.
func BenchmarkReserve(b *testing.B) {
	db := open(b, sqlite.Options{})
	for _, id := range []string{"A", "B"} {
		if err := db.PutProduct(b.Context(), inventory.Product{ID: id, Name: id, Price: 100, Available: 1 << 40}); err != nil {
			b.Fatalf("PutProduct: %v", err)
		}
	}
	var next atomic.Int64
	lines := []inventory.Line{{ProductID: "A", Quantity: 1}, {ProductID: "B", Quantity: 2}}
	b.SetParallelism(concurrency)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := db.Reserve(b.Context(), fmt.Sprintf("order-%d", next.Add(1)), lines); err != nil {
				b.Fatalf("Reserve: %v", err)
			}
		}
	})
	reportOps(b)
}
