package localbus

import (
	"context"
	"encoding/json"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/pipeline"
)

// EventHandler adapts an event handler to the engine: the message body is an event in the EventBridge
// envelope. A body that is not an event is dead-lettered, not retried.
func EventHandler(h pipeline.Handler) MessageHandler {
	return func(ctx context.Context, m Message) error {
		var e contracts.Event
		if err := json.Unmarshal(m.Body, &e); err != nil {
			return fault.Wrap(fault.Invalid, err, "message body is not an event")
		}
		return h(ctx, e)
	}
}

// QueueHandler adapts an ingest-queue consumer to the engine: the message body is an OrderMessage.
func QueueHandler(h func(ctx context.Context, m contracts.OrderMessage) error) MessageHandler {
	return func(ctx context.Context, m Message) error {
		var om contracts.OrderMessage
		if err := json.Unmarshal(m.Body, &om); err != nil || om.OrderID == "" {
			return fault.Invalidf("message body is not an order message: %q", m.Body)
		}
		return h(ctx, om)
	}
}
