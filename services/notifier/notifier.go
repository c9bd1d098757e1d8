package notifier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/pipeline"
)

// consumer names this subscriber in the Deduper.
const consumer = "notifier"

// Service turns order events into text messages.
type Service struct {
	Sender Sender
	// Deduper remembers the events handled. nil: the Sender itself sends a message once per SMS.ID,
	// whatever the deliveries (the local sink, whose record of a text is its proof of sending).
	Deduper Deduper
	// OperationsNumber receives the texts of orders placed without a customer phone ("" = see
	// SendUnaddressed).
	OperationsNumber string
	// SendUnaddressed, when there is no OperationsNumber, gives the Sender the texts of orders without a
	// customer phone with an empty To (on AWS: the operations SNS topic); otherwise they are skipped.
	SendUnaddressed bool
}

// Handle reacts to OrderCreated, OrderCompleted and OrderFailed. A redelivered event sends nothing; with
// a Claimer, neither does a second delivery of the event handled at the same moment (see Once).
func (s *Service) Handle(ctx context.Context, e contracts.Event) error {
	if s.Deduper == nil {
		return s.send(ctx, e)
	}
	return Once(s.Deduper, consumer, s.send)(ctx, e)
}

// send texts the event.
func (s *Service) send(ctx context.Context, e contracts.Event) error {
	to, text, err := Format(e)
	if err != nil {
		return err
	}
	if to == "" {
		to = s.OperationsNumber
	}
	if (to != "" || s.SendUnaddressed) && text != "" {
		if err := s.Sender.Send(ctx, SMS{ID: e.ID, OrderID: pipeline.EventOrderID(e), To: to, Text: text}); err != nil {
			return fmt.Errorf("send sms for event %s: %w", e.ID, err)
		}
	}
	return nil
}

// Once makes h handle each event id once for consumer, across deliveries (and, with a Claimer, across
// processes): an event already handled is acknowledged; with a Claimer the event is claimed first, so
// two deliveries at the same moment cannot both run h, and a handling that fails gives its claim up, so
// that the redelivery runs again; the event is marked handled after h succeeds.
func Once(d Deduper, consumer string, h func(context.Context, contracts.Event) error) func(context.Context, contracts.Event) error {
	c, claims := d.(Claimer)
	return func(ctx context.Context, e contracts.Event) error {
		if claims {
			won, err := c.Claim(ctx, consumer, e.ID)
			if err != nil {
				return fmt.Errorf("%s: claim event %s: %w", consumer, e.ID, err)
			}
			if !won {
				return nil
			}
		} else if seen, err := d.Seen(ctx, consumer, e.ID); err != nil || seen {
			if err != nil {
				return fmt.Errorf("%s: check event %s: %w", consumer, e.ID, err)
			}
			return nil
		}
		if err := h(ctx, e); err != nil {
			if claims {
				err = errors.Join(err, c.Unclaim(context.WithoutCancel(ctx), consumer, e.ID))
			}
			return err
		}
		if err := d.MarkSeen(ctx, consumer, e.ID); err != nil {
			return fmt.Errorf("%s: mark event %s: %w", consumer, e.ID, err)
		}
		return nil
	}
}

// Format renders the text of an event and the customer's number ("" when the order has none). Events
// that are not texted return an empty text.
func Format(e contracts.Event) (to, text string, err error) {
	switch e.DetailType {
	case contracts.DetailOrderCreated:
		var d createdText
		if err := pipeline.Decode(e, &d); err != nil {
			return "", "", err
		}
		if err := d.complete(e); err != nil {
			return "", "", err
		}
		items := 0
		for _, it := range d.Items {
			items += it.Quantity
		}
		return d.CustomerPhone, lines(
			"🛒 Order Created!",
			orderLine(d.DetailMeta),
			"Customer: "+d.CustomerID,
			fmt.Sprintf("Items: %d", items),
			"Total: "+Money(d.TotalAmount, d.Currency),
			"Status: Processing",
			"Time: "+stamp(d.CreatedAt),
		), nil
	case contracts.DetailOrderCompleted:
		var d contracts.OrderCompletedDetail
		if err := pipeline.Decode(e, &d); err != nil {
			return "", "", err
		}
		return d.CustomerPhone, lines(
			"✅ Order Completed!",
			orderLine(d.DetailMeta),
			"Status: Ready for shipping",
			"Carrier: "+d.Shipment.Carrier,
			"Tracking: "+d.Shipment.TrackingNumber,
			"Estimated delivery: "+d.Shipment.EstimatedDelivery,
			"Completed: "+stamp(d.CompletedAt),
		), nil
	case contracts.DetailOrderFailed:
		var d contracts.OrderFailedDetail
		if err := pipeline.Decode(e, &d); err != nil {
			return "", "", err
		}
		return d.CustomerPhone, lines(
			"❌ Order Failed!",
			orderLine(d.DetailMeta),
			"Reason: "+d.Failure.Reason,
			"Total: "+Money(d.TotalAmount, d.Currency),
			"Time: "+stamp(d.FailedAt),
		), nil
	}
	return "", "", nil
}

// createdText is the part of contracts.OrderCreatedDetail that its text shows: the decoder skips the
// rest (the items' names and prices, the addresses) instead of building it, and does not refuse a
// malformed member it skips; the stage that emitted the event encoded all of it.
type createdText struct {
	contracts.DetailMeta
	CustomerID    string `json:"customerId"`
	CustomerPhone string `json:"customerPhone,omitempty"`
	Items         []struct {
		Quantity int `json:"quantity"`
	} `json:"items"`
	TotalAmount contracts.Amount `json:"totalAmount"`
	Currency    string           `json:"currency"`
	CreatedAt   time.Time        `json:"createdAt"`
}

// complete refuses, as fault.Invalid, a detail that lacks a member its text shows: texting it would tell
// the customer of an order with no id, no items, a total of 0.00 at 0001-01-01. JSON decoding leaves a
// missing member at its zero value without complaint, so this is checked here. The order id may come from
// the event's resources instead (pipeline.EventOrderID); the total may be zero (an order of free items);
// the phone and reference may be absent.
func (d *createdText) complete(e contracts.Event) error {
	var missing []string
	for _, m := range []struct {
		name    string
		missing bool
	}{
		{"orderId", pipeline.EventOrderID(e) == ""}, {"customerId", d.CustomerID == ""}, {"items", len(d.Items) == 0},
		{"currency", d.Currency == ""}, {"createdAt", d.CreatedAt.IsZero()},
	} {
		if m.missing {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return fault.Invalidf("malformed %s detail in event %s: no %s", e.DetailType, e.ID, strings.Join(missing, ", "))
	}
	return nil
}

func lines(l ...string) string { return strings.Join(l, "\n") }

// orderLine names the order for the customer by its reference, "Order: 7K3M-Q9TX", the name the API,
// the chatbot and support staff know it by. An event written before orders had references (contract
// 1.1, redelivered) falls back to the id's first 8 characters, as texts showed then.
func orderLine(m contracts.DetailMeta) string {
	if m.Reference != "" {
		return "Order: " + m.Reference
	}
	id := m.OrderID
	if len(id) > 8 {
		id = id[:8] + "..."
	}
	return "Order ID: " + id
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }

var symbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF "}

// Money formats an amount for people, with as many decimals as the currency's minor unit has
// (contracts.FormatAmount): €1,299.99, ¥1,300.
func Money(a contracts.Amount, currency string) string {
	s := contracts.FormatAmount(a, currency)
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 && r != '-' && whole[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	sym, ok := symbols[currency]
	if !ok {
		sym = currency + " "
	}
	if !hasFrac {
		return sym + b.String()
	}
	return sym + b.String() + "." + frac
}
