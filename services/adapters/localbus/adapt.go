package localbus

import (
	"context"
	"sync"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/pipeline"
)

// EventHandler adapts an event handler to the engine: the message body is an event in the EventBridge
// envelope. A body that is not an event is dead-lettered, not retried.
//
// The targets of one event of the log share one copy of it (its decoding, or the event handed over with
// its commit), so h must not change the bytes of the event's Detail or its Resources (decoding them, as
// pipeline.Decode does, is reading).
func EventHandler(h pipeline.Handler) MessageHandler {
	return func(ctx context.Context, m Message) error {
		var e contracts.Event
		var err error
		if shared, ok := ctx.Value(sharedEventKey{}).(*sharedEvent); ok && shared.seq == m.Seq && m.ID == 0 {
			e, err = shared.get()
			if shared.event != nil {
				// Handed over with its commit in this process, and each event of the log is dispatched once
				// per target: nothing delivered it to this target before.
				ctx = pipeline.WithFirstDelivery(ctx)
			}
		} else {
			err = jsonv1.Unmarshal(m.Body, &e)
		}
		if err != nil {
			return fault.Wrap(fault.Invalid, err, "message body is not an event")
		}
		return h(ctx, e)
	}
}

// delivery is a message on its way to a worker, with the decoding its body shares with the deliveries of
// the same event to other targets (nil: none).
type delivery struct {
	m     Message
	event *sharedEvent
}

// sharedEventKey is the context key under which the engine gives a handler the shared decoding of the
// event it delivers (EventHandler).
type sharedEventKey struct{}

// sharedEvent is the body of a log entry decoded once, by the first of its targets' handlers to need it,
// or not at all when the entry came with the event it encodes (Entry.Event).
type sharedEvent struct {
	once  sync.Once
	seq   int64 // the entry's position: only a delivery of that entry uses it
	body  []byte
	event *contracts.Event
	e     contracts.Event
	err   error
}

func (s *sharedEvent) get() (contracts.Event, error) {
	s.once.Do(func() {
		if s.event != nil {
			s.e = *s.event
			return
		}
		s.err = jsonv1.Unmarshal(s.body, &s.e)
	})
	return s.e, s.err
}

// QueueHandler adapts an ingest-queue consumer to the engine: the message body is an OrderMessage.
func QueueHandler(h func(ctx context.Context, m contracts.OrderMessage) error) MessageHandler {
	return func(ctx context.Context, m Message) error {
		var om contracts.OrderMessage
		if err := jsonv1.Unmarshal(m.Body, &om); err != nil || om.OrderID == "" {
			return fault.Invalidf("message body is not an order message: %q", m.Body)
		}
		return h(ctx, om)
	}
}
