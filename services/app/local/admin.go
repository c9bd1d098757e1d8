package local

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/routing"
)

// deadLetters serves the console's dead letters from the store: the same table and redrive as
// `orderflow dlq`.
type deadLetters struct{ db *sqlite.DB }

// List implements httpapi.DeadLetters.
func (d deadLetters) List(ctx context.Context, limit int) ([]contracts.DeadLetter, int, error) {
	letters, err := d.db.DeadLetters(ctx, limit)
	if err != nil {
		return nil, 0, err
	}
	total, err := d.db.CountDeadLetters(ctx)
	if err != nil {
		return nil, 0, err
	}
	out := make([]contracts.DeadLetter, len(letters))
	for i, l := range letters {
		out[i] = DeadLetterView(l)
	}
	return out, max(total, len(out)), nil
}

// Redrive implements httpapi.DeadLetters.
func (d deadLetters) Redrive(ctx context.Context, ids ...int64) (int, error) {
	n, err := d.db.Redrive(ctx, ids...)
	if err != nil {
		return 0, fmt.Errorf("redrive: %w", err)
	}
	return n, nil
}

// DeadLetterView describes a dead letter for people: what it was (an event's detail type, or an ingest
// queue message) and which order it is about, read from its body.
func DeadLetterView(l localbus.DeadLetter) contracts.DeadLetter {
	v := contracts.DeadLetter{ID: l.ID, Target: l.Target, Error: l.Error, Attempts: l.Attempts, FailedAt: l.FailedAt}
	if l.Target == routing.Dispatcher {
		var m contracts.OrderMessage
		if json.Unmarshal(l.Body, &m) == nil {
			v.DetailType, v.OrderID = "OrderMessage", m.OrderID
		}
		return v
	}
	var e contracts.Event
	if json.Unmarshal(l.Body, &e) == nil {
		v.DetailType, v.OrderID = e.DetailType, pipeline.EventOrderID(e)
	}
	return v
}
