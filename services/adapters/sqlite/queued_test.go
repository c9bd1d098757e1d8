package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
)

func TestCreateQueuedStoresOrderAndMessageTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "q.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mk := func(id string) *order.Order {
		o, err := order.New(order.Draft{ID: id, CustomerID: "c1", Items: []order.Item{{ProductID: "P", Name: "p", Quantity: 1, Price: 100}}, Total: 100, Currency: "EUR"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	rec := &ingest.IdempotencyRecord{Key: "k1", RequestHash: "h", OrderID: "o1", CreatedAt: time.Now()}
	if err := db.CreateQueued(ctx, mk("o1"), rec, contracts.OrderMessage{OrderID: "o1"}); err != nil {
		t.Fatal(err)
	}
	// The same idempotency key again: neither the second order nor its message may be stored.
	err = db.CreateQueued(ctx, mk("o2"), &ingest.IdempotencyRecord{Key: "k1", RequestHash: "h2", OrderID: "o2", CreatedAt: time.Now()}, contracts.OrderMessage{OrderID: "o2"})
	if !errors.Is(err, ingest.ErrIdempotencyKeyTaken) {
		t.Fatalf("second create with the key: %v, want ErrIdempotencyKeyTaken", err)
	}
	if _, err := db.Get(ctx, "o2"); err == nil {
		t.Error("the refused order was stored")
	}
	due, err := db.Due(ctx, time.Now().Add(time.Second), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].Target != "dispatcher" || string(due[0].Body) != `{"orderId":"o1","correlationId":""}` {
		t.Errorf("queued messages = %+v, want exactly o1's", due)
	}
}
