package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

// The next stage reads an order as soon as it hears of the event that the last write published: it must
// read that write, never the version before (reads are served from the snapshot cache without a query).
func TestAReadAfterTheNoticeOfACommitSeesIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var db *sqlite.DB
	var mu sync.Mutex
	var stale []string
	seen := make(chan struct{}, 1000)
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "orderflow.db"), sqlite.Options{
		Router: func(contracts.Event) []string { return []string{"next-stage"} },
		OnLog: func(entries []localbus.Entry) {
			// Read each order when its event is handed over, as the delivery engine does.
			for _, en := range entries {
				var e contracts.Event
				if err := json.Unmarshal(en.Body, &e); err != nil {
					t.Error(err)
					continue
				}
				o, err := db.Get(ctx, e.Resources[0])
				if err != nil || o.Status() != order.Validating {
					mu.Lock()
					stale = append(stale, fmt.Sprintf("%s: %v %v", e.Resources[0], o.Status(), err))
					mu.Unlock()
				}
				seen <- struct{}{}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const orders = 200
	var wg sync.WaitGroup
	for i := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			placeAndValidate(t, db, fmt.Sprintf("o%03d", i), false)
		}()
	}
	wg.Wait()
	for i := 0; i < orders; i++ {
		select {
		case <-seen:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d events handed over", i, orders)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stale) > 0 {
		t.Errorf("%d reads on hearing of a commit saw the version before it: %v", len(stale), stale[:min(5, len(stale))])
	}
}

// A reader of the log (the delivery engine catching up) must not find an event before the cache holds
// the order version that published it: Get trusts the cache.
func TestAReadOfTheLogSeesTheOrdersItsEventsCameFrom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "orderflow.db"), sqlite.Options{
		Router: func(contracts.Event) []string { return []string{"next-stage"} },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const orders = 300
	done := make(chan struct{})
	var stale []string
	var read int
	go func() {
		defer close(done)
		var pos int64
		for deadline := time.Now().Add(20 * time.Second); read < orders && time.Now().Before(deadline); {
			entries, err := db.Log(ctx, pos, 100)
			if err != nil {
				t.Error(err)
				return
			}
			for _, en := range entries {
				var e contracts.Event
				if err := json.Unmarshal(en.Body, &e); err != nil {
					t.Error(err)
					return
				}
				if o, err := db.Get(ctx, e.Resources[0]); err != nil || o.Status() != order.Validating {
					stale = append(stale, fmt.Sprintf("%s: %v %v", e.Resources[0], o.Status(), err))
				}
				pos = en.Seq
				read++
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			placeAndValidate(t, db, fmt.Sprintf("o%03d", i), true)
		}()
	}
	wg.Wait()
	<-done
	if read != orders {
		t.Fatalf("read %d of %d events from the log", read, orders)
	}
	if len(stale) > 0 {
		t.Errorf("%d orders read on finding their event in the log were older than the event: %v", len(stale), stale[:min(5, len(stale))])
	}
}

// placeAndValidate stores a new order and moves it to VALIDATING with its OrderCreated event, as the
// dispatcher does; with readFirst it reads the order in between, so that the cache holds it at PENDING.
func placeAndValidate(t *testing.T, db *sqlite.DB, id string, readFirst bool) {
	ctx := context.Background()
	o, err := order.New(order.Draft{ID: id, CustomerID: "c", Items: []order.Item{{ProductID: "P", Name: "p", Quantity: 1, Price: 100}}, Total: 100, Currency: "EUR"}, time.Now())
	if err != nil {
		t.Error(err)
		return
	}
	if err := db.Create(ctx, o, nil); err != nil {
		t.Error(err)
		return
	}
	if readFirst {
		if _, err := db.Get(ctx, id); err != nil {
			t.Error(err)
		}
	}
	if _, err := db.Update(ctx, id, func(o *order.Order) ([]contracts.Event, error) {
		if err := o.StartValidation(time.Now()); err != nil {
			return nil, err
		}
		e, err := pipeline.LocalEnvelope.Event(o, contracts.SourceOrders, contracts.DetailOrderCreated, contracts.OrderCreatedDetail{DetailMeta: pipeline.Meta(o)}, time.Now())
		return []contracts.Event{e}, err
	}); err != nil {
		t.Error(err)
	}
}
