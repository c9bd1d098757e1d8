package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func newService(store *memStore, queue *memQueue) *ingest.Service {
	return ingest.NewService(store, queue, store, ingest.Config{
		Now:    func() time.Time { return t0 },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

func TestCreateStoresPendingOrderAndQueuesIt(t *testing.T) {
	t.Parallel()
	store, queue := newMemStore(), &memQueue{}
	svc := newService(store, queue)
	ctx := pipeline.WithCorrelationID(context.Background(), "corr-1")

	req := validRequest()
	req.CustomerPhone = ""
	got, replayed, err := svc.Create(ctx, req, "scope", "")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if replayed {
		t.Error("replayed = true for a first request")
	}
	id, err := uuid.Parse(got.OrderID)
	if err != nil || id.Version() != 7 {
		t.Errorf("order id %q is not a UUIDv7 (%v)", got.OrderID, err)
	}
	if ref, err := order.ParseReference(got.Reference); err != nil || ref != got.Reference {
		t.Errorf("reference %q is not a canonical order reference (%v)", got.Reference, err)
	}
	want := contracts.Order{
		OrderID: got.OrderID, Reference: got.Reference, CustomerID: "cust-1", Status: "PENDING",
		Items: []contracts.LineItem{
			{ProductID: "BOOK001", Name: "Go book", Quantity: 2, Price: 1025},
			{ProductID: "PEN001", Name: "Pen", Quantity: 1, Price: 550},
		},
		TotalAmount: 2600, Currency: "EUR", CustomerEmail: "ada@example.com",
		ShippingAddress: validRequest().ShippingAddress,
		CreatedAt:       t0, UpdatedAt: t0,
		History: []contracts.StatusChange{{Status: "PENDING", At: t0}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	snap, ok := store.get(got.OrderID)
	if !ok {
		t.Fatal("order not stored")
	}
	if snap.PaymentToken != "tok_visa" || snap.CorrelationID != "corr-1" || snap.Status != order.Pending {
		t.Errorf("stored token %q, correlation %q, status %s; want tok_visa, corr-1, PENDING", snap.PaymentToken, snap.CorrelationID, snap.Status)
	}
	if diff := cmp.Diff([]contracts.OrderMessage{{OrderID: got.OrderID, CorrelationID: "corr-1"}}, queue.messages()); diff != "" {
		t.Errorf("queued (-want +got):\n%s", diff)
	}
}

func TestCreateWithoutCorrelationIDMakesOne(t *testing.T) {
	t.Parallel()
	store, queue := newMemStore(), &memQueue{}
	got, _, err := newService(store, queue).Create(context.Background(), validRequest(), "s", "")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if msgs := queue.messages(); len(msgs) != 1 || msgs[0].CorrelationID == "" {
		t.Errorf("queued %v, want one message with a correlation id", msgs)
	}
	if snap, _ := store.get(got.OrderID); snap.CorrelationID == "" {
		t.Error("stored order has no correlation id")
	}
}

func TestCreateSucceedsWhenQueueFails(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	queue := &memQueue{fail: func(contracts.OrderMessage) bool { return true }}
	got, _, err := newService(store, queue).Create(context.Background(), validRequest(), "s", "")
	if err != nil {
		t.Fatalf("Create: %v, want success: the order is durable and the reconciler queues it", err)
	}
	if _, ok := store.get(got.OrderID); !ok {
		t.Error("order not stored")
	}
}

func TestCreateQueuesEvenIfTheClientWentAway(t *testing.T) {
	t.Parallel()
	store, queue := newMemStore(), &memQueue{}
	ctx, cancel := context.WithCancel(context.Background())
	store.beforeCreate = cancel // the client disconnects while the order is being stored
	if _, _, err := newService(store, queue).Create(ctx, validRequest(), "s", ""); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if n := len(queue.messages()); n != 1 {
		t.Errorf("queued %d messages, want 1", n)
	}
}

func TestCreateErrors(t *testing.T) {
	t.Parallel()
	storeDown := errors.New("disk on fire")
	tests := []struct {
		name     string
		req      func() contracts.CreateOrderRequest
		key      string
		storeErr error
		wantKind fault.Kind
		wantCode string
	}{
		{
			name:     "invalid request",
			req:      func() contracts.CreateOrderRequest { r := validRequest(); r.CustomerID = ""; return r },
			wantKind: fault.Invalid, wantCode: contracts.CodeValidationFailed,
		},
		{
			name:     "idempotency key too long",
			req:      validRequest,
			key:      string(make([]byte, 256)),
			wantKind: fault.Invalid, wantCode: contracts.CodeValidationFailed,
		},
		{
			name:     "idempotency key with a control character",
			req:      validRequest,
			key:      "a\nb",
			wantKind: fault.Invalid, wantCode: contracts.CodeValidationFailed,
		},
		{
			name:     "store failure",
			req:      validRequest,
			storeErr: storeDown,
			wantKind: fault.Internal,
		},
		{
			name:     "store unavailable",
			req:      validRequest,
			storeErr: fault.Unavailablef("throttled"),
			wantKind: fault.Unavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, queue := newMemStore(), &memQueue{}
			store.createErr = tt.storeErr
			_, _, err := newService(store, queue).Create(context.Background(), tt.req(), "s", tt.key)
			if err == nil {
				t.Fatal("Create succeeded, want an error")
			}
			if fault.KindOf(err) != tt.wantKind || fault.CodeOf(err) != tt.wantCode {
				t.Errorf("error %v: kind %v code %q, want %v %q", err, fault.KindOf(err), fault.CodeOf(err), tt.wantKind, tt.wantCode)
			}
			if tt.storeErr != nil && !errors.Is(err, tt.storeErr) {
				t.Errorf("error %v does not wrap the store's error", err)
			}
			if n := len(queue.messages()); n != 0 {
				t.Errorf("queued %d messages after a failed create", n)
			}
		})
	}
}

func TestCreateIdempotency(t *testing.T) {
	t.Parallel()
	same := validRequest
	tests := []struct {
		name         string
		firstScope   string
		secondScope  string
		second       func() contracts.CreateOrderRequest
		secondKey    string
		wantReplayed bool
		wantCode     string
		wantOrders   int
	}{
		{name: "same key and request replays", firstScope: "k1", secondScope: "k1", second: same, secondKey: "key-1", wantReplayed: true, wantOrders: 1},
		{
			name: "equivalent request replays", firstScope: "k1", secondScope: "k1", secondKey: "key-1", wantReplayed: true, wantOrders: 1,
			second: func() contracts.CreateOrderRequest {
				r := validRequest()
				r.Currency, r.PaymentToken, r.TotalAmount = "EUR", "tok_visa", "26"
				return r
			},
		},
		{
			name: "same key with a different request is refused", firstScope: "k1", secondScope: "k1", secondKey: "key-1",
			wantCode: contracts.CodeIdempotencyKeyReused, wantOrders: 1,
			second: func() contracts.CreateOrderRequest { r := validRequest(); r.CustomerID = "cust-2"; return r },
		},
		{name: "same key under another API key is a new order", firstScope: "k1", secondScope: "k2", second: same, secondKey: "key-1", wantOrders: 2},
		{name: "another key is a new order", firstScope: "k1", secondScope: "k1", second: same, secondKey: "key-2", wantOrders: 2},
		{name: "no key is a new order", firstScope: "k1", secondScope: "k1", second: same, secondKey: "", wantOrders: 2},
		{name: "scopes cannot be confused by slashes", firstScope: "a/b", secondScope: "a", second: same, secondKey: "b/key-1", wantOrders: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, queue := newMemStore(), &memQueue{}
			svc := newService(store, queue)
			first, _, err := svc.Create(context.Background(), validRequest(), tt.firstScope, "key-1")
			if err != nil {
				t.Fatalf("first Create: %v", err)
			}
			got, replayed, err := svc.Create(context.Background(), tt.second(), tt.secondScope, tt.secondKey)
			switch {
			case tt.wantCode != "":
				if fault.CodeOf(err) != tt.wantCode || !fault.Is(err, fault.Conflict) {
					t.Fatalf("second Create: %v (code %q), want a conflict with code %s", err, fault.CodeOf(err), tt.wantCode)
				}
			case err != nil:
				t.Fatalf("second Create: %v", err)
			case tt.wantReplayed:
				if !replayed {
					t.Error("replayed = false, want true")
				}
				if diff := cmp.Diff(first, got); diff != "" {
					t.Errorf("replayed order differs from the original (-want +got):\n%s", diff)
				}
			default:
				if replayed || got.OrderID == first.OrderID {
					t.Errorf("replayed = %v, order %s; want a new order", replayed, got.OrderID)
				}
			}
			if n := store.Len(); n != tt.wantOrders {
				t.Errorf("%d orders stored, want %d", n, tt.wantOrders)
			}
			if n := len(queue.messages()); n != tt.wantOrders {
				t.Errorf("%d orders queued, want %d", n, tt.wantOrders)
			}
		})
	}
}

func TestCreateReplayReturnsTheOriginalResponseAfterTheOrderMoved(t *testing.T) {
	t.Parallel()
	store, queue := newMemStore(), &memQueue{}
	svc := newService(store, queue)
	first, _, err := svc.Create(context.Background(), validRequest(), "s", "k")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := svc.Cancel(context.Background(), first.OrderID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	got, replayed, err := svc.Create(context.Background(), validRequest(), "s", "k")
	if err != nil || !replayed {
		t.Fatalf("replay: replayed=%v err=%v", replayed, err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("replay (-want +got):\n%s", diff)
	}
}

// A request that loses the race for its key (the key was stored between its lookup and its insert)
// answers with the winner's order.
func TestCreateRaceLostToTheSameRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		winner       func() contracts.CreateOrderRequest
		wantReplayed bool
		wantCode     string
	}{
		{name: "same request replays the winner", winner: validRequest, wantReplayed: true},
		{
			name: "different request is refused",
			winner: func() contracts.CreateOrderRequest {
				r := validRequest()
				r.CustomerEmail = "bob@example.com"
				return r
			},
			wantCode: contracts.CodeIdempotencyKeyReused,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, queue := newMemStore(), &memQueue{}
			svc := newService(store, queue)
			var winner contracts.Order
			var raced atomic.Bool
			store.beforeCreate = func() {
				if raced.Swap(true) {
					return // the winner's own Create
				}
				var err error
				if winner, _, err = newService(store, queue).Create(context.Background(), tt.winner(), "s", "k"); err != nil {
					t.Errorf("winner Create: %v", err)
				}
			}
			got, replayed, err := svc.Create(context.Background(), validRequest(), "s", "k")
			if tt.wantCode != "" {
				if fault.CodeOf(err) != tt.wantCode {
					t.Fatalf("Create: %v, want code %s", err, tt.wantCode)
				}
			} else {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				if !replayed || got.OrderID != winner.OrderID {
					t.Errorf("got order %s replayed=%v, want the winner's %s replayed", got.OrderID, replayed, winner.OrderID)
				}
			}
			if n := store.Len(); n != 1 {
				t.Errorf("%d orders stored, want 1", n)
			}
		})
	}
}

func TestCreateConcurrentRequestsWithOneKeyMakeOneOrder(t *testing.T) {
	t.Parallel()
	store, queue := newMemStore(), &memQueue{}
	svc := newService(store, queue)
	const n = 16
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, _, err := svc.Create(context.Background(), validRequest(), "s", "same-key")
			ids[i], errs[i] = o.OrderID, err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("request %d got order %s, request 0 got %s", i, ids[i], ids[0])
		}
	}
	if c := store.Len(); c != 1 {
		t.Errorf("%d orders stored, want 1", c)
	}
}

// pendingOrder stores an order in the given status.
func pendingOrder(t *testing.T, store *memStore, id string, status order.Status, createdAt time.Time) {
	t.Helper()
	o, err := order.New(order.Draft{
		ID: id, CustomerID: "c", CorrelationID: "corr-" + id,
		Items: []order.Item{{ProductID: "P", Name: "p", Quantity: 1, Price: 100}}, Total: 100, Currency: "EUR",
	}, createdAt)
	if err != nil {
		t.Fatalf("order.New: %v", err)
	}
	snap := o.Snapshot()
	// Walk the pipeline's path to the status, so the history is the one a real order would have.
	path := []order.Status{order.Validating, order.InventoryCheck, order.PaymentProcessing, order.Fulfillment, order.Completed}
	for _, st := range path {
		if snap.Status == status || (status == order.Cancelled || status == order.Failed) && st == order.InventoryCheck {
			break
		}
		snap.Status = st
		snap.History = append(snap.History, order.Change{Status: st, At: createdAt})
	}
	if status == order.Cancelled || status == order.Failed {
		snap.Status = status
		snap.History = append(snap.History, order.Change{Status: status, At: createdAt})
	}
	if err := store.Create(context.Background(), order.FromSnapshot(snap), nil); err != nil {
		t.Fatalf("store order %s: %v", id, err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status     order.Status
		wantStatus string
		wantKind   fault.Kind
		wantEvent  bool
	}{
		{status: order.Pending, wantStatus: "CANCELLED", wantEvent: true},
		{status: order.Validating, wantStatus: "CANCELLED", wantEvent: true},
		{status: order.InventoryCheck, wantStatus: "CANCELLED", wantEvent: true},
		{status: order.PaymentProcessing, wantStatus: "CANCELLED", wantEvent: true},
		{status: order.Cancelled, wantStatus: "CANCELLED"},
		{status: order.Fulfillment, wantKind: fault.Conflict},
		{status: order.Completed, wantKind: fault.Conflict},
		{status: order.Failed, wantKind: fault.Conflict},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			t.Parallel()
			store := newMemStore()
			pendingOrder(t, store, "o-1", tt.status, t0.Add(-time.Hour))
			got, err := newService(store, &memQueue{}).Cancel(context.Background(), "o-1")
			if tt.wantStatus == "" {
				if !fault.Is(err, fault.Conflict) {
					t.Fatalf("Cancel: %v, want a conflict", err)
				}
			} else {
				if err != nil {
					t.Fatalf("Cancel: %v", err)
				}
				if got.Status != tt.wantStatus || got.OrderID != "o-1" {
					t.Errorf("got order %s status %s, want o-1 %s", got.OrderID, got.Status, tt.wantStatus)
				}
			}
			events := store.published("o-1")
			if !tt.wantEvent {
				if len(events) != 0 {
					t.Errorf("published %d events, want none", len(events))
				}
				return
			}
			if len(events) != 1 {
				t.Fatalf("published %d events, want 1", len(events))
			}
			e := events[0]
			if e.DetailType != contracts.DetailOrderCancelled || e.Source != contracts.SourceOrders || e.ID != pipeline.EventID("o-1", contracts.DetailOrderCancelled) {
				t.Errorf("event %s from %s id %s, want OrderCancelled from orders with the deterministic id", e.DetailType, e.Source, e.ID)
			}
			var d contracts.OrderCancelledDetail
			if err := json.Unmarshal(e.Detail, &d); err != nil {
				t.Fatalf("decode detail: %v", err)
			}
			want := contracts.OrderCancelledDetail{
				DetailMeta:     contracts.DetailMeta{EventID: e.ID, OrderID: "o-1", Reference: d.Reference, CorrelationID: "corr-o-1", SchemaVersion: contracts.SchemaVersion},
				CustomerID:     "c",
				PreviousStatus: string(tt.status),
				CancelledAt:    t0,
			}
			if diff := cmp.Diff(want, d); diff != "" {
				t.Errorf("detail (-want +got):\n%s", diff)
			}
			if o, err := store.Get(t.Context(), "o-1"); err != nil || d.Reference == "" || d.Reference != o.Reference() {
				t.Errorf("detail reference %q, want the order's (%v)", d.Reference, err)
			}
		})
	}
}

func TestCancelTwiceEmitsOneEvent(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	pendingOrder(t, store, "o-1", order.Pending, t0)
	svc := newService(store, &memQueue{})
	first, err := svc.Cancel(context.Background(), "o-1")
	if err != nil {
		t.Fatalf("first Cancel: %v", err)
	}
	second, err := svc.Cancel(context.Background(), "o-1")
	if err != nil {
		t.Fatalf("second Cancel: %v", err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second cancel (-want +got):\n%s", diff)
	}
	if n := len(store.published("o-1")); n != 1 {
		t.Errorf("published %d events, want 1", n)
	}
}

func TestCancelUnknownOrder(t *testing.T) {
	t.Parallel()
	_, err := newService(newMemStore(), &memQueue{}).Cancel(context.Background(), "nope")
	if !fault.Is(err, fault.NotFound) {
		t.Fatalf("Cancel: %v, want not found", err)
	}
}

func ExampleService_Create() {
	store := newMemStore()
	svc := ingest.NewService(store, &memQueue{}, store, ingest.Config{})
	o, replayed, err := svc.Create(context.Background(), validRequest(), "api-key-id", "retry-1")
	fmt.Println(o.Status, o.TotalAmount, replayed, err)
	_, replayed, err = svc.Create(context.Background(), validRequest(), "api-key-id", "retry-1")
	fmt.Println(replayed, err)
	// Output:
	// PENDING 26.00 false <nil>
	// true <nil>
}

// queueingStore is a store that queues the order in the same write (ingest.QueueingStore).
type queueingStore struct {
	*memStore
	queued []contracts.OrderMessage
}

func (s *queueingStore) CreateQueued(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord, m contracts.OrderMessage) error {
	if err := s.memStore.Create(ctx, o, rec); err != nil {
		return err
	}
	s.queued = append(s.queued, m)
	return nil
}

func TestCreateUsesTheStoresOutboxWhenItHasOne(t *testing.T) {
	t.Parallel()
	store, queue := &queueingStore{memStore: newMemStore()}, &memQueue{}
	svc := ingest.NewService(store, queue, store, ingest.Config{Now: func() time.Time { return t0 }})
	got, _, err := svc.Create(pipeline.WithCorrelationID(context.Background(), "corr-9"), validRequest(), "scope", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []contracts.OrderMessage{{OrderID: got.OrderID, CorrelationID: "corr-9"}}
	if diff := cmp.Diff(want, store.queued); diff != "" {
		t.Errorf("queued in the store's write (-want +got):\n%s", diff)
	}
	if n := len(queue.messages()); n != 0 {
		t.Errorf("also sent %d messages through the queue, want 0", n)
	}
}

// recordingPublisher keeps what is published, as a bus would receive it.
type recordingPublisher struct {
	mu     sync.Mutex
	events []contracts.Event
}

func (p *recordingPublisher) Publish(_ context.Context, events ...contracts.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, events...)
	return nil
}

// On AWS the cancel's write and its publish are two steps: a client retrying a cancel whose publish
// failed must get the same OrderCancelled onto the bus, or the stock and the payment stay held.
func TestCancellingAgainRepublishesTheSameEvent(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	pendingOrder(t, store, "o-1", order.InventoryCheck, t0.Add(-time.Hour))
	bus := &recordingPublisher{}
	clock := t0
	svc := ingest.NewService(store, &memQueue{}, store, ingest.Config{
		Now: func() time.Time { return clock }, Publisher: bus, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if _, err := svc.Cancel(t.Context(), "o-1"); err != nil {
		t.Fatalf("first cancel: %v", err)
	}
	first := store.published("o-1")
	if len(first) != 1 || len(bus.events) != 0 {
		t.Fatalf("first cancel: %d events stored, %d re-published; want 1 and 0", len(first), len(bus.events))
	}
	clock = t0.Add(time.Minute) // the retry comes later: the event must still be the first one
	got, err := svc.Cancel(t.Context(), "o-1")
	if err != nil || got.Status != "CANCELLED" {
		t.Fatalf("second cancel: %v, status %s", err, got.Status)
	}
	if len(bus.events) != 1 {
		t.Fatalf("second cancel re-published %d events, want 1", len(bus.events))
	}
	if d := cmp.Diff(first[0], bus.events[0]); d != "" {
		t.Errorf("re-published event differs from the first (-first +again):\n%s", d)
	}
}

// delayedQueue is a memQueue that can delay, recording the delays asked for.
type delayedQueue struct {
	memQueue
	delays []time.Duration
}

func (q *delayedQueue) SendAfter(ctx context.Context, m contracts.OrderMessage, d time.Duration) error {
	if err := q.Send(ctx, m); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.delays = append(q.delays, d)
	return nil
}

// failingStore stores the cancel but fails to publish it, as the AWS store does when EventBridge fails
// after the DynamoDB write.
type failingStore struct{ *memStore }

func (s failingStore) Update(ctx context.Context, id string, fn func(o *order.Order) ([]contracts.Event, error)) (*order.Order, error) {
	o, err := s.memStore.Update(ctx, id, fn)
	if err != nil {
		return o, err
	}
	return o, fmt.Errorf("order %s: %w: bus down", id, pipeline.ErrNotPublished)
}

// Where the write and the publish are two steps, a cancel first queues a follow-up (delivered later to
// the dispatcher, which publishes OrderCancelled again), so that a cancel stored but not published is
// done; a cancel whose follow-up cannot be queued writes nothing.
func TestCancelQueuesAFollowUpBeforeItWrites(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("publish fails after the write: cancelled, and the follow-up will publish", func(t *testing.T) {
		t.Parallel()
		store := newMemStore()
		pendingOrder(t, store, "o-1", order.PaymentProcessing, t0.Add(-time.Hour))
		q := &delayedQueue{}
		svc := ingest.NewService(store, q, failingStore{store}, ingest.Config{Now: func() time.Time { return t0 }, CancelFollowUp: 30 * time.Second, Logger: quiet})
		got, err := svc.Cancel(t.Context(), "o-1")
		if err != nil || got.Status != "CANCELLED" {
			t.Fatalf("Cancel = %s, %v; want CANCELLED and no error", got.Status, err)
		}
		msgs := q.messages()
		if len(msgs) != 1 || msgs[0].OrderID != "o-1" || msgs[0].FollowUp != contracts.FollowUpCancel || q.delays[0] != 30*time.Second {
			t.Errorf("queued %+v with delays %v, want one cancel follow-up of o-1 after 30s", msgs, q.delays)
		}
	})
	t.Run("the follow-up cannot be queued: nothing is written", func(t *testing.T) {
		t.Parallel()
		store := newMemStore()
		pendingOrder(t, store, "o-1", order.PaymentProcessing, t0.Add(-time.Hour))
		q := &delayedQueue{memQueue: memQueue{fail: func(contracts.OrderMessage) bool { return true }}}
		svc := ingest.NewService(store, q, store, ingest.Config{Now: func() time.Time { return t0 }, CancelFollowUp: 30 * time.Second, Logger: quiet})
		if _, err := svc.Cancel(t.Context(), "o-1"); err == nil {
			t.Fatal("Cancel succeeded although its follow-up could not be queued")
		}
		if snap, _ := store.get("o-1"); snap.Status != order.PaymentProcessing {
			t.Errorf("status %s after the refused cancel, want PAYMENT_PROCESSING (nothing written)", snap.Status)
		}
	})
}

// A cancel that is refused (no such order, or one past FULFILLMENT) writes nothing, on the queue either:
// no follow-up is queued for a cancel that cannot happen.
func TestARefusedCancelQueuesNoFollowUp(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := newMemStore()
	pendingOrder(t, store, "o-done", order.Fulfillment, t0.Add(-time.Hour))
	q := &delayedQueue{}
	svc := ingest.NewService(store, q, store, ingest.Config{Now: func() time.Time { return t0 }, CancelFollowUp: 30 * time.Second, Logger: quiet})
	if _, err := svc.Cancel(t.Context(), "o-unknown"); !fault.Is(err, fault.NotFound) {
		t.Errorf("Cancel of an unknown order = %v, want a fault.NotFound error", err)
	}
	if _, err := svc.Cancel(t.Context(), "o-done"); !errors.Is(err, order.ErrNotCancellable) {
		t.Errorf("Cancel of an order in FULFILLMENT = %v, want order.ErrNotCancellable", err)
	}
	if msgs := q.messages(); len(msgs) != 0 {
		t.Errorf("refused cancels queued %+v, want nothing", msgs)
	}
}

// keyExpiringStore refuses the first create with an idempotency key as taken, as a store does whose
// record of the key expires right after its check, and then finds no record of the key.
type keyExpiringStore struct {
	*memStore
	refused atomic.Bool
}

func (s *keyExpiringStore) Create(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord) error {
	if rec != nil && !s.refused.Swap(true) {
		return fmt.Errorf("store: %w", ingest.ErrIdempotencyKeyTaken)
	}
	return s.memStore.Create(ctx, o, rec)
}

func TestCreateWhenTheKeyExpiresBetweenTheCheckAndTheReadBack(t *testing.T) {
	t.Parallel()
	store := &keyExpiringStore{memStore: newMemStore()}
	svc := ingest.NewService(store, &memQueue{}, store, ingest.Config{})
	got, replayed, err := svc.Create(context.Background(), validRequest(), "s", "k")
	if err != nil || replayed || got.OrderID == "" {
		t.Fatalf("Create = %+v, replayed %v, %v; want a new order: the expired key is free", got.OrderID, replayed, err)
	}
	if n := store.Len(); n != 1 {
		t.Errorf("%d orders stored, want 1", n)
	}
}
