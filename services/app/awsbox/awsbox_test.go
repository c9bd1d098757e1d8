package awsbox_test

import (
	"bytes"
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
	t    *testing.T
	box  *awsbox.Box
	moto *emulators.Moto
	url  string
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
	return &system{t: t, box: b, moto: moto, url: srv.URL}
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
	return &system{t: t, box: shared, moto: moto, url: sharedURL}
}

type response struct {
	status int
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (s *system) do(method, path, key string, body any, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && res.StatusCode < 500 {
		if err := validate.Response(method, routePattern(path), res.StatusCode, b); err != nil {
			s.t.Errorf("%s %s → %d does not match the OpenAPI document: %v\n%s", method, path, res.StatusCode, err, b)
		}
	}
	return response{status: res.StatusCode, body: b}
}

func routePattern(path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "orders":
		parts[1] = "{orderId}"
	case len(parts) == 2 && parts[0] == "inventory":
		parts[1] = "{productId}"
	}
	return "/" + strings.Join(parts, "/")
}

// orderBody is the seed system's example order for a customer, adjustable.
func orderBody(customer string, mods ...func(map[string]any)) map[string]any {
	m := map[string]any{
		"customerId": customer, "customerEmail": customer + "@example.com", "customerPhone": phoneOf(customer),
		"items":           []any{map[string]any{"productId": "LAPTOP001", "name": "Gaming Laptop", "quantity": 1, "price": 1299.99}},
		"totalAmount":     1299.99,
		"shippingAddress": map[string]any{"street": "123 Main St", "city": "Anytown", "state": "CA", "zipCode": "12345", "country": "USA"},
	}
	for _, mod := range mods {
		mod(m)
	}
	return m
}

// phoneOf gives every customer a number of their own, so a test finds its texts by the number (the
// short order id in a text is not unique across orders placed within a minute).
func phoneOf(customer string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(customer))
	return fmt.Sprintf("+3162%07d", h.Sum32()%10_000_000)
}

func withItem(productID, name string, qty int, price float64) func(map[string]any) {
	return func(m map[string]any) {
		m["items"] = []any{map[string]any{"productId": productID, "name": name, "quantity": qty, "price": price}}
		m["totalAmount"] = float64(qty) * price
	}
}

func withToken(tok string) func(map[string]any) {
	return func(m map[string]any) { m["paymentToken"] = tok }
}

func (s *system) create(body map[string]any, headers ...string) contracts.Order {
	s.t.Helper()
	r := s.do("POST", "/orders", awsbox.ClientKey, body, headers...)
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		s.t.Fatalf("POST /orders = %d %s", r.status, r.body)
	}
	var o contracts.Order
	r.decode(s.t, &o)
	return o
}

func (s *system) get(id string) contracts.Order {
	s.t.Helper()
	r := s.do("GET", "/orders/"+id, awsbox.ClientKey, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("GET /orders/%s = %d %s", id, r.status, r.body)
	}
	var o contracts.Order
	r.decode(s.t, &o)
	return o
}

// await waits for the order to reach one of the statuses (default: an end state).
func (s *system) await(id string, want ...string) contracts.Order {
	s.t.Helper()
	if len(want) == 0 {
		want = []string{"COMPLETED", "FAILED", "CANCELLED"}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		o := s.get(id)
		if slices.Contains(want, o.Status) {
			return o
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("order %s still %s after 60s, want %v", id, o.Status, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *system) events(id string) []contracts.Event {
	s.t.Helper()
	r := s.do("GET", "/orders/"+id+"/events", awsbox.ClientKey, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("GET events = %d %s", r.status, r.body)
	}
	var list contracts.EventList
	r.decode(s.t, &list)
	return list.Events
}

func detailTypes(evs []contracts.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.DetailType)
	}
	return out
}

func (s *system) stock(productID string) int {
	s.t.Helper()
	r := s.do("GET", "/inventory/"+productID, awsbox.AdminKey, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("GET /inventory/%s = %d %s", productID, r.status, r.body)
	}
	var it contracts.InventoryItem
	r.decode(s.t, &it)
	return it.Available
}

func (s *system) putStock(productID, name string, price float64, available int) {
	s.t.Helper()
	r := s.do("PUT", "/inventory/"+productID, awsbox.AdminKey, map[string]any{"name": name, "price": price, "available": available})
	if r.status != http.StatusOK && r.status != http.StatusCreated {
		s.t.Fatalf("PUT /inventory/%s = %d %s", productID, r.status, r.body)
	}
}

// texts returns the SMS that moto's SNS sent to the customer's number.
func (s *system) texts(customer string) []emulators.SentSMS {
	s.t.Helper()
	all, err := s.moto.SentSMS(context.Background())
	for attempt := 0; err != nil && attempt < 5; attempt++ { // moto answers a 500 now and then under load
		time.Sleep(200 * time.Millisecond)
		all, err = s.moto.SentSMS(context.Background())
	}
	if err != nil {
		s.t.Fatal(err)
	}
	var out []emulators.SentSMS
	for _, m := range all {
		if m.PhoneNumber == phoneOf(customer) {
			out = append(out, m)
		}
	}
	return out
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHappyPathReachesCompletedWithHistoryShipmentAndTexts(t *testing.T) {
	t.Parallel()
	s := sharedSystem(t)
	s.putStock("AWSHAPPY1", "Happy Gadget", 25, 10)
	o := s.create(orderBody("aws-happy", withItem("AWSHAPPY1", "Happy Gadget", 2, 25)))
	if o.Status != "PENDING" || o.TotalAmount != 5000 {
		t.Fatalf("created order = %+v", o)
	}
	done := s.await(o.OrderID)
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
	if got := s.stock("AWSHAPPY1"); got != 8 {
		t.Errorf("stock = %d, want 8", got)
	}
	wantEvents := []string{"OrderCreated", "OrderValidated", "InventoryReserved", "PaymentAuthorized", "OrderCompleted"}
	if d := cmp.Diff(wantEvents, detailTypes(s.events(o.OrderID))); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	waitFor(t, func() bool { return len(s.texts(o.CustomerID)) >= 2 }, "two texts through SNS")
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
		{"unknown product", "VALIDATING", "UNKNOWN_PRODUCT", orderBody("aws-fail-unknown_product", withItem("NOPE001", "Ghost", 1, 10)), false},
		{"price mismatch", "VALIDATING", "PRICE_MISMATCH", orderBody("aws-fail-price_mismatch", withItem("LAPTOP001", "Gaming Laptop", 1, 999.99)), false},
		{"order limit", "VALIDATING", "ORDER_LIMIT_EXCEEDED", orderBody("aws-fail-order_limit_exceeded", withItem("SERVER001", "Rack Server", 2, 49999.99)), false},
		{"out of stock", "INVENTORY_CHECK", "OUT_OF_STOCK", orderBody("aws-fail-out_of_stock", withItem("LIMITED001", "Limited Edition Console", 6, 499.99)), false},
		{"declined", "PAYMENT_PROCESSING", "PAYMENT_DECLINED", orderBody("aws-fail-payment_declined", withToken("tok_decline")), true},
		{"insufficient funds", "PAYMENT_PROCESSING", "INSUFFICIENT_FUNDS", orderBody("aws-fail-insufficient_funds", withToken("tok_insufficient_funds")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := *s
			s.t = t
			o := s.await(s.create(tt.body).OrderID)
			if o.Status != "FAILED" || o.Failure == nil || o.Failure.Stage != tt.wantStage || o.Failure.Code != tt.wantCode {
				t.Fatalf("order = %s %+v, want FAILED at %s with %s", o.Status, o.Failure, tt.wantStage, tt.wantCode)
			}
			if tt.released {
				waitFor(t, func() bool { return slices.Contains(detailTypes(s.events(o.OrderID)), "InventoryReleased") }, "InventoryReleased")
			}
			waitFor(t, func() bool { return len(s.texts(o.CustomerID)) >= 2 }, "the Order Failed text")
		})
	}
	t.Run("flaky payment is retried by Lambda and completes", func(t *testing.T) {
		t.Parallel()
		s := *s
		s.t = t
		o := s.await(s.create(orderBody("aws-flaky", withToken("tok_flaky"))).OrderID)
		if o.Status != "COMPLETED" {
			t.Fatalf("status %s %+v, want COMPLETED after Lambda's two retries", o.Status, o.Failure)
		}
	})
}

func TestCancellationRestoresStockAndNothingIsCharged(t *testing.T) {
	t.Parallel()
	// Lambda's retries of the flaky payment wait 1.5s each, holding the order in PAYMENT_PROCESSING.
	s := start(t, awsbox.Options{RetryDelay: 1500 * time.Millisecond})
	s.putStock("AWSCANCEL1", "Gadget", 10, 5)
	o := s.create(orderBody("aws-cancel", withItem("AWSCANCEL1", "Gadget", 2, 10), withToken("tok_flaky")))
	s.await(o.OrderID, "PAYMENT_PROCESSING")
	if got := s.stock("AWSCANCEL1"); got != 3 {
		t.Fatalf("stock while reserved = %d, want 3", got)
	}
	r := s.do("POST", "/orders/"+o.OrderID+"/cancel", awsbox.ClientKey, nil)
	if r.status != http.StatusOK {
		t.Fatalf("cancel = %d %s", r.status, r.body)
	}
	waitFor(t, func() bool { return s.stock("AWSCANCEL1") == 5 }, "stock restored to 5")
	if again := s.do("POST", "/orders/"+o.OrderID+"/cancel", awsbox.ClientKey, nil); again.status != http.StatusOK {
		t.Errorf("cancel twice = %d, want 200", again.status)
	}
	time.Sleep(4 * time.Second) // the flaky payment's retries run their course
	if got := s.get(o.OrderID); got.Status != "CANCELLED" {
		t.Errorf("status after retries = %s, want CANCELLED", got.Status)
	}
	if got := s.stock("AWSCANCEL1"); got != 5 {
		t.Errorf("stock after retries = %d, want 5", got)
	}
	evs := detailTypes(s.events(o.OrderID))
	if slices.Contains(evs, "PaymentAuthorized") || !slices.Contains(evs, "OrderCancelled") || !slices.Contains(evs, "InventoryReleased") {
		t.Errorf("events = %v, want OrderCancelled and InventoryReleased, no PaymentAuthorized", evs)
	}
	done := s.await(s.create(orderBody("aws-cancel")).OrderID)
	if r := s.do("POST", "/orders/"+done.OrderID+"/cancel", awsbox.ClientKey, nil); r.status != http.StatusConflict {
		t.Errorf("cancel completed order = %d %s, want 409", r.status, r.body)
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
			r := s.do("POST", "/orders", awsbox.ClientKey, body, "Idempotency-Key", "aws-key-1")
			codes[i] = r.status
			if r.status == http.StatusCreated || r.status == http.StatusOK {
				var o contracts.Order
				r.decode(t, &o)
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
	s.do("GET", "/orders?customerId=aws-idem", awsbox.ClientKey, nil).decode(t, &list)
	if len(list.Orders) != 1 {
		t.Errorf("customer has %d orders, want 1", len(list.Orders))
	}
}

// Every event of a completed order is put on the bus again, newest first, twice — with the fresh
// envelope ids EventBridge gives every put — and its queue message is sent again: nothing changes.
func TestDuplicateAndOutOfOrderDeliveriesChangeNothing(t *testing.T) {
	t.Parallel()
	s := sharedSystem(t)
	s.putStock("AWSDUP1", "Gadget", 10, 10)
	o := s.await(s.create(orderBody("aws-dup", withItem("AWSDUP1", "Gadget", 2, 10))).OrderID)
	if o.Status != "COMPLETED" {
		t.Fatalf("status %s", o.Status)
	}
	waitFor(t, func() bool { return len(s.texts(o.CustomerID)) == 2 }, "both texts")
	evs := s.events(o.OrderID)
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
	after := s.get(o.OrderID)
	if after.Status != "COMPLETED" || len(after.History) != len(o.History) {
		t.Errorf("after redelivery: %s with %d history entries, want COMPLETED with %d", after.Status, len(after.History), len(o.History))
	}
	if got := s.stock("AWSDUP1"); got != 8 {
		t.Errorf("stock = %d, want 8 (reserved once)", got)
	}
	if d := cmp.Diff(detailTypes(evs), detailTypes(s.events(o.OrderID))); d != "" {
		t.Errorf("events changed (-before +after):\n%s", d)
	}
	if got := len(s.texts(o.CustomerID)); got != 2 {
		t.Errorf("texts = %d, want 2 (none sent twice)", got)
	}
}

func TestFortyConcurrentOrdersForTenUnitsCompleteExactlyTen(t *testing.T) {
	t.Parallel()
	s := sharedSystem(t)
	s.putStock("AWSSCARCE1", "Scarce", 25, 10)
	var wg sync.WaitGroup
	ids := make(chan string, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.do("POST", "/orders", awsbox.ClientKey, orderBody(fmt.Sprintf("aws-scarce-%d", i), withItem("AWSSCARCE1", "Scarce", 1, 25)))
			if r.status != http.StatusCreated {
				t.Errorf("create = %d %s", r.status, r.body)
				return
			}
			var o contracts.Order
			r.decode(t, &o)
			ids <- o.OrderID
		}()
	}
	wg.Wait()
	close(ids)
	counts := map[string]int{}
	for id := range ids {
		o := s.await(id)
		key := o.Status
		if o.Failure != nil {
			key += "/" + o.Failure.Code
		}
		counts[key]++
	}
	if d := cmp.Diff(map[string]int{"COMPLETED": 10, "FAILED/OUT_OF_STOCK": 30}, counts); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	if got := s.stock("AWSSCARCE1"); got != 0 {
		t.Errorf("stock = %d, want 0", got)
	}
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
	o := s.await(s.create(orderBody("aws-schema", withToken("tok_decline"))).OrderID)
	waitFor(t, func() bool { return slices.Contains(detailTypes(s.events(o.OrderID)), "InventoryReleased") }, "the release")
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
	s.putStock("AWSCRASH1", "Gadget", 10, 10)
	// The api function crashes after storing this order, before queueing it: the client sees a 5xx.
	r := s.do("POST", "/orders", awsbox.ClientKey, orderBody("aws-crash-first", withItem("AWSCRASH1", "Gadget", 1, 10)))
	if r.status < 500 {
		t.Fatalf("create with a crash before queueing = %d %s, want a 5xx", r.status, r.body)
	}
	var list contracts.OrderList
	waitFor(t, func() bool {
		s.do("GET", "/orders?customerId=aws-crash-first", awsbox.ClientKey, nil).decode(t, &list)
		return len(list.Orders) == 1
	}, "the stored order")
	first := s.await(list.Orders[0].OrderID)
	if first.Status != "COMPLETED" {
		t.Fatalf("order stored but never queued: %s %+v, want COMPLETED after the reconciler", first.Status, first.Failure)
	}
	// Every stage has crashed once by now; a declined order crashes the compensations once too.
	declined := s.await(s.create(orderBody("aws-crash", withItem("AWSCRASH1", "Gadget", 1, 10), withToken("tok_decline"))).OrderID)
	if declined.Status != "FAILED" {
		t.Fatalf("declined order: %s", declined.Status)
	}
	waitFor(t, func() bool {
		evs := detailTypes(s.events(declined.OrderID))
		return slices.Contains(evs, "InventoryReleased")
	}, "the declined order's stock released")
	waitFor(t, func() bool { return s.stock("AWSCRASH1") == 9 }, "stock 9: one sold, one released")
	// The api function crashes after writing a cancel, before publishing OrderCancelled: the cancel's
	// follow-up, queued before the write, publishes it, and the stock comes back with no retry by the
	// client.
	held := s.create(orderBody("aws-crash", withItem("AWSCRASH1", "Gadget", 1, 10), withToken("tok_flaky")))
	s.await(held.OrderID, "PAYMENT_PROCESSING")
	if r := s.do("POST", "/orders/"+held.OrderID+"/cancel", awsbox.ClientKey, nil); r.status < 500 {
		t.Fatalf("cancel with a crash before the publish = %d %s, want a 5xx", r.status, r.body)
	}
	if got := s.get(held.OrderID); got.Status != "CANCELLED" {
		t.Fatalf("after the crashed cancel the order is %s, want CANCELLED (written before the crash)", got.Status)
	}
	waitFor(t, func() bool { return s.stock("AWSCRASH1") == 9 }, "the cancelled order's stock back (9) with no retry of the cancel")
	if r := s.do("POST", "/orders/"+held.OrderID+"/cancel", awsbox.ClientKey, nil); r.status != http.StatusOK {
		t.Fatalf("cancel again = %d %s, want 200", r.status, r.body)
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
	s.putStock("AWSVOID1", "Gadget", 10, 5)
	o := s.create(orderBody("aws-void", withItem("AWSVOID1", "Gadget", 2, 10)))
	waitFor(t, func() bool { return crashed.Load() == 1 }, "the payment function's crash after authorizing")
	if r := s.do("POST", "/orders/"+o.OrderID+"/cancel", awsbox.ClientKey, nil); r.status != http.StatusOK {
		t.Fatalf("cancel while the authorized payment is being retried = %d %s", r.status, r.body)
	}
	waitFor(t, func() bool {
		evs := detailTypes(s.events(o.OrderID))
		return slices.Contains(evs, "PaymentVoided") && slices.Contains(evs, "InventoryReleased")
	}, "PaymentVoided and InventoryReleased")
	waitFor(t, func() bool { return s.stock("AWSVOID1") == 5 }, "stock restored to 5")
	time.Sleep(3 * time.Second) // Lambda's retry of the payment function runs into the cancelled order
	if got := s.get(o.OrderID); got.Status != "CANCELLED" {
		t.Errorf("status after the retry = %s, want CANCELLED", got.Status)
	}
	evs := detailTypes(s.events(o.OrderID))
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
