package memory_test

import (
	"testing"
	"time"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/memory"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/httpapi"
	"github.com/orderflow/orderflow/services/ingest/ingesttest"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
)

// The store serves the API's and the chatbot's order reads too. Together with the checks in the package
// (ingest.Store, pipeline.Orders, pipeline.Publisher) these make up app.OrderStore, which is not named
// here because the app package pulls in every other adapter.
var (
	_ httpapi.Orders = (*memory.Orders)(nil)
	_ agent.Orders   = (*memory.Orders)(nil)
)

func open(*testing.T) *memory.Orders { return memory.NewOrders() }

var at = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// create stores a new PENDING order in s and returns it.
func create(t *testing.T, s *memory.Orders) *order.Order {
	t.Helper()
	o := pipelinetest.NewOrder(t, "cust-1", at)
	if err := s.Create(t.Context(), o, nil); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return o
}

func TestPipelineContract(t *testing.T) {
	t.Parallel()
	pipelinetest.Run(t, func(t *testing.T) pipelinetest.Store { return open(t) })
}

func TestIngestContract(t *testing.T) {
	t.Parallel()
	ingesttest.Run(t, func(t *testing.T) ingesttest.Store { return open(t) })
}

func TestBadArgumentsAreInvalid(t *testing.T) {
	t.Parallel()
	s := open(t)
	tests := []struct {
		name string
		call func() error
		want fault.Kind
	}{
		{"list limit 0", func() error { _, _, err := s.List(t.Context(), "c", 0, ""); return err }, fault.Invalid},
		{"list limit over the maximum", func() error {
			_, _, err := s.List(t.Context(), "c", memory.MaxListLimit+1, "")
			return err
		}, fault.Invalid},
		{"pending limit 0", func() error { _, err := s.PendingBefore(t.Context(), time.Now(), 0); return err }, fault.Invalid},
		{"events of an unknown order", func() error { _, err := s.Events(t.Context(), "nope"); return err }, fault.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !fault.Is(err, tt.want) {
				t.Errorf("error = %v, want kind %v", err, tt.want)
			}
		})
	}
	if err := s.Publish(t.Context(), contracts.Event{DetailType: "NoID"}); err == nil {
		t.Error("Publish of an event without an id = nil, want an error")
	}
}

func TestOrdersHandedOutDoNotShareState(t *testing.T) {
	t.Parallel()
	s := open(t)
	o := create(t, s)
	// Changing the created order, and an order read back, must leave the stored one as it was.
	if err := o.StartValidation(at); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), o.ID())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if err := got.Cancel(at); err != nil {
		t.Fatal(err)
	}
	again, err := s.Get(t.Context(), o.ID())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if again.Status() != order.Pending || len(again.History()) != 1 || again.Version() != 1 {
		t.Errorf("stored order is %s with %d history entries at version %d, want PENDING with 1 at version 1",
			again.Status(), len(again.History()), again.Version())
	}
	if n := s.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
}
