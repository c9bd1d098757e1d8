package routing_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/schemas"
	"github.com/orderflow/orderflow/services/adapters/awslambda"
	"github.com/orderflow/orderflow/services/adapters/emulators/emulatorstest"
	ebadapter "github.com/orderflow/orderflow/services/adapters/eventbridge"
	"github.com/orderflow/orderflow/services/routing"
)

func TestMain(m *testing.M) { os.Exit(emulatorstest.Main(m)) }

// routedEvent is one event put on the bus, marked so that it can be recognised at the probes.
type routedEvent struct {
	name  string
	event contracts.Event
	// wantNone says the event is a variant that no route may take, so that the test is not vacuous
	// about the events that must go nowhere.
	wantNone bool
}

// schemaExamples returns every example envelope of every event schema.
func schemaExamples(t *testing.T) []routedEvent {
	t.Helper()
	files, err := fs.Glob(schemas.FS, path.Join(schemas.EventsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no event schemas in schemas.FS (%v)", err)
	}
	var out []routedEvent
	for _, f := range files {
		b, err := fs.ReadFile(schemas.FS, f)
		if err != nil {
			t.Fatal(err)
		}
		var schema struct {
			Examples []contracts.Event `json:"examples"`
		}
		if err := json.Unmarshal(b, &schema); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(schema.Examples) == 0 {
			t.Fatalf("%s has no examples", f)
		}
		for i, e := range schema.Examples {
			out = append(out, routedEvent{name: fmt.Sprintf("%s example %d", path.Base(f), i), event: e})
		}
	}
	return out
}

// variants are events that look like orderflow's but are not: no route may take them.
func variants(t *testing.T, examples []routedEvent) []routedEvent {
	t.Helper()
	find := func(source, detailType string) contracts.Event {
		for _, ex := range examples {
			if ex.event.Source == source && ex.event.DetailType == detailType {
				return ex.event
			}
		}
		t.Fatalf("no schema example of %s %s", source, detailType)
		return contracts.Event{}
	}
	created := find(contracts.SourceOrders, contracts.DetailOrderCreated)
	failed := find(contracts.SourcePayment, contracts.DetailOrderFailed)
	with := func(e contracts.Event, source, detailType string) contracts.Event {
		e.Source, e.DetailType = source, detailType
		return e
	}
	return []routedEvent{
		{name: "OrderCreated from another team", event: with(created, "other.team", contracts.DetailOrderCreated), wantNone: true},
		{name: "OrderFailed from another team", event: with(failed, "other.team", contracts.DetailOrderFailed), wantNone: true},
		{name: "OrderCreated from a source that only starts like orderflow", event: with(created, "orderflowx", contracts.DetailOrderCreated), wantNone: true},
		{name: "OrderFailed from a look-alike prefix", event: with(failed, "orderflowx.payment", contracts.DetailOrderFailed), wantNone: true},
		{name: "OrderCreated from bare orderflow", event: with(created, "orderflow", contracts.DetailOrderCreated), wantNone: true},
		{name: "OrderCreated from a source in other case", event: with(created, "Orderflow.orders", contracts.DetailOrderCreated), wantNone: true},
		// Metrics takes every orderflow event, so these still reach it, and only it.
		{name: "an unknown detail type from orderflow.orders", event: with(created, contracts.SourceOrders, "OrderShipped")},
		{name: "a detail type in other case", event: with(created, contracts.SourceOrders, "ordercreated")},
		{name: "OrderCreated from an unknown orderflow source", event: with(created, "orderflow.marketing", contracts.DetailOrderCreated)},
	}
}

// mark gives the event a detail eventId of its own, by which it is recognised at the probes (EventBridge
// stamps a fresh envelope id; the Lambda adapter restores the detail's).
func mark(t *testing.T, e contracts.Event, id string) contracts.Event {
	t.Helper()
	var detail map[string]any
	if err := json.Unmarshal(e.Detail, &detail); err != nil {
		t.Fatalf("example detail: %v", err)
	}
	detail["eventId"] = id
	b, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	e.Detail, e.ID = b, id
	return e
}

// TestRoutingTableRoutesTheSameOnEventBridge checks the routing table against an event-pattern engine
// that is not ours: every route becomes a rule with exactly its pattern on a moto bus, targeting a probe
// queue per target, and every event (each schema's examples and look-alikes that must go nowhere)
// reaches exactly the probes of the targets routing.Router picks for it.
func TestRoutingTableRoutesTheSameOnEventBridge(t *testing.T) {
	t.Parallel()
	router, err := routing.NewRouter(routing.Table)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	cfg := emulatorstest.MotoConfig(t)
	eb, sq := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	bus := emulatorstest.EventBus(t, eb)

	probes := map[string]string{} // target → probe queue URL
	for _, rt := range routing.Table {
		// Router.Targets names a target once however many of its routes match, while each matching rule
		// delivers a copy: with two routes per target the counts below would differ for that reason alone.
		if _, ok := probes[rt.Target]; ok {
			t.Fatalf("target %s has two routes; this test expects one rule per target", rt.Target)
		}
		url, arn := emulatorstest.ProbeQueue(t, sq)
		probes[rt.Target] = url
		emulatorstest.RuleToQueue(t, eb, bus, rt.Name, rt.Pattern, arn)
	}

	examples := schemaExamples(t)
	cases := append(examples, variants(t, examples)...)
	want := map[string][]string{} // target → ids of the events it must receive
	var sent []contracts.Event
	for i := range cases {
		c := &cases[i]
		c.event = mark(t, c.event, fmt.Sprintf("case-%02d", i))
		targets := router.Targets(c.event)
		if c.wantNone != (len(targets) == 0) {
			t.Errorf("%s: routing.Router picks %v; the test expects %s", c.name, targets,
				map[bool]string{true: "none", false: "some"}[c.wantNone])
		}
		for _, target := range targets {
			want[target] = append(want[target], c.event.ID)
		}
		sent = append(sent, c.event)
	}
	if err := ebadapter.New(eb, bus).Publish(t.Context(), sent...); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	names := map[string]string{}
	for _, c := range cases {
		names[c.event.ID] = c.name
	}
	for target, url := range probes {
		var got []string
		for _, body := range emulatorstest.ReceiveAll(t, sq, url, len(want[target]), 15*time.Second) {
			var in events.EventBridgeEvent
			if err := json.Unmarshal(body, &in); err != nil {
				t.Fatalf("probe of %s received a message that is not an event: %v", target, err)
			}
			got = append(got, awslambda.Event(in).ID)
		}
		slices.Sort(got)
		slices.Sort(want[target])
		if diff := cmp.Diff(want[target], got, cmp.Transformer("names", func(ids []string) []string {
			out := make([]string, len(ids))
			for i, id := range ids {
				out[i] = id + " " + names[id]
			}
			return out
		})); diff != "" {
			t.Errorf("events EventBridge delivered to %s, against what routing.Router picks (-router +eventbridge):\n%s", target, diff)
		}
	}
	t.Logf("%d events over %d rules; routed as routing.Router routes them: %s", len(sent), len(routing.Table), summary(want))
}

func summary(want map[string][]string) string {
	var parts []string
	for target, ids := range want {
		parts = append(parts, fmt.Sprintf("%s %d", target, len(ids)))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
