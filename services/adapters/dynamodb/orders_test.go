package dynamodb_test

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/dynamodb"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/lambdas"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/pipeline/pipelinetest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestCreateTablesFollowsLambdasTables(t *testing.T) {
	t.Parallel()
	client, names := tables(t)
	for _, tbl := range lambdas.Tables {
		out, err := client.DescribeTable(t.Context(), &awsdynamodb.DescribeTableInput{TableName: aws.String(names.Name(tbl))})
		if err != nil {
			t.Fatalf("DescribeTable(%s): %v", tbl.ID, err)
		}
		d := out.Table
		wantKeys := []string{"pk"}
		if tbl.SortKey {
			wantKeys = append(wantKeys, "sk")
		}
		var keys []string
		for _, k := range d.KeySchema {
			keys = append(keys, *k.AttributeName)
		}
		if diff := cmp.Diff(wantKeys, keys); diff != "" {
			t.Errorf("%s keys (-want +got):\n%s", tbl.ID, diff)
		}
		if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
			t.Errorf("%s billing = %+v, want on demand", tbl.ID, d.BillingModeSummary)
		}
		var indexes []lambdas.Index
		for _, ix := range d.GlobalSecondaryIndexes {
			got := lambdas.Index{Name: *ix.IndexName, PartitionKey: *ix.KeySchema[0].AttributeName, KeysOnly: ix.Projection.ProjectionType == types.ProjectionTypeKeysOnly}
			if len(ix.KeySchema) > 1 {
				got.SortKey = *ix.KeySchema[1].AttributeName
			}
			indexes = append(indexes, got)
		}
		slices.SortFunc(indexes, func(a, b lambdas.Index) int { return cmpString(a.Name, b.Name) })
		want := slices.Clone(tbl.Indexes)
		slices.SortFunc(want, func(a, b lambdas.Index) int { return cmpString(a.Name, b.Name) })
		if diff := cmp.Diff(want, indexes); diff != "" {
			t.Errorf("%s indexes (-want +got):\n%s", tbl.ID, diff)
		}
		ttl, err := client.DescribeTimeToLive(t.Context(), &awsdynamodb.DescribeTimeToLiveInput{TableName: aws.String(names.Name(tbl))})
		if err != nil {
			t.Fatalf("DescribeTimeToLive(%s): %v", tbl.ID, err)
		}
		gotTTL := ""
		if d := ttl.TimeToLiveDescription; d != nil && d.TimeToLiveStatus == types.TimeToLiveStatusEnabled {
			gotTTL = aws.ToString(d.AttributeName)
		}
		if gotTTL != tbl.TTL {
			t.Errorf("%s TTL attribute = %q, want %q", tbl.ID, gotTTL, tbl.TTL)
		}
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestIdempotencyRecordsExpireByTheirAttribute(t *testing.T) {
	t.Parallel()
	// DynamoDB Local never deletes expired items, and DynamoDB does so only eventually: the store
	// itself must treat a record past its expiresAt as gone.
	client, names := tables(t)
	clk := newClock(time.Now())
	st := dynamodb.NewOrders(client, names.Orders, names.Idempotency, dynamodb.OrdersOptions{IdempotencyRetention: time.Hour, Now: clk.now})
	first := pipelinetest.NewOrder(t, "cust-1", t0)
	rec := &ingest.IdempotencyRecord{Key: "key-1", RequestHash: "h1", OrderID: first.ID(), Response: []byte("{}"), CreatedAt: t0}
	if err := st.Create(t.Context(), first, rec); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour - time.Second)
	if _, err := st.Idempotency(t.Context(), "key-1"); err != nil {
		t.Fatalf("Idempotency just before expiry: %v", err)
	}
	second := pipelinetest.NewOrder(t, "cust-1", t0)
	rec2 := &ingest.IdempotencyRecord{Key: "key-1", RequestHash: "h2", OrderID: second.ID(), Response: []byte("{}"), CreatedAt: t0}
	if err := st.Create(t.Context(), second, rec2); !errors.Is(err, ingest.ErrIdempotencyKeyTaken) {
		t.Fatalf("Create with a live key = %v, want ErrIdempotencyKeyTaken", err)
	}
	clk.add(time.Second)
	if _, err := st.Idempotency(t.Context(), "key-1"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("Idempotency at expiry = %v, want not found", err)
	}
	// The item is still there (nothing deleted it), but an expired key may be used again.
	out, err := client.GetItem(t.Context(), &awsdynamodb.GetItemInput{TableName: aws.String(names.Idempotency), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "key-1"}}})
	if err != nil || out.Item == nil {
		t.Fatalf("the expired item: %v, %v; want it still stored", out, err)
	}
	if _, ok := out.Item["expiresAt"].(*types.AttributeValueMemberN); !ok {
		t.Errorf("the item has no numeric expiresAt for TTL: %v", out.Item)
	}
	if err := st.Create(t.Context(), second, rec2); err != nil {
		t.Fatalf("Create with an expired key: %v", err)
	}
	got, err := st.Idempotency(t.Context(), "key-1")
	if err != nil || got.OrderID != second.ID() {
		t.Errorf("Idempotency after reuse = %+v, %v; want the second order's record", got, err)
	}
}

func TestDedupRecordsExpireByTheirAttribute(t *testing.T) {
	t.Parallel()
	client, names := tables(t)
	clk := newClock(time.Now())
	d := dynamodb.NewDeduper(client, names.Dedup, dynamodb.DeduperOptions{Retention: time.Hour, Now: clk.now})
	if err := d.MarkSeen(t.Context(), "sms", "e1"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		after time.Duration
		want  bool
	}{{time.Hour - time.Second, true}, {time.Second, false}} {
		clk.add(tt.after)
		if got, err := d.Seen(t.Context(), "sms", "e1"); err != nil || got != tt.want {
			t.Errorf("Seen at +%s = %v, %v; want %v", tt.after, got, err, tt.want)
		}
	}
}

func TestCreateMapsCancellationReasons(t *testing.T) {
	t.Parallel()
	st := openOrders(t)
	o := pipelinetest.NewOrder(t, "cust-1", t0)
	rec := func(key string, o *order.Order) *ingest.IdempotencyRecord {
		return &ingest.IdempotencyRecord{Key: key, RequestHash: "h", OrderID: o.ID(), Response: []byte("{}"), CreatedAt: t0}
	}
	if err := st.Create(t.Context(), o, rec("k1", o)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		o        *order.Order
		key      string
		wantKind fault.Kind
		wantKey  bool
	}{
		{"the order id taken, with a fresh key: conflict", o, "k2", fault.Conflict, false},
		{"the order id taken, without a key: conflict", o, "", fault.Conflict, false},
		{"the key taken, with a fresh order: key taken", pipelinetest.NewOrder(t, "cust-1", t0), "k1", fault.Conflict, true},
		{"both taken: key taken", o, "k1", fault.Conflict, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *ingest.IdempotencyRecord
			if tt.key != "" {
				r = rec(tt.key, tt.o)
			}
			err := st.Create(t.Context(), tt.o, r)
			if fault.KindOf(err) != tt.wantKind || errors.Is(err, ingest.ErrIdempotencyKeyTaken) != tt.wantKey {
				t.Errorf("Create = %v (kind %s), want kind %s, key taken %v", err, fault.KindOf(err), tt.wantKind, tt.wantKey)
			}
		})
	}
	if _, err := st.Idempotency(t.Context(), "k2"); !fault.Is(err, fault.NotFound) {
		t.Errorf("the key of a refused Create was stored: %v", err)
	}
}

// flakyAPI makes chosen calls fail before they reach DynamoDB.
type flakyAPI struct {
	dynamodb.API
	transact func(n int64, in *awsdynamodb.TransactWriteItemsInput) error
	calls    atomic.Int64
}

func (f *flakyAPI) TransactWriteItems(ctx context.Context, in *awsdynamodb.TransactWriteItemsInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.TransactWriteItemsOutput, error) {
	if f.transact != nil {
		if err := f.transact(f.calls.Add(1), in); err != nil {
			return nil, err
		}
	}
	return f.API.TransactWriteItems(ctx, in, opts...)
}

func conflict(n int) error {
	reasons := make([]types.CancellationReason, n)
	for i := range reasons {
		reasons[i].Code = aws.String("None")
	}
	reasons[0].Code = aws.String("TransactionConflict")
	return &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: reasons}
}

func TestTransientFailuresAreRetriedOrUnavailable(t *testing.T) {
	t.Parallel()
	client, names := tables(t)
	t.Run("a transaction cancelled by a conflicting one is sent again", func(t *testing.T) {
		api := &flakyAPI{API: client}
		api.transact = func(n int64, in *awsdynamodb.TransactWriteItemsInput) error {
			if n <= 3 {
				return conflict(len(in.TransactItems))
			}
			return nil
		}
		st := dynamodb.NewOrders(api, names.Orders, names.Idempotency, dynamodb.OrdersOptions{})
		o := pipelinetest.NewOrder(t, "cust-1", t0)
		if err := st.Create(t.Context(), o, nil); err != nil {
			t.Fatalf("Create through 3 conflicts: %v", err)
		}
		if got := api.calls.Load(); got != 4 {
			t.Errorf("%d transactions sent, want 4", got)
		}
	})
	for _, code := range []string{"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded", "InternalServerError"} {
		t.Run(code+" is unavailable", func(t *testing.T) {
			api := &flakyAPI{API: client}
			api.transact = func(int64, *awsdynamodb.TransactWriteItemsInput) error {
				return &smithy.GenericAPIError{Code: code, Message: "slow down"}
			}
			st := dynamodb.NewOrders(api, names.Orders, names.Idempotency, dynamodb.OrdersOptions{})
			err := st.Create(t.Context(), pipelinetest.NewOrder(t, "cust-1", t0), nil)
			if !fault.Is(err, fault.Unavailable) || !fault.Retryable(err) {
				t.Errorf("Create = %v (kind %s), want kind unavailable", err, fault.KindOf(err))
			}
		})
	}
	t.Run("conflicts that never end are unavailable", func(t *testing.T) {
		api := &flakyAPI{API: client}
		api.transact = func(_ int64, in *awsdynamodb.TransactWriteItemsInput) error { return conflict(len(in.TransactItems)) }
		st := dynamodb.NewOrders(api, names.Orders, names.Idempotency, dynamodb.OrdersOptions{})
		err := st.Create(t.Context(), pipelinetest.NewOrder(t, "cust-1", t0), nil)
		if !fault.Is(err, fault.Unavailable) {
			t.Errorf("Create = %v (kind %s), want kind unavailable", err, fault.KindOf(err))
		}
	})
}

func TestListPagesNewestFirstWithOpaqueCursors(t *testing.T) {
	t.Parallel()
	st := openOrders(t)
	// Ids in the opposite order of creation times: the index sorts by time first.
	var want []string
	for i := range 5 {
		o, err := order.New(order.Draft{
			ID: uuid.NewString(), CustomerID: "cust-1", CustomerEmail: "c@example.com",
			Items: []order.Item{{ProductID: "P", Name: "P", Quantity: 1, Price: 1}}, Total: 1, Currency: "USD",
			PaymentToken: "tok_visa", ShippingAddress: contracts.Address{Street: "s", City: "c", ZipCode: "z", Country: "US"},
		}, t0.Add(time.Duration(i)*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Create(t.Context(), o, nil); err != nil {
			t.Fatal(err)
		}
		want = append([]string{o.ID()}, want...)
	}
	if err := st.Create(t.Context(), pipelinetest.NewOrder(t, "cust-2", t0.Add(time.Hour)), nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	cursor, pages := "", 0
	for {
		page, next, err := st.List(t.Context(), "cust-1", 2, cursor)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		pages++
		for _, o := range page {
			got = append(got, o.ID())
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 3 {
		t.Errorf("ids over %d pages (-want +got):\n%s", pages, diff)
	}
	_, next, err := st.List(t.Context(), "cust-1", 2, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"not base64":               "%%%",
		"base64 of no JSON":        base64.RawURLEncoding.EncodeToString([]byte("nope")),
		"a key without its parts":  base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"x"}`)),
		"another customer's page":  next,
		"base64 of an empty value": base64.RawURLEncoding.EncodeToString([]byte(`{}`)),
	} {
		customer := "cust-1"
		if name == "another customer's page" {
			customer = "cust-2"
		}
		if _, _, err := st.List(t.Context(), customer, 2, bad); !fault.Is(err, fault.Invalid) {
			t.Errorf("List with %s = %v, want kind invalid", name, err)
		}
	}
	for _, limit := range []int{0, dynamodb.MaxListLimit + 1} {
		if _, _, err := st.List(t.Context(), "cust-1", limit, ""); !fault.Is(err, fault.Invalid) {
			t.Errorf("List(limit %d) = %v, want kind invalid", limit, err)
		}
	}
}

func TestPendingOrdersAreInTheSparseIndexOnlyWhilePending(t *testing.T) {
	t.Parallel()
	client, names := tables(t)
	st := dynamodb.NewOrders(client, names.Orders, names.Idempotency, dynamodb.OrdersOptions{})
	a, b := pipelinetest.NewOrder(t, "cust-1", t0), pipelinetest.NewOrder(t, "cust-1", t0.Add(time.Second))
	for _, o := range []*order.Order{a, b} {
		if err := st.Create(t.Context(), o, nil); err != nil {
			t.Fatal(err)
		}
	}
	indexed := func() []string {
		out, err := client.Scan(t.Context(), &awsdynamodb.ScanInput{TableName: aws.String(names.Orders), IndexName: aws.String("pendingByAge")})
		if err != nil {
			t.Fatalf("Scan of the index: %v", err)
		}
		var ids []string
		for _, item := range out.Items {
			ids = append(ids, item["pk"].(*types.AttributeValueMemberS).Value)
		}
		slices.Sort(ids)
		return ids
	}
	want := []string{"ORDER#" + a.ID(), "ORDER#" + b.ID()}
	slices.Sort(want)
	if diff := cmp.Diff(want, indexed()); diff != "" {
		t.Errorf("index before (-want +got):\n%s", diff)
	}
	if _, err := st.Update(t.Context(), a.ID(), func(o *order.Order) ([]contracts.Event, error) {
		return nil, o.StartValidation(t0.Add(time.Minute))
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ORDER#" + b.ID()}, indexed()); diff != "" {
		t.Errorf("index after a left PENDING (-want +got):\n%s", diff)
	}
	got, err := st.PendingBefore(t.Context(), t0.Add(time.Hour), 10)
	if err != nil || !slices.Equal(got, []string{b.ID()}) {
		t.Errorf("PendingBefore = %v, %v; want just %s", got, err, b.ID())
	}
	// The pending index is read only through a Query: the store never scans.
	api := &countingAPI{API: client}
	if _, err := dynamodb.NewOrders(api, names.Orders, names.Idempotency, dynamodb.OrdersOptions{}).PendingBefore(t.Context(), t0.Add(time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if api.scans.Load() != 0 || api.queries.Load() != 1 {
		t.Errorf("PendingBefore made %d scans and %d queries, want one query", api.scans.Load(), api.queries.Load())
	}
}

type countingAPI struct {
	dynamodb.API
	scans, queries atomic.Int64
}

func (c *countingAPI) Scan(ctx context.Context, in *awsdynamodb.ScanInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.ScanOutput, error) {
	c.scans.Add(1)
	return c.API.Scan(ctx, in, opts...)
}

func (c *countingAPI) Query(ctx context.Context, in *awsdynamodb.QueryInput, opts ...func(*awsdynamodb.Options)) (*awsdynamodb.QueryOutput, error) {
	c.queries.Add(1)
	return c.API.Query(ctx, in, opts...)
}

func TestUpdateRefusesMoreEventsThanOneTransactionHolds(t *testing.T) {
	t.Parallel()
	st := openOrders(t)
	o := pipelinetest.NewOrder(t, "cust-1", t0)
	if err := st.Create(t.Context(), o, nil); err != nil {
		t.Fatal(err)
	}
	_, err := st.Update(t.Context(), o.ID(), func(o *order.Order) ([]contracts.Event, error) {
		var events []contracts.Event
		for i := range 100 {
			e, err := pipeline.LocalEnvelope.Event(o, contracts.SourceOrders, "Tick"+string(rune('A'+i%26))+uuid.NewString(), struct{}{}, t0)
			if err != nil {
				return nil, err
			}
			events = append(events, e)
		}
		return events, o.StartValidation(t0)
	})
	if err == nil {
		t.Fatal("Update with 100 events (101 writes) = nil, want an error")
	}
	got, err := st.Get(t.Context(), o.ID())
	if err != nil || got.Status() != order.Pending || got.Version() != 1 {
		t.Errorf("after the refused update: %v, %v; want the order untouched", got, err)
	}
	if evs, err := st.Events(t.Context(), o.ID()); err != nil || len(evs) != 0 {
		t.Errorf("events after the refused update = %d, %v; want none", len(evs), err)
	}
}
