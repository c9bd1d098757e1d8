package routing_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/routing"
)

func ev(source, detailType, detail string) contracts.Event {
	return contracts.Event{Source: source, DetailType: detailType, Detail: json.RawMessage(detail)}
}

func TestTableRoutesEveryEventToItsConsumers(t *testing.T) {
	t.Parallel()
	r, err := routing.NewRouter(routing.Table)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		source, detailType string
		want               []string
	}{
		{contracts.SourceOrders, contracts.DetailOrderCreated, []string{routing.Validation, routing.Notifier, routing.Metrics}},
		{contracts.SourceValidation, contracts.DetailOrderValidated, []string{routing.InventoryReserve, routing.Metrics}},
		{contracts.SourceInventory, contracts.DetailInventoryReserved, []string{routing.PaymentAuthorize, routing.Metrics}},
		{contracts.SourcePayment, contracts.DetailPaymentAuthorized, []string{routing.Fulfillment, routing.Metrics}},
		{contracts.SourceFulfillment, contracts.DetailOrderCompleted, []string{routing.Notifier, routing.Metrics}},
		{contracts.SourcePayment, contracts.DetailOrderFailed, []string{routing.InventoryRelease, routing.PaymentVoid, routing.Notifier, routing.Metrics}},
		{contracts.SourceOrders, contracts.DetailOrderCancelled, []string{routing.InventoryRelease, routing.PaymentVoid, routing.Metrics}},
		{contracts.SourceInventory, contracts.DetailInventoryReleased, []string{routing.Metrics}},
		{"acme.other", contracts.DetailOrderCreated, nil},
	}
	for _, tt := range tests {
		t.Run(tt.source+"/"+tt.detailType, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, r.Targets(ev(tt.source, tt.detailType, `{}`))); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPatternLanguage(t *testing.T) {
	t.Parallel()
	e := ev("orderflow.payment", "OrderFailed", `{"orderId":"o1","failure":{"stage":"PAYMENT_PROCESSING","code":"PAYMENT_DECLINED"},"totalAmount":1299.99,"tags":["vip","eu"]}`)
	tests := []struct {
		pattern string
		want    bool
	}{
		{`{"source":["orderflow.payment"]}`, true},
		{`{"source":["orderflow.orders"]}`, false},
		{`{"source":[{"prefix":"orderflow."}]}`, true},
		{`{"detail-type":[{"suffix":"Failed"}]}`, true},
		{`{"detail":{"failure":{"code":["PAYMENT_DECLINED","INSUFFICIENT_FUNDS"]}}}`, true},
		{`{"detail":{"failure":{"code":[{"anything-but":["PAYMENT_DECLINED"]}]}}}`, false},
		{`{"detail":{"failure":{"code":[{"anything-but":"OUT_OF_STOCK"}]}}}`, true},
		{`{"detail":{"totalAmount":[1299.99]}}`, true},
		{`{"detail":{"shipment":[{"exists":false}]}}`, true},
		{`{"detail":{"orderId":[{"exists":true}]}}`, true},
		{`{"detail":{"tags":["eu"]}}`, true},
		{`{"detail":{"failure":["x"]}}`, false},
		{`{"source":["orderflow.payment"],"detail-type":["OrderCompleted"]}`, false},
	}
	for _, tt := range tests {
		p, err := routing.ParsePattern(tt.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tt.pattern, err)
		}
		if got := p.Match(e); got != tt.want {
			t.Errorf("%s matched = %v, want %v", tt.pattern, got, tt.want)
		}
	}
}

func TestPatternErrors(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{`[]`, `{"source":"x"}`, `{"source":[{"numeric":[">",1]}]}`, `{"source":[{"prefix":1}]}`, `{"source":[{"exists":"yes"}]}`} {
		if _, err := routing.ParsePattern(bad); err == nil {
			t.Errorf("ParsePattern(%s) accepted an unsupported pattern", bad)
		}
	}
}

// A router remembers the targets of each source and detail type; what a caller does with the targets it
// was given must not change what the next event is routed to, and a table with a pattern on the detail
// must still route by the detail.
func TestRouterRoutesAlikeEveryTime(t *testing.T) {
	t.Parallel()
	r, err := routing.NewRouter(routing.Table)
	if err != nil {
		t.Fatal(err)
	}
	created := ev(contracts.SourceOrders, contracts.DetailOrderCreated, `{}`)
	want := []string{routing.Validation, routing.Notifier, routing.Metrics}
	for range 3 {
		got := r.Targets(created)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("targets (-want +got):\n%s", diff)
		}
		got[0] = "changed by the caller"
		_ = append(got[:1], "appended by the caller")
	}

	byDetail, err := routing.NewRouter([]routing.Route{
		{Name: "euro", Target: "euro-orders", Pattern: `{"source":["orderflow.orders"],"detail":{"currency":["EUR"]}}`},
		{Name: "all", Target: "all-orders", Pattern: `{"source":["orderflow.orders"]}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		detail string
		want   []string
	}{
		{`{"currency":"EUR"}`, []string{"euro-orders", "all-orders"}},
		{`{"currency":"USD"}`, []string{"all-orders"}},
		{`{"currency":"EUR"}`, []string{"euro-orders", "all-orders"}},
	} {
		if diff := cmp.Diff(tt.want, byDetail.Targets(ev(contracts.SourceOrders, contracts.DetailOrderCreated, tt.detail))); diff != "" {
			t.Errorf("targets of %s (-want +got):\n%s", tt.detail, diff)
		}
	}
}
