package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/order"
)

// Stage is one step of the choreography: an order in status Expect is worked on and moved on.
type Stage struct {
	// Name is used in errors and logs.
	Name string
	// Expect is the status the order must be in for the stage to act.
	Expect order.Status
	// Work does the stage's side effects (idempotently, keyed by order id) and returns the transition
	// to apply to the order. Returning ErrSkip acknowledges the event and changes nothing. Any other
	// error is returned for redelivery.
	Work func(ctx context.Context, o *order.Order) (func(o *order.Order) error, error)
	// Result returns the event the stage emitted for o, derived from the order's state, or false if the
	// stage has not finished with o. It is what is published after the transition and what is re-emitted
	// when a redelivered event finds the stage already done (correctness rule 3).
	Result func(o *order.Order) (contracts.Event, bool, error)
}

// ErrSkip tells Advance that the stage has nothing to do for this order.
var ErrSkip = errors.New("nothing to do")

// errMoved: the order left the expected status while the stage worked (e.g. it was cancelled).
var errMoved = errors.New("order moved on")

// Advance runs stage for the order. Duplicate and stale deliveries change nothing: if the order is not
// in the expected status, the stage's result event is re-emitted when the stage is done with the order,
// and otherwise the delivery is acknowledged and ignored, so a status never regresses.
func Advance(ctx context.Context, orders Orders, pub Publisher, orderID string, st Stage) error {
	o, err := orders.Get(ctx, orderID)
	if err != nil {
		return fmt.Errorf("%s: load order %s: %w", st.Name, orderID, err)
	}
	if o.Status() != st.Expect {
		return reemit(ctx, pub, o, st)
	}
	apply, err := st.Work(ctx, o)
	if errors.Is(err, ErrSkip) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: order %s: %w", st.Name, orderID, err)
	}
	_, err = orders.Update(ctx, orderID, func(o *order.Order) ([]contracts.Event, error) {
		if o.Status() != st.Expect {
			return nil, errMoved
		}
		if err := apply(o); err != nil {
			return nil, err
		}
		ev, ok, err := st.Result(o)
		if err != nil || !ok {
			return nil, fmt.Errorf("stage produced no result event: %w", err)
		}
		return []contracts.Event{ev}, nil
	})
	if errors.Is(err, errMoved) {
		// Someone else moved the order while we worked (a cancel, or a concurrent duplicate). Whatever
		// the stage reserved or authorized is given back by the handlers of OrderCancelled/OrderFailed,
		// which are idempotent and tombstone-guarded; here, re-emit if the duplicate finished the stage.
		if o, err = orders.Get(ctx, orderID); err != nil {
			return fmt.Errorf("%s: reload order %s: %w", st.Name, orderID, err)
		}
		return reemit(ctx, pub, o, st)
	}
	if err != nil {
		return fmt.Errorf("%s: update order %s: %w", st.Name, orderID, err)
	}
	return nil
}

func reemit(ctx context.Context, pub Publisher, o *order.Order, st Stage) error {
	ev, ok, err := st.Result(o)
	if err != nil {
		return fmt.Errorf("%s: rebuild result of order %s: %w", st.Name, o.ID(), err)
	}
	if !ok {
		return nil // stale or out of order: acknowledged and ignored
	}
	if err := pub.Publish(ctx, ev); err != nil {
		return fmt.Errorf("%s: re-emit %s for order %s: %w", st.Name, ev.DetailType, o.ID(), err)
	}
	return nil
}

// EnteredAt returns when the order entered status s, or its last update if it never did.
func EnteredAt(o *order.Order, s order.Status) (at order.Change) {
	if c, ok := o.Entered(s); ok {
		return c
	}
	return order.Change{Status: s, At: o.UpdatedAt()}
}

// Failed builds the OrderFailed event of o if it failed in stage, else false.
func (env Envelope) Failed(o *order.Order, source string, stage order.Status) (contracts.Event, bool, error) {
	f := o.Failure()
	if o.Status() != order.Failed || f == nil || f.Stage != string(stage) {
		return contracts.Event{}, false, nil
	}
	at := EnteredAt(o, order.Failed).At
	ev, err := env.Event(o, source, contracts.DetailOrderFailed, contracts.OrderFailedDetail{
		DetailMeta: Meta(o), CustomerID: o.CustomerID(), CustomerPhone: o.CustomerPhone(),
		TotalAmount: o.Total(), Currency: o.Currency(), Failure: *f, FailedAt: at,
	}, at)
	return ev, err == nil, err
}

// Cancelled builds the OrderCancelled event of o from its history (the status it was cancelled from and
// when), the same event whenever it is built, or false if o is not cancelled.
func (env Envelope) Cancelled(o *order.Order) (contracts.Event, bool, error) {
	h := o.History()
	if o.Status() != order.Cancelled || len(h) < 2 {
		return contracts.Event{}, false, nil
	}
	at := h[len(h)-1].At
	ev, err := env.Event(o, contracts.SourceOrders, contracts.DetailOrderCancelled, contracts.OrderCancelledDetail{
		DetailMeta: Meta(o), CustomerID: o.CustomerID(), PreviousStatus: string(h[len(h)-2].Status), CancelledAt: at.UTC(),
	}, at)
	return ev, err == nil, err
}
