package awsbox_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/config"
	awseventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/schemas/validate"
	"github.com/orderflow/orderflow/services/adapters/emulators"
	"github.com/orderflow/orderflow/services/adapters/emulators/emulatorstest"
	"github.com/orderflow/orderflow/services/adapters/eventbridge"
	"github.com/orderflow/orderflow/services/app/apitest"
	"github.com/orderflow/orderflow/services/app/awsbox"
	"github.com/orderflow/orderflow/services/app/function"
	"github.com/orderflow/orderflow/services/lambdas"
	"github.com/orderflow/orderflow/services/routing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && shared != nil {
		// Every event the shared box's tests put on the bus, as a subscriber's rule received it, must
		// match its published schema.
		if err := validateTapped(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: events on the bus:", err)
			code = 1
		}
	}
	emulatorstest.Stop()
	emulatorstest.StopMoto()
	os.Exit(code)
}

// system is orderflow's AWS runtime on the emulators, driven over HTTP through its API Gateway.
type system struct {
	apitest.Client
	box  *awsbox.Box
	moto *emulators.Moto
}

// client is the API client of a box: Lambda's hops through the emulators take longer than the local
// bus's, so it waits longer and polls less often. An order it gives up on is explained by the box's
// trail of the functions invoked about it.
func client(t *testing.T, url string, b *awsbox.Box) apitest.Client {
	return apitest.Client{T: t, URL: url, ClientKey: awsbox.ClientKey, AdminKey: awsbox.AdminKey, Patience: 60 * time.Second, Poll: 200 * time.Millisecond,
		Explain: func(id string) string { return explain(b, id) }}
}

// explain lists the box's invocations about an order, and every function's counts.
func explain(b *awsbox.Box, id string) string {
	var s strings.Builder
	steps := b.Trail(id)
	fmt.Fprintf(&s, "the box's %d invocations about order %s:\n", len(steps), id)
	for _, st := range steps {
		fmt.Fprintf(&s, "  %s\n", st)
	}
	fmt.Fprintf(&s, "every function's invocations: %+v", b.Stats())
	return s.String()
}

// start runs a box until the test ends.
func start(t *testing.T, opts awsbox.Options) *system {
	t.Helper()
	ddb, moto := emulatorstest.DynamoDB(t), emulatorstest.Moto(t)
	opts.DynamoDBEndpoint, opts.MotoEndpoint = ddb.Endpoint, moto.Endpoint
	if opts.Env == nil {
		opts.Env = map[string]string{}
	}
	if _, ok := opts.Env[lambdas.EnvOperationsPhone]; !ok {
		opts.Env[lambdas.EnvOperationsPhone] = "+15550000000"
	}
	ctx, cancel := context.WithCancel(context.Background())
	b, err := awsbox.Start(ctx, opts)
	if err != nil {
		cancel()
		t.Fatalf("start the AWS runtime on the emulators: %v", err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(ctx) }()
	srv := httptest.NewServer(b.Gateway)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
	})
	return &system{Client: client(t, srv.URL, b), box: b, moto: moto}
}

// shared is one box for the scenarios that need no special settings.
var (
	sharedOnce sync.Once
	shared     *awsbox.Box
	sharedURL  string
	sharedErr  error
)

func sharedSystem(t *testing.T) *system {
	t.Helper()
	ddb, moto := emulatorstest.DynamoDB(t), emulatorstest.Moto(t)
	sharedOnce.Do(func() {
		ctx := context.Background()
		shared, sharedErr = awsbox.Start(ctx, awsbox.Options{
			DynamoDBEndpoint: ddb.Endpoint, MotoEndpoint: moto.Endpoint, Tap: true,
			// An order whose queue send failed (moto fails a request now and then under load) is re-queued
			// by the reconciler within seconds, not the minute of the default grace.
			Env: map[string]string{lambdas.EnvOperationsPhone: "+15550000000", lambdas.EnvReconcileGrace: "5s"},
		})
		if sharedErr == nil {
			go func() { _ = shared.Run(ctx) }() // runs until the test binary exits
			sharedURL = httptest.NewServer(shared.Gateway).URL
		}
	})
	if sharedErr != nil {
		t.Fatalf("start the AWS runtime on the emulators: %v", sharedErr)
	}
	return &system{Client: client(t, sharedURL, shared), box: shared, moto: moto}
}

// orderBody is the seed system's example order for a customer with a phone of its own, adjustable.
func orderBody(customer string, mods ...func(map[string]any)) map[string]any {
	return apitest.OrderBody(customer, append([]func(map[string]any){apitest.WithPhone(phoneOf(customer))}, mods...)...)
}

// phoneOf gives every customer a number of their own, so a test finds its texts by the number (the
// short order id in a text is not unique across orders placed within a minute).
func phoneOf(customer string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(customer))
	return fmt.Sprintf("+3162%07d", h.Sum32()%10_000_000)
}

// texts returns the SMS that moto's SNS sent to the customer's number.
func (s *system) texts(customer string) []emulators.SentSMS {
	s.T.Helper()
	all, err := s.moto.SentSMS(context.Background())
	for attempt := 0; err != nil && attempt < 5; attempt++ { // moto answers a 500 now and then under load
		time.Sleep(200 * time.Millisecond)
		all, err = s.moto.SentSMS(context.Background())
	}
	if err != nil {
		s.T.Fatal(err)
	}
	var out []emulators.SentSMS
	for _, m := range all {
		if m.PhoneNumber == phoneOf(customer) {
			out = append(out, m)
		}
	}
	return out
}

func TestHappyPathReachesCompletedWithHistoryShipmentAndTexts(t *testing.T) {
	t.Parallel()
	s := sharedSystem(t)
	s.PutStock("AWSHAPPY1", "Happy Gadget", 25, 10)
	o := s.Create(orderBody("aws-happy", apitest.WithItem("AWSHAPPY1", "Happy Gadget", 2, 25)))
	if o.Status != "PENDING" || o.TotalAmount != 5000 {
		t.Fatalf("created order = %+v", o)
	}
	done := s.Await(o.OrderID)
	if done.Status != "COMPLETED" {
		t.Fatalf("status %s, failure %+v", done.Status, done.Failure)
	}
	var statuses []string
	for _, h := range done.History {
		statuses = append(statuses, h.Status)
	}
	want := []string{"PENDING", "VALIDATING", "INVENTORY_CHECK", "PAYMENT_PROCESSING", "FULFILLMENT", "COMPLETED"}
	if d := cmp.Diff(want, statuses); d != "" {
		t.Errorf("history (-want +got):\n%s", d)
	}
	if done.Shipment == nil || done.Shipment.TrackingNumber == "" || done.Shipment.Carrier == "" {
		t.Errorf("shipment = %+v, want a carrier and a tracking number", done.Shipment)
	}
	for i := 1; i < len(done.History); i++ {
		t.Logf("%s after %s", done.History[i].Status, done.History[i].At.Sub(done.History[i-1].At))
	}
	t.Logf("create to completed through DynamoDB Local, moto's SQS and EventBridge: %s", done.History[len(done.History)-1].At.Sub(done.History[0].At))
	// The box's trail of the order: each stage's function invoked by the event before it, in order. A
	// redelivery or a retry after a failure (moto fails a request now and then under load) is the same
	// step again, so each step counts at its first success. A step is noted when its invocation returns,
	// which may be just after the order's status changed, so the test waits for the last one.
	trail := func() []string {
		var chain []string
		seen := map[string]bool{}
		for _, st := range s.box.Trail(o.OrderID) {
			step := st.Function + " ← " + st.DetailType
			if st.Err == "" && st.Function != "notifier" && st.Function != "metrics" && !seen[step] {
				seen[step] = true
				chain = append(chain, step)
			}
		}
		return chain
	}
	wantChain := []string{"dispatcher ← ", "validation ← OrderCreated", "inventory-reserve ← OrderValidated", "payment-authorize ← InventoryReserved", "fulfillment ← PaymentAuthorized"}
	apitest.WaitFor(t, func() bool { return len(trail()) >= len(wantChain) }, "the fulfillment function's step in the trail")
	chain := trail()
	if d := cmp.Diff(wantChain, chain); d != "" {
		t.Errorf("the box's trail of the order, notifier and metrics aside (-want +got):\n%s", d)
	}
	if got := s.Stock("AWSHAPPY1"); got != 8 {
		t.Errorf("stock = %d, want 8", got)
	}
	wantEvents := []string{"OrderCreated", "OrderValidated", "InventoryReserved", "PaymentAuthorized", "OrderCompleted"}
	if d := cmp.Diff(wantEvents, apitest.DetailTypes(s.Events(o.OrderID))); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	apitest.WaitFor(t, func() bool { return len(s.texts(o.CustomerID)) >= 2 }, "two texts through SNS")
	texts := s.texts(o.CustomerID)
	if len(texts) != 2 {
		t.Fatalf("texts = %+v, want Order Created and Order Completed", texts)
	}
	for _, m := range texts {
		if m.PhoneNumber != phoneOf("aws-happy") {
			t.Errorf("text to %s, want the customer's phone", m.PhoneNumber)
		}
	}
	if !strings.Contains(texts[0].Message+texts[1].Message, "Order Created") || !strings.Contains(texts[0].Message+texts[1].Message, "Order Completed") {
		t.Errorf("texts = %q", []string{texts[0].Message, texts[1].Message})
	}
}

func TestEveryFailureCode(t *testing.T) {
	t.Parallel()
	s := sharedSystem(t)
	tests := []struct {
		name, wantStage, wantCode string
		body                      map[string]any
		released                  bool
	}{
		{"unknown product", "VALIDATING", "UNKNOWN_PRODUCT", orderBody("aws-fail-unknown_product", apitest.WithItem("NOPE001", "Ghost", 1, 10)), false},
		{"price mismatch", "VALIDATING", "PRICE_MISMATCH", orderBody("aws-fail-price_mismatch", apitest.WithItem("LAPTOP001", "Gaming Laptop", 1, 999.99)), false},
		{"order limit", "VALIDATING", "ORDER_LIMIT_EXCEEDED", orderBody("aws-fail-order_limit_exceeded", apitest.WithItem("SERVER001", "Rack Server", 2, 49999.99)), false},
		{"out of stock", "INVENTORY_CHECK", "OUT_OF_STOCK", orderBody("aws-fail-out_of_stock", apitest.WithItem("LIMITED001", "Limited Edition Console", 6, 499.99)), false},
		{"declined", "PAYMENT_PROCESSING", "PAYMENT_DECLINED", orderBody("aws-fail-payment_declined", apitest.WithToken("tok_decline")), true},
		{"insufficient funds", "PAYMENT_PROCESSING", "INSUFFICIENT_FUNDS", orderBody("aws-fail-insufficient_funds", apitest.WithToken("tok_insufficient_funds")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := *s
			s.T = t
			o := s.Await(s.Create(tt.body).OrderID)
			if o.Status != "FAILED" || o.Failure == nil || o.Failure.Stage != tt.wantStage || o.Failure.Code != tt.wantCode {
				t.Fatalf("order = %s %+v, want FAILED at %s with %s", o.Status, o.Failure, tt.wantStage, tt.wantCode)
			}
			if tt.released {
				apitest.WaitFor(t, func() bool { return slices.Contains(apitest.DetailTypes(s.Events(o.OrderID)), "InventoryReleased") }, "InventoryReleased")
			}
			apitest.WaitFor(t, func() bool { return len(s.texts(o.CustomerID)) >= 2 }, "the Order Failed text")
		})
	}
	t.Run("flaky payment is retried by Lambda and completes", func(t *testing.T) {
		t.Parallel()
		s := *s
		s.T = t
		o := s.Await(s.Create(orderBody("aws-flaky", apitest.WithToken("tok_flaky"))).OrderID)
		if o.Status != "COMPLETED" {
			t.Fatalf("status %s %+v, want COMPLETED after Lambda's two retries", o.Status, o.Failure)
		}
	})
}

func TestCancellationRestoresStockAndNothingIsCharged(t *testing.T) {
	t.Parallel()
	// Lambda's retries of the flaky payment wait 1.5s each, holding the order in PAYMENT_PROCESSING.
	s := start(t, awsbox.Options{RetryDelay: 1500 * time.Millisecond})
	s.PutStock("AWSCANCEL1", "Gadget", 10, 5)
	o := s.Create(orderBody("aws-cancel", apitest.WithItem("AWSCANCEL1", "Gadget", 2, 10), apitest.WithToken("tok_flaky")))
	s.Await(o.OrderID, "PAYMENT_PROCESSING")
	if got := s.Stock("AWSCANCEL1"); got != 3 {
		t.Fatalf("stock while reserved = %d, want 3", got)
	}
	r := s.Do("POST", "/orders/"+o.OrderID+"/cancel", awsbox.ClientKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("cancel = %d %s", r.Status, r.Body)
	}
	apitest.WaitFor(t, func() bool { return s.Stock("AWSCANCEL1") == 5 }, "stock restored to 5")
	if again := s.Do("POST", "/orders/"+o.OrderID+"/cancel", awsbox.ClientKey, nil); again.Status != http.StatusOK {
		t.Errorf("cancel twice = %d, want 200", again.Status)
	}
	time.Sleep(4 * time.Second) // the flaky payment's retries run their course
	if got := s.Get(o.OrderID); got.Status != "CANCELLED" {
		t.Errorf("status after retries = %s, want CANCELLED", got.Status)
	}
	if got := s.Stock("AWSCANCEL1"); got != 5 {
		t.Errorf("stock after retries = %d, want 5", got)
	}
	evs := apitest.DetailTypes(s.Events(o.OrderID))
	if slices.Contains(evs, "PaymentAuthorized") || !slices.Contains(evs, "OrderCancelled") || !slices.Contains(evs, "InventoryReleased") {
		t.Errorf("events = %v, want OrderCancelled and InventoryReleased, no PaymentAuthorized", evs)
	}
	done := s.Await(s.Create(orderBody("aws-cancel")).OrderID)
	if r := s.Do("POST", "/orders/"+done.OrderID+"/cancel", awsbox.ClientKey, nil); r.Status != http.StatusConflict {
		t.Errorf("cancel completed order = %d %s, want 409", r.Status, r.Body)
	}
}

func TestEightConcurrentRetriesOfOneIdempotencyKeyMakeOneOrder(t *testing.T) {
	t.Parallel()
	s := sharedSystem(t)
	body := orderBody("aws-idem")
	var wg sync.WaitGroup
	ids := make([]string, 8)
	codes := make([]int, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.Do("POST", "/orders", awsbox.ClientKey, body, "Idempotency-Key", "aws-key-1")
			codes[i] = r.Status
			if r.Status == http.StatusCreated || r.Status == http.StatusOK {
				var o contracts.Order
				r.Decode(t, &o)
				ids[i] = o.OrderID
			}
		}()
	}
	wg.Wait()
	distinct := map[string]bool{}
	for i, id := range ids {
		switch codes[i] {
		case http.StatusCreated, http.StatusOK:
			distinct[id] = true
		case http.StatusConflict: // the first request still in flight
		default:
			t.Errorf("request %d: status %d", i, codes[i])
		}
	}
	if len(distinct) != 1 {
		t.Fatalf("orders created = %v (statuses %v), want exactly one", distinct, codes)
	}
	var list contracts.OrderList
	s.Do("GET", "/orders?customerId=aws-idem", awsbox.ClientKey, nil).Decode(t, &list)
	if len(list.Orders) != 1 {
		t.Errorf("customer has %d orders, want 1", len(list.Orders))
	}
}

// Every event of a completed order is put on the bus again, newest first, twice — with the fresh
// envelope ids EventBridge gives every put — and its queue message is sent again: nothing changes.
func TestDuplicateAndOutOfOrderDeliveriesChangeNothing(t *testing.T) {
	t.Parallel()
	s := sharedSystem(t)
	s.PutStock("AWSDUP1", "Gadget", 10, 10)
	o := s.Await(s.Create(orderBody("aws-dup", apitest.WithItem("AWSDUP1", "Gadget", 2, 10))).OrderID)
	if o.Status != "COMPLETED" {
		t.Fatalf("status %s", o.Status)
	}
	apitest.WaitFor(t, func() bool { return len(s.texts(o.CustomerID)) == 2 }, "both texts")
	evs := s.Events(o.OrderID)
	ctx := context.Background()
	moto := s.moto.AWSConfig()
	bus := eventbridge.New(awseventbridge.NewFromConfig(moto), s.box.BusName)
	q := awssqs.NewFromConfig(moto)
	for range 2 {
		for i := len(evs) - 1; i >= 0; i-- {
			if err := bus.Publish(ctx, evs[i]); err != nil {
				t.Fatalf("put %s again: %v", evs[i].DetailType, err)
			}
		}
		msg := fmt.Sprintf(`{"orderId":%q}`, o.OrderID)
		if _, err := q.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: &s.box.QueueURL, MessageBody: &msg}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Second) // let every redelivery be handled
	after := s.Get(o.OrderID)
	if after.Status != "COMPLETED" || len(after.History) != len(o.History) {
		t.Errorf("after redelivery: %s with %d history entries, want COMPLETED with %d", after.Status, len(after.History), len(o.History))
	}
	if got := s.Stock("AWSDUP1"); got != 8 {
		t.Errorf("stock = %d, want 8 (reserved once)", got)
	}
	if d := cmp.Diff(apitest.DetailTypes(evs), apitest.DetailTypes(s.Events(o.OrderID))); d != "" {
		t.Errorf("events changed (-before +after):\n%s", d)
	}
	if got := len(s.texts(o.CustomerID)); got != 2 {
		t.Errorf("texts = %d, want 2 (none sent twice)", got)
	}
}

func TestFortyConcurrentOrdersForTenUnitsCompleteExactlyTen(t *testing.T) {
	t.Parallel()
	apitest.ScarceStockIsNeverOversold(&sharedSystem(t).Client, "AWSSCARCE1", 40, 10)
}

// validateTapped checks every event the shared box's tap received against its schema.
func validateTapped() error {
	time.Sleep(2 * time.Second) // the last events of the last tests
	tapped, err := shared.Tapped(context.Background())
	if err != nil {
		return err
	}
	kinds := map[string]int{}
	var errs []string
	for _, ev := range tapped {
		raw, _ := json.Marshal(ev)
		if err := validate.Event(raw); err != nil {
			errs = append(errs, fmt.Sprintf("%s from %s: %v", ev.DetailType, ev.Source, err))
		}
		kinds[ev.Source+"@"+ev.DetailType]++
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d events do not match their schema:\n%s", len(errs), len(tapped), strings.Join(errs, "\n"))
	}
	if len(kinds) < 9 && flag.Lookup("test.run").Value.String() == "" { // a -run subset makes fewer
		return fmt.Errorf("the tests put only %d kinds of event on the bus (%v), want the 9 of the shared scenarios", len(kinds), kinds)
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "validated all %d events the tests put on the bus, %d kinds: %v\n", len(tapped), len(kinds), kinds)
	}
	return nil
}

// TestEveryEventOnTheBusValidatesAgainstItsSchema reads what a subscriber's rule receives from the bus
// (the box's tap) while the other tests run, and validates each event against its published schema.
func TestEveryEventOnTheBusValidatesAgainstItsSchema(t *testing.T) {
	s := sharedSystem(t)
	o := s.Await(s.Create(orderBody("aws-schema", apitest.WithToken("tok_decline"))).OrderID)
	apitest.WaitFor(t, func() bool { return slices.Contains(apitest.DetailTypes(s.Events(o.OrderID)), "InventoryReleased") }, "the release")
	time.Sleep(2 * time.Second)
	tapped, err := s.box.Tapped(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, ev := range tapped {
		raw, _ := json.Marshal(ev)
		if err := validate.Event(raw); err != nil {
			t.Errorf("%s from %s does not match its schema: %v\n%s", ev.DetailType, ev.Source, err, raw)
		}
		types[ev.Source+"@"+ev.DetailType]++
	}
	if len(types) < 4 {
		t.Errorf("tapped %d events of %d kinds, want at least the kinds of a failed order: %v", len(tapped), len(types), types)
	}
	t.Logf("validated %d events from the bus: %v", len(tapped), types)
}

// crashOnce makes a function crash — the process dies, as Lambda sees it — the first time it calls
// the given operation, after everything before that call was written: the points between a state write
// and the publish of its event (or the queueing of an order).
func crashOnce(ops ...string) (config.LoadOptionsFunc, *atomic.Int64) {
	var crashed atomic.Int64
	armed := map[string]*atomic.Bool{}
	for _, op := range ops {
		armed[op] = &atomic.Bool{}
		armed[op].Store(true)
	}
	return config.WithAPIOptions([]func(*middleware.Stack) error{func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("crashOnce", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := fmt.Sprintf("%T", in.Parameters)
			for name, a := range armed {
				if strings.HasSuffix(op, "."+name+"Input") && a.CompareAndSwap(true, false) {
					crashed.Add(1)
					panic("injected crash before " + name)
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	}}), &crashed
}

// TestACrashBetweenEveryWriteAndItsPublishIsRecovered crashes every function once at the point between
// its state write and its publish (the api function also between storing an order and queueing it), and
// shows that the redeliveries AWS makes — SQS's visibility timeout for the dispatcher, Lambda's
// asynchronous retry for the rule targets, the reconciler for an order never queued, the client's retry
// for a cancel — bring every order to its end, with stock and texts exactly once (rules 3 and 4).
func TestACrashBetweenEveryWriteAndItsPublishIsRecovered(t *testing.T) {
	t.Parallel()
	counters, want := map[string]*atomic.Int64{}, map[string]int64{}
	var mu sync.Mutex
	s := start(t, awsbox.Options{
		ReconcileEvery: time.Second, RetryDelay: time.Second, Env: map[string]string{lambdas.EnvReconcileGrace: "2s"},
		FunctionLoadOptions: func(fn string) []func(*config.LoadOptions) error {
			ops := []string{"PutEvents"}
			switch fn {
			case lambdas.API:
				ops = append(ops, "SendMessage")
			case routing.Notifier:
				ops = []string{"Publish"} // between the text's dedup check and its send
			case routing.Metrics, lambdas.Chatbot, lambdas.Reconciler, routing.PaymentVoid:
				// payment-void publishes only when it voids an authorization, which no order here has.
				return nil
			}
			opt, n := crashOnce(ops...)
			mu.Lock()
			counters[fn], want[fn] = n, int64(len(ops))
			mu.Unlock()
			return []func(*config.LoadOptions) error{opt}
		},
	})
	s.PutStock("AWSCRASH1", "Gadget", 10, 10)
	// The api function crashes after storing this order, before queueing it: the client sees a 5xx.
	r := s.Do("POST", "/orders", awsbox.ClientKey, orderBody("aws-crash-first", apitest.WithItem("AWSCRASH1", "Gadget", 1, 10)))
	if r.Status < 500 {
		t.Fatalf("create with a crash before queueing = %d %s, want a 5xx", r.Status, r.Body)
	}
	var list contracts.OrderList
	apitest.WaitFor(t, func() bool {
		s.Do("GET", "/orders?customerId=aws-crash-first", awsbox.ClientKey, nil).Decode(t, &list)
		return len(list.Orders) == 1
	}, "the stored order")
	first := s.Await(list.Orders[0].OrderID)
	if first.Status != "COMPLETED" {
		t.Fatalf("order stored but never queued: %s %+v, want COMPLETED after the reconciler", first.Status, first.Failure)
	}
	// Every stage has crashed once by now; a declined order crashes the compensations once too.
	declined := s.Await(s.Create(orderBody("aws-crash", apitest.WithItem("AWSCRASH1", "Gadget", 1, 10), apitest.WithToken("tok_decline"))).OrderID)
	if declined.Status != "FAILED" {
		t.Fatalf("declined order: %s", declined.Status)
	}
	apitest.WaitFor(t, func() bool {
		evs := apitest.DetailTypes(s.Events(declined.OrderID))
		return slices.Contains(evs, "InventoryReleased")
	}, "the declined order's stock released")
	apitest.WaitFor(t, func() bool { return s.Stock("AWSCRASH1") == 9 }, "stock 9: one sold, one released")
	// The api function crashes after writing a cancel, before publishing OrderCancelled: the cancel's
	// follow-up, queued before the write, publishes it, and the stock comes back with no retry by the
	// client.
	held := s.Create(orderBody("aws-crash", apitest.WithItem("AWSCRASH1", "Gadget", 1, 10), apitest.WithToken("tok_flaky")))
	s.Await(held.OrderID, "PAYMENT_PROCESSING")
	if r := s.Do("POST", "/orders/"+held.OrderID+"/cancel", awsbox.ClientKey, nil); r.Status < 500 {
		t.Fatalf("cancel with a crash before the publish = %d %s, want a 5xx", r.Status, r.Body)
	}
	if got := s.Get(held.OrderID); got.Status != "CANCELLED" {
		t.Fatalf("after the crashed cancel the order is %s, want CANCELLED (written before the crash)", got.Status)
	}
	apitest.WaitFor(t, func() bool { return s.Stock("AWSCRASH1") == 9 }, "the cancelled order's stock back (9) with no retry of the cancel")
	if r := s.Do("POST", "/orders/"+held.OrderID+"/cancel", awsbox.ClientKey, nil); r.Status != http.StatusOK {
		t.Fatalf("cancel again = %d %s, want 200", r.Status, r.Body)
	}
	for fn, n := range counters {
		if n.Load() != want[fn] {
			t.Errorf("function %s crashed %d times, want %d (once at each point)", fn, n.Load(), want[fn])
		}
	}
	if got := len(s.texts(first.CustomerID)); got < 2 {
		t.Errorf("texts of the completed order = %d, want at least 2 (at least once: a crash before the send sends again)", got)
	}
	stats := s.box.Stats()
	t.Logf("invocations: %+v", stats)
}

// A cancel that lands after the payment was authorized but before the order moved on (here: the
// payment function crashes right after authorizing, before its write; Lambda retries it 2s later) must
// void the authorization and give the stock back.
func TestCancelAfterAuthorizationVoidsThePayment(t *testing.T) {
	t.Parallel()
	var crashed *atomic.Int64
	s := start(t, awsbox.Options{
		RetryDelay: 2 * time.Second,
		FunctionLoadOptions: func(fn string) []func(*config.LoadOptions) error {
			if fn != routing.PaymentAuthorize {
				return nil
			}
			opt, n := crashOnce("TransactWriteItems") // the order's update, after the gateway authorized
			crashed = n
			return []func(*config.LoadOptions) error{opt}
		},
	})
	s.PutStock("AWSVOID1", "Gadget", 10, 5)
	o := s.Create(orderBody("aws-void", apitest.WithItem("AWSVOID1", "Gadget", 2, 10)))
	apitest.WaitFor(t, func() bool { return crashed.Load() == 1 }, "the payment function's crash after authorizing")
	if r := s.Do("POST", "/orders/"+o.OrderID+"/cancel", awsbox.ClientKey, nil); r.Status != http.StatusOK {
		t.Fatalf("cancel while the authorized payment is being retried = %d %s", r.Status, r.Body)
	}
	apitest.WaitFor(t, func() bool {
		evs := apitest.DetailTypes(s.Events(o.OrderID))
		return slices.Contains(evs, "PaymentVoided") && slices.Contains(evs, "InventoryReleased")
	}, "PaymentVoided and InventoryReleased")
	apitest.WaitFor(t, func() bool { return s.Stock("AWSVOID1") == 5 }, "stock restored to 5")
	time.Sleep(3 * time.Second) // Lambda's retry of the payment function runs into the cancelled order
	if got := s.Get(o.OrderID); got.Status != "CANCELLED" {
		t.Errorf("status after the retry = %s, want CANCELLED", got.Status)
	}
	evs := apitest.DetailTypes(s.Events(o.OrderID))
	if slices.Contains(evs, "PaymentAuthorized") || slices.Contains(evs, "OrderCompleted") {
		t.Errorf("events = %v: a cancelled order must not be paid or shipped", evs)
	}
}

// instance builds one more Lambda instance of a function of the box: the same environment, no memory
// shared with the box's own.
func instance(t *testing.T, s *system, name string) *function.Function {
	t.Helper()
	spec, ok := lambdas.Lookup(name)
	if !ok {
		t.Fatalf("no function %s", name)
	}
	env := s.box.Env(spec)
	f, err := function.New(context.Background(), name, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// One event delivered twice at the same moment to two instances (SQS and EventBridge both deliver at
// least once, and in parallel) texts once: the notifier claims the event before it sends.
func TestTwoInstancesGivenOneEventAtOnceTextOnce(t *testing.T) {
	t.Parallel()
	s := sharedSystem(t)
	a, b := instance(t, s, routing.Notifier), instance(t, s, routing.Notifier)
	for round := range 3 {
		customer := fmt.Sprintf("aws-twice-%d-%d", round, time.Now().UnixNano())
		orderID := fmt.Sprintf("01a2-twice-%d-%d", round, time.Now().UnixNano())
		detail, _ := json.Marshal(map[string]any{
			"eventId": "evt-" + orderID, "orderId": orderID, "correlationId": orderID, "schemaVersion": contracts.SchemaVersion,
			"customerId": customer, "customerEmail": "t@example.com", "customerPhone": phoneOf(customer),
			"items":       []any{map[string]any{"productId": "LAPTOP001", "name": "Gaming Laptop", "quantity": 1, "price": 1299.99}},
			"totalAmount": 1299.99, "currency": "EUR", "createdAt": time.Now().UTC(),
			"shippingAddress": map[string]any{"street": "1 St", "city": "C", "state": "S", "zipCode": "1", "country": "NL"},
		})
		put := func(envelopeID string) events.EventBridgeEvent { // each put gets its own envelope id
			return events.EventBridgeEvent{Version: "0", ID: envelopeID, DetailType: contracts.DetailOrderCreated,
				Source: contracts.SourceOrders, AccountID: "000000000000", Time: time.Now().UTC(), Region: awsbox.Region,
				Resources: []string{orderID}, Detail: detail}
		}
		var wg sync.WaitGroup
		for i, f := range []*function.Function{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f.EventBridge()(context.Background(), put(fmt.Sprintf("envelope-%d", i))); err != nil {
					t.Errorf("invocation: %v", err)
				}
			}()
		}
		wg.Wait()
		if got := len(s.texts(customer)); got != 1 {
			t.Errorf("round %d: one event delivered to two instances at once sent %d texts, want 1", round, got)
		}
	}
}
