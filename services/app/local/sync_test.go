package local

import (
	"context"
	"errors"
	"testing"

	"github.com/orderflow/orderflow/services/adapters/localbus"
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
