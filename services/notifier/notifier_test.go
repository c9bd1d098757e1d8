package notifier_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/notifier"
)

type fakeSender struct{ sent []notifier.SMS }

func (f *fakeSender) Send(_ context.Context, m notifier.SMS) error {
	f.sent = append(f.sent, m)
	return nil
}

type fakeDeduper map[string]bool

func (f fakeDeduper) Seen(_ context.Context, c, id string) (bool, error) { return f[c+id], nil }
func (f fakeDeduper) MarkSeen(_ context.Context, c, id string) error {
	f[c+id] = true
	return nil
}

func event(t *testing.T, detailType string, detail any) contracts.Event {
	t.Helper()
	b, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	return contracts.Event{ID: "ev-" + detailType, DetailType: detailType, Detail: b}
}

var at = time.Date(2026, 1, 15, 14, 30, 25, 0, time.UTC)

// createdDetail is an OrderCreated detail with what its text shows.
func createdDetail(orderID string) contracts.OrderCreatedDetail {
	return contracts.OrderCreatedDetail{
		DetailMeta: contracts.DetailMeta{OrderID: orderID}, CustomerID: "c1",
		Items: []contracts.LineItem{{ProductID: "P1", Quantity: 1, Price: 100}}, TotalAmount: 100, Currency: "EUR", CreatedAt: at,
	}
}

func TestTextsInTheSeedFormat(t *testing.T) {
	t.Parallel()
	meta := contracts.DetailMeta{OrderID: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Reference: "7K3M-Q9TX"}
	created := event(t, contracts.DetailOrderCreated, contracts.OrderCreatedDetail{
		DetailMeta: meta, CustomerID: "customer123", CustomerPhone: "+31629408162",
		Items:       []contracts.LineItem{{ProductID: "LAPTOP001", Quantity: 1, Price: 129999}, {ProductID: "MOUSE001", Quantity: 3, Price: 4999}},
		TotalAmount: 144996, Currency: "EUR", CreatedAt: at,
	})
	want := "🛒 Order Created!\nOrder: 7K3M-Q9TX\nCustomer: customer123\nItems: 4\nTotal: €1,449.96\nStatus: Processing\nTime: 2026-01-15 14:30:25 UTC"
	to, text, err := notifier.Format(created)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, text); diff != "" || to != "+31629408162" {
		t.Errorf("created text (-want +got):\n%s (to %q)", diff, to)
	}
	failed := event(t, contracts.DetailOrderFailed, contracts.OrderFailedDetail{
		DetailMeta: meta, Failure: contracts.Failure{Stage: "PAYMENT_PROCESSING", Code: "PAYMENT_DECLINED", Reason: "Payment declined by the card issuer"},
		TotalAmount: 500, Currency: "USD", FailedAt: at,
	})
	_, text, _ = notifier.Format(failed)
	if !strings.HasPrefix(text, "❌ Order Failed!\nOrder: 7K3M-Q9TX\nReason: Payment declined by the card issuer\nTotal: $5.00") {
		t.Errorf("failed text = %q", text)
	}
	completed := event(t, contracts.DetailOrderCompleted, contracts.OrderCompletedDetail{
		DetailMeta: meta, Shipment: contracts.Shipment{Carrier: "DHL", TrackingNumber: "JD1", EstimatedDelivery: "2026-01-19"}, CompletedAt: at,
	})
	_, text, _ = notifier.Format(completed)
	if !strings.HasPrefix(text, "✅ Order Completed!\nOrder: 7K3M-Q9TX\nStatus: Ready for shipping") || !strings.Contains(text, "Tracking: JD1") {
		t.Errorf("completed text = %q", text)
	}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	for amount, want := range map[contracts.Amount]string{0: "€0.00", 5: "€0.05", 129999: "€1,299.99", 100000000: "€1,000,000.00", 99999: "€999.99"} {
		if got := notifier.Money(amount, "EUR"); got != want {
			t.Errorf("Money(%d) = %q, want %q", amount, got, want)
		}
	}
}

// The texts write an amount with the decimals of the currency's minor unit, from contracts' one table.
func TestMoneyFollowsTheCurrencysMinorUnit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount   contracts.Amount
		currency string
		want     string
	}{
		{130000, "JPY", "¥1,300"},
		{123456700, "KRW", "KRW 1,234,567"},
		{0, "JPY", "¥0"},
		{129999, "USD", "$1,299.99"},
		{500, "CHF", "CHF 5.00"},
		{1250, "XYZ", "XYZ 12.50"}, // not a currency orderflow accepts: every digit the amount has
	}
	for _, tt := range tests {
		if got := notifier.Money(tt.amount, tt.currency); got != tt.want {
			t.Errorf("Money(%d, %s) = %q, want %q", tt.amount, tt.currency, got, tt.want)
		}
	}
}

func TestRedeliveredEventTextsOnce(t *testing.T) {
	t.Parallel()
	s := &fakeSender{}
	svc := &notifier.Service{Sender: s, Deduper: fakeDeduper{}, OperationsNumber: "+3100000000"}
	e := event(t, contracts.DetailOrderCreated, createdDetail("o1"))
	for range 3 {
		if err := svc.Handle(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.sent) != 1 || s.sent[0].To != "+3100000000" {
		t.Fatalf("sent = %+v, want one text to the operations number", s.sent)
	}
}

func TestAnEventWithoutAReferenceNamesTheOrderByItsIDPrefix(t *testing.T) {
	t.Parallel()
	// A contract 1.1 event, written before orders had references, redelivered.
	created := event(t, contracts.DetailOrderCreated, contracts.OrderCreatedDetail{
		DetailMeta: contracts.DetailMeta{OrderID: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}, CustomerID: "customer123",
		Items: []contracts.LineItem{{ProductID: "LAPTOP001", Quantity: 1, Price: 129999}}, TotalAmount: 129999, Currency: "EUR", CreatedAt: at,
	})
	_, text, err := notifier.Format(created)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "🛒 Order Created!\nOrder ID: 0193a1b2...\n") {
		t.Errorf("text = %q, want the id prefix line", text)
	}
}

func TestTextsCarryTheOrderTheyAreAbout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		resources []string
		want      string
	}{
		{"from the event's resources, as the envelope sets them", []string{"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}, "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},
		{"from the detail when there are no resources", nil, "o1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &fakeSender{}
			svc := &notifier.Service{Sender: s, Deduper: fakeDeduper{}, OperationsNumber: "+3100000000"}
			e := event(t, contracts.DetailOrderCreated, createdDetail("o1"))
			e.Resources = tt.resources
			if err := svc.Handle(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			if len(s.sent) != 1 || s.sent[0].OrderID != tt.want || s.sent[0].ID != e.ID {
				t.Fatalf("sent = %+v, want one text with id %s about order %s", s.sent, e.ID, tt.want)
			}
		})
	}
}

func TestWithoutADeduperEveryDeliveryReachesTheSender(t *testing.T) {
	t.Parallel()
	// A Sender that sends each SMS.ID once (the local sink) needs no Deduper: the notifier then leaves
	// redeliveries to it.
	s := &fakeSender{}
	svc := &notifier.Service{Sender: s, OperationsNumber: "+3100000000"}
	e := event(t, contracts.DetailOrderCreated, createdDetail("o1"))
	for range 2 {
		if err := svc.Handle(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.sent) != 2 || s.sent[0].ID != s.sent[1].ID {
		t.Fatalf("sent = %+v, want the same message twice", s.sent)
	}
}

// An OrderCreated detail without what its text shows is refused (and so retried, then dead-lettered),
// never texted to the customer as an order of 0 items, 0.00, at 0001-01-01.
func TestACreatedDetailMissingWhatItsTextShowsIsRefusedNotTexted(t *testing.T) {
	t.Parallel()
	complete := `"orderId":"o1","eventId":"e1","customerId":"c1","customerPhone":"+31629408162","items":[{"productId":"P1","quantity":1}],"currency":"EUR","createdAt":"2026-01-15T14:30:25Z"`
	tests := []struct {
		name, detail, missing string
	}{
		{"only ids and a phone", `{"orderId":"o1","eventId":"e1","customerPhone":"+31629408162"}`, "customerId, items, currency, createdAt"},
		{"no order id", strings.Replace("{"+complete+"}", `"orderId":"o1",`, "", 1), "orderId"},
		{"no items", strings.Replace("{"+complete+"}", `"items":[{"productId":"P1","quantity":1}],`, "", 1), "items"},
		{"no time", strings.Replace("{"+complete+"}", `,"createdAt":"2026-01-15T14:30:25Z"`, "", 1), "createdAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sender := &fakeSender{}
			s := &notifier.Service{Sender: sender}
			e := contracts.Event{ID: "e1", DetailType: contracts.DetailOrderCreated, Detail: json.RawMessage(tt.detail)}
			err := s.Handle(t.Context(), e)
			if !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), "no "+tt.missing) {
				t.Errorf("Handle = %v (kind %s), want invalid naming %q", err, fault.KindOf(err), tt.missing)
			}
			if len(sender.sent) != 0 {
				t.Errorf("texted %q", sender.sent[0].Text)
			}
		})
	}
	sender := &fakeSender{}
	s := &notifier.Service{Sender: sender}
	// A total of zero (free items) is an order like any other.
	if err := s.Handle(t.Context(), contracts.Event{ID: "e1", DetailType: contracts.DetailOrderCreated, Detail: json.RawMessage("{" + complete + "}")}); err != nil || len(sender.sent) != 1 {
		t.Errorf("complete detail: Handle = %v, %d texts, want nil and 1", err, len(sender.sent))
	}
}
