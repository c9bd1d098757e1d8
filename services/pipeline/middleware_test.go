package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/pipeline"
)

func TestMiddlewareLogsWithCorrelationAndRecovers(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	detail, _ := json.Marshal(contracts.DetailMeta{OrderID: "o1", CorrelationID: "corr-42"})
	e := contracts.Event{ID: "ev1", DetailType: contracts.DetailOrderCreated, Resources: []string{"o1"}, Detail: detail}

	var seen string
	h := pipeline.Chain(func(ctx context.Context, _ contracts.Event) error {
		seen = pipeline.CorrelationID(ctx)
		return nil
	}, pipeline.Recovered(), pipeline.Logged(log, "validation"))
	if err := h(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if seen != "corr-42" {
		t.Errorf("handler saw correlation id %q, want corr-42", seen)
	}
	if out := logs.String(); !strings.Contains(out, "correlationId=corr-42") || !strings.Contains(out, "target=validation") || !strings.Contains(out, "orderId=o1") {
		t.Errorf("log line = %q, want target, order and correlation id", out)
	}

	panicky := pipeline.Chain(func(context.Context, contracts.Event) error { panic("boom") }, pipeline.Recovered())
	if err := panicky(context.Background(), e); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panic came back as %v, want an error naming it", err)
	}
}
