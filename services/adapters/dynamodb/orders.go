package dynamodb

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/pipeline"
)

var (
	_ pipeline.Orders    = (*Orders)(nil)
	_ pipeline.Publisher = (*Orders)(nil)
	_ ingest.Store       = (*Orders)(nil)
)

// MaxListLimit is the largest page List returns.
const MaxListLimit = 1000

// DefaultIdempotencyRetention is how long an idempotency record is honoured when OrdersOptions leaves
// it unset.
const DefaultIdempotencyRetention = 24 * time.Hour

// Names of the orders table's index and attributes (see the package doc).
const (
	indexByCustomer   = "byCustomer"
	indexPendingByAge = "pendingByAge"

	attrSnapshot   = "snapshot"
	attrVersion    = "version"
	attrStatus     = "status"
	attrCustomerID = "customerId"
	attrCreatedAt  = "createdAt"
	attrGSI1PK     = "gsi1pk"
	attrGSI1SK     = "gsi1sk"
	attrPendingPK  = "pendingPk"
	attrPendingSK  = "pendingSk"
	attrEvent      = "event"
	attrEventTime  = "eventTime"
	attrRecorded   = "recorded"
	attrDetailType = "detailType"
	attrExpiresAt  = "expiresAt"

	attrRequestHash = "requestHash"
	attrOrderID     = "orderId"
	attrResponse    = "response"

	skOrder       = "ORDER"
	skReference   = "REFERENCE"
	skEventPrefix = "EVENT#"
	pendingPK     = "PENDING"
)

// OrdersOptions tune an Orders store. The zero value gives the defaults.
type OrdersOptions struct {
	// IdempotencyRetention is how long an idempotency record is honoured after it was stored
	// (DefaultIdempotencyRetention). DynamoDB's TTL deletes it some time after that; reads check the
	// expiry themselves, since TTL deletion lags (and DynamoDB Local never does it).
	IdempotencyRetention time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Orders keeps orders, their events and idempotency records in DynamoDB: the orders table (orders and
// the events recorded about them) and the idempotency table. It is safe for concurrent use.
type Orders struct {
	api                     API
	ordersTable, idempTable string
	retention               time.Duration
	now                     func() time.Time
}

// NewOrders returns the order store on the given tables (names as in TableNames.Orders and
// TableNames.Idempotency).
func NewOrders(api API, ordersTable, idempotencyTable string, opts OrdersOptions) *Orders {
	o := &Orders{api: api, ordersTable: ordersTable, idempTable: idempotencyTable, retention: opts.IdempotencyRetention, now: opts.Now}
	if o.retention <= 0 {
		o.retention = DefaultIdempotencyRetention
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o
}

func orderPK(id string) string { return "ORDER#" + id }

func orderKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: s(orderPK(id)), attrSK: s(skOrder)}
}

// orderItem is the stored form of s (see the package doc). The pending attributes, which put the order
// in the sparse pendingByAge index, are there only while it is PENDING.
func orderItem(snap order.Snapshot) (map[string]types.AttributeValue, error) {
	body, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("encode order %s: %w", snap.ID, err)
	}
	created := sortable(snap.CreatedAt) + "#" + snap.ID
	item := map[string]types.AttributeValue{
		attrPK: s(orderPK(snap.ID)), attrSK: s(skOrder),
		attrSnapshot: s(string(body)), attrVersion: n(snap.Version), attrStatus: s(string(snap.Status)),
		attrCustomerID: s(snap.CustomerID), attrCreatedAt: s(sortable(snap.CreatedAt)),
		attrGSI1PK: s(customerPK(snap.CustomerID)), attrGSI1SK: s(created),
	}
	if snap.Status == order.Pending {
		item[attrPendingPK], item[attrPendingSK] = s(pendingPK), s(created)
	}
	return item, nil
}

func customerPK(id string) string { return "CUSTOMER#" + id }

func referencePK(ref string) string { return "REFERENCE#" + ref }

func referenceKey(ref string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: s(referencePK(ref)), attrSK: s(skReference)}
}

// decodeOrder rebuilds an order from its item. The version attribute, not the copy inside the JSON, is
// what conditional writes check, so it is the truth.
func decodeOrder(item map[string]types.AttributeValue) (*order.Order, error) {
	var snap order.Snapshot
	if err := json.Unmarshal([]byte(getS(item, attrSnapshot)), &snap); err != nil {
		return nil, fmt.Errorf("decode stored order: %w", err)
	}
	v, err := getN(item, attrVersion)
	if err != nil {
		return nil, fmt.Errorf("decode stored order %s: %w", snap.ID, err)
	}
	snap.Version = v
	return order.FromSnapshot(snap), nil
}

// Create stores a new order (at version 1) and, when rec is not nil, its idempotency record, in one
// transaction, together with the item that holds its reference (REFERENCE#<reference>, written on
// condition that it does not exist: that is what keeps references unique). It returns an error wrapping
// ingest.ErrIdempotencyKeyTaken when rec.Key is held by a live record (an expired one is replaced), one
// wrapping ingest.ErrReferenceTaken when another order holds the reference, a fault.Conflict error when
// the order id is taken, and in each case stores nothing.
func (st *Orders) Create(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord) error {
	snap := o.Snapshot()
	snap.Version = 1
	item, err := orderItem(snap)
	if err != nil {
		return fmt.Errorf("create order: %w", err)
	}
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName: aws.String(st.ordersTable), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}}
	if rec != nil {
		now := st.now()
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(st.idempTable),
			Item: map[string]types.AttributeValue{
				attrPK: s(rec.Key), attrRequestHash: s(rec.RequestHash), attrOrderID: s(rec.OrderID),
				attrResponse: b(rec.Response), attrCreatedAt: s(rec.CreatedAt.UTC().Format(time.RFC3339Nano)),
				attrExpiresAt: n(now.Add(st.retention).Unix()),
			},
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR expiresAt <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(now.Unix())},
		}})
	}
	refAt := -1
	if snap.Reference != "" {
		refAt = len(items)
		item := referenceKey(snap.Reference)
		item[attrOrderID], item[attrCustomerID] = s(snap.ID), s(snap.CustomerID)
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(st.ordersTable), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}})
	}
	reasons, err := transact(ctx, st.api, items)
	switch {
	case err != nil:
		return fmt.Errorf("create order %s: %w", snap.ID, err)
	case rec != nil && conditionFailed(reasons, 1):
		return fmt.Errorf("create order %s: idempotency key %q: %w", snap.ID, rec.Key, ingest.ErrIdempotencyKeyTaken)
	case conditionFailed(reasons, 0):
		return fmt.Errorf("create order %s: %w", snap.ID, fault.Conflictf("order already exists"))
	case refAt >= 0 && conditionFailed(reasons, refAt):
		return fmt.Errorf("create order %s: reference %s: %w", snap.ID, snap.Reference, ingest.ErrReferenceTaken)
	case reasons != nil:
		return fmt.Errorf("create order %s: transaction cancelled: %v", snap.ID, reasonCodes(reasons))
	}
	return nil
}

func reasonCodes(reasons []types.CancellationReason) []string {
	out := make([]string, len(reasons))
	for i, r := range reasons {
		out[i] = str(r.Code)
	}
	return out
}

// Idempotency returns the record of key, or a fault.NotFound error when there is none or it expired
// (by its expiresAt attribute: TTL deletion lags behind expiry).
func (st *Orders) Idempotency(ctx context.Context, key string) (ingest.IdempotencyRecord, error) {
	out, err := st.api.GetItem(ctx, &awsdynamodb.GetItemInput{
		TableName: aws.String(st.idempTable), Key: map[string]types.AttributeValue{attrPK: s(key)}, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return ingest.IdempotencyRecord{}, fmt.Errorf("read idempotency key %q: %w", key, classify(err))
	}
	if out.Item == nil {
		return ingest.IdempotencyRecord{}, fault.NotFoundf("idempotency key %q not found", key)
	}
	exp, err := getN(out.Item, attrExpiresAt)
	if err != nil {
		return ingest.IdempotencyRecord{}, fmt.Errorf("read idempotency key %q: %w", key, err)
	}
	if exp <= st.now().Unix() {
		return ingest.IdempotencyRecord{}, fault.NotFoundf("idempotency key %q not found (expired)", key)
	}
	at, err := time.Parse(time.RFC3339Nano, getS(out.Item, attrCreatedAt))
	if err != nil {
		return ingest.IdempotencyRecord{}, fmt.Errorf("read idempotency key %q: created at: %w", key, err)
	}
	return ingest.IdempotencyRecord{
		Key: key, RequestHash: getS(out.Item, attrRequestHash), OrderID: getS(out.Item, attrOrderID),
		Response: getB(out.Item, attrResponse), CreatedAt: at,
	}, nil
}

// PendingBefore returns the ids of up to limit PENDING orders created before t, oldest first, by a Query
// of the sparse pendingByAge index (only PENDING orders are in it). The index is eventually consistent:
// an order that just left PENDING may still be listed, which costs the reconciler one redundant
// re-queue that the dispatcher ignores. A limit below 1 is a fault.Invalid error.
func (st *Orders) PendingBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, fault.Invalidf("pending orders: limit %d must be at least 1", limit)
	}
	in := &awsdynamodb.QueryInput{
		TableName: aws.String(st.ordersTable), IndexName: aws.String(indexPendingByAge),
		// "<created>#<id>" < "<t>" exactly when created < t: at equal times the longer string is greater.
		KeyConditionExpression: aws.String("pendingPk = :p AND pendingSk < :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": s(pendingPK), ":t": s(sortable(t)),
		},
		ScanIndexForward: aws.Bool(true),
	}
	ids := []string{}
	for {
		in.Limit = aws.Int32(int32(min(limit-len(ids), MaxListLimit)))
		out, err := st.api.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list pending orders: %w", classify(err))
		}
		for _, item := range out.Items {
			ids = append(ids, strings.TrimPrefix(getS(item, attrPK), "ORDER#"))
		}
		if len(ids) >= limit || out.LastEvaluatedKey == nil {
			return ids, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// PendingPage returns the ids of up to limit PENDING orders created before t, oldest first, after the
// position of cursor ("" for the first page), and the cursor of the next page ("" on the last), by
// Queries of the pendingByAge index as PendingBefore (eventually consistent in the same way). The cursor
// is the last order's index sort key, <createdAt>#<id>; a page after it is a Query of the keys between
// it and t, which needs no item at the cursor any more, so the order there may have left PENDING. A
// limit below 1 or a cursor PendingPage did not return is a fault.Invalid error.
func (st *Orders) PendingPage(ctx context.Context, t time.Time, limit int, cursor string) ([]string, string, error) {
	if limit < 1 {
		return nil, "", fault.Invalidf("pending orders: limit %d must be at least 1", limit)
	}
	before := sortable(t)
	in := &awsdynamodb.QueryInput{
		TableName: aws.String(st.ordersTable), IndexName: aws.String(indexPendingByAge),
		KeyConditionExpression: aws.String("pendingPk = :p AND pendingSk < :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": s(pendingPK), ":t": s(before),
		},
		ScanIndexForward: aws.Bool(true),
	}
	after := ""
	if cursor != "" {
		var err error
		if after, err = decodePendingCursor(cursor); err != nil {
			return nil, "", err
		}
		if after >= before { // BETWEEN refuses a lower bound above the upper one
			return []string{}, "", nil
		}
		// BETWEEN includes both bounds: the order at the cursor, if still PENDING, is dropped below; no
		// key equals the bare time before, which sorts below every "<before>#<id>".
		in.KeyConditionExpression = aws.String("pendingPk = :p AND pendingSk BETWEEN :a AND :t")
		in.ExpressionAttributeValues[":a"] = s(after)
	}
	// One more than the page, so that a last page that is exactly full says so; and one more again while
	// the order at the cursor may still be read.
	var keys []string
	atCursor := after != ""
	for len(keys) <= limit {
		want := limit + 1 - len(keys)
		if atCursor {
			want++
		}
		in.Limit = aws.Int32(int32(min(want, MaxListLimit)))
		out, err := st.api.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("list pending orders: %w", classify(err))
		}
		for _, item := range out.Items {
			atCursor = false
			if sk := getS(item, attrPendingSK); sk != after {
				keys = append(keys, sk)
			}
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	next := ""
	if len(keys) > limit {
		keys = keys[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(keys[limit-1]))
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		_, ids[i], _ = strings.Cut(k, "#")
	}
	return ids, next, nil
}

// decodePendingCursor returns the index sort key that a cursor of PendingPage holds.
func decodePendingCursor(cursor string) (string, error) {
	invalid := fault.Invalidf("pending orders: cursor %q is not valid", cursor)
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", invalid
	}
	at, id, ok := strings.Cut(string(b), "#")
	if !ok || id == "" {
		return "", invalid
	}
	if t, err := time.Parse(time.RFC3339Nano, at); err != nil || sortable(t) != at {
		return "", invalid
	}
	return string(b), nil
}

// Get returns the order (a strongly consistent read), or a fault.NotFound error.
func (st *Orders) Get(ctx context.Context, id string) (*order.Order, error) {
	item, err := st.load(ctx, id)
	if err != nil {
		return nil, err
	}
	o, err := decodeOrder(item)
	if err != nil {
		return nil, fmt.Errorf("get order %s: %w", id, err)
	}
	return o, nil
}

func (st *Orders) load(ctx context.Context, id string) (map[string]types.AttributeValue, error) {
	out, err := st.api.GetItem(ctx, &awsdynamodb.GetItemInput{
		TableName: aws.String(st.ordersTable), Key: orderKey(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#s, version"), ExpressionAttributeNames: map[string]string{"#s": attrSnapshot},
	})
	if err != nil {
		return nil, fmt.Errorf("read order %s: %w", id, classify(err))
	}
	if out.Item == nil {
		return nil, fault.NotFoundf("order %s not found", id)
	}
	return out.Item, nil
}

// GetByReference returns the customer's order with the reference (in its canonical form, as
// order.ParseReference returns it), or a fault.NotFound error when there is none: an order of another
// customer is not found either. It reads the REFERENCE# item, then the order, both strongly
// consistent, so an order is found by its reference as soon as Create returned.
func (st *Orders) GetByReference(ctx context.Context, customerID, reference string) (*order.Order, error) {
	notFound := fault.NotFoundf("order %s not found", reference)
	if reference == "" {
		return nil, notFound
	}
	out, err := st.api.GetItem(ctx, &awsdynamodb.GetItemInput{
		TableName: aws.String(st.ordersTable), Key: referenceKey(reference), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read order reference %s: %w", reference, classify(err))
	}
	if out.Item == nil || getS(out.Item, attrCustomerID) != customerID {
		return nil, notFound
	}
	o, err := st.Get(ctx, getS(out.Item, attrOrderID))
	if fault.Is(err, fault.NotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if o.CustomerID() != customerID || o.Reference() != reference {
		return nil, notFound
	}
	return o, nil
}

// Update loads the order (strongly consistent), calls fn, and writes the changed order together with
// the events fn returned in one transaction, on condition that the order's version is still the one
// loaded. When another writer got there first, fn runs again on the order that writer stored (returned
// by the failed condition, so no extra read), up to a bound after which Update returns a
// fault.Unavailable error. It returns fn's error unchanged (and writes nothing) if fn fails, a
// fault.NotFound error for an unknown id, and an error when the order and its events do not fit one
// transaction (100 actions, 4 MB). Events are recorded as by Publish.
func (st *Orders) Update(ctx context.Context, id string, fn func(o *order.Order) ([]contracts.Event, error)) (*order.Order, error) {
	item, err := st.load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("update order: %w", err)
	}
	for attempt := 1; ; attempt++ {
		o, err := decodeOrder(item)
		if err != nil {
			return nil, fmt.Errorf("update order %s: %w", id, err)
		}
		version := o.Version()
		events, err := fn(o)
		if err != nil {
			return nil, err
		}
		snap := o.Snapshot()
		snap.Version = version + 1
		next, err := orderItem(snap)
		if err != nil {
			return nil, fmt.Errorf("update order %s: %w", id, err)
		}
		items := []types.TransactWriteItem{{Put: &types.Put{
			TableName: aws.String(st.ordersTable), Item: next,
			ConditionExpression:                 aws.String("version = :v"),
			ExpressionAttributeValues:           map[string]types.AttributeValue{":v": n(version)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}}
		recorded, err := st.recordEvents(events, snap.Version)
		if err != nil {
			return nil, fmt.Errorf("update order %s: %w", id, err)
		}
		items = append(items, recorded...)
		if err := fitsOneTransaction(items); err != nil {
			return nil, fmt.Errorf("update order %s with %d events: %w", id, len(events), err)
		}
		reasons, err := transact(ctx, st.api, items)
		switch {
		case err != nil:
			return nil, fmt.Errorf("update order %s: %w", id, err)
		case reasons == nil:
			return order.FromSnapshot(snap), nil
		case !conditionFailed(reasons, 0):
			return nil, fmt.Errorf("update order %s: transaction cancelled: %v", id, reasonCodes(reasons))
		case attempt >= maxWriteAttempts:
			return nil, fault.Unavailablef("update order %s: gave up after %d concurrent writes", id, attempt)
		}
		item = reasons[0].Item
		if item == nil {
			// The emulator or an older API may not return the item: read it.
			if item, err = st.load(ctx, id); err != nil {
				return nil, fmt.Errorf("update order: %w", err)
			}
		}
	}
}

// fitsOneTransaction checks DynamoDB's limits of one transaction.
func fitsOneTransaction(items []types.TransactWriteItem) error {
	if len(items) > maxTransactItems {
		return fmt.Errorf("%d writes are over DynamoDB's limit of %d in one transaction", len(items), maxTransactItems)
	}
	size := 0
	for _, it := range items {
		switch {
		case it.Put != nil:
			size += itemSize(it.Put.Item)
		case it.Update != nil:
			size += itemSize(it.Update.ExpressionAttributeValues)
		}
	}
	if size > maxTransactBytes {
		return fmt.Errorf("%d bytes are over DynamoDB's limit of %d in one transaction", size, maxTransactBytes)
	}
	return nil
}

// recordEvents returns the writes that record events on their orders' item collections, one per
// distinct event (a transaction may not touch one item twice; the first of a repeated id wins).
//
// Each write is an unconditional UpdateItem that sets every attribute with if_not_exists: recording an
// event that is already recorded changes nothing (the first content and position are kept) and, having
// no condition, can never cancel the transaction it is part of. A conditional Put (attribute_not_exists)
// would make an update that re-emits a recorded event fail forever, and reading the collection first
// to leave recorded events out would still race with a concurrent Publish.
//
// recorded orders events of equal time by when they were first recorded: the writer's clock and the
// version it writes (or 0 for Publish), then the event's place in the batch.
func (st *Orders) recordEvents(events []contracts.Event, version int64) ([]types.TransactWriteItem, error) {
	now := sortable(st.now())
	seen := map[string]bool{}
	var items []types.TransactWriteItem
	for i, e := range events {
		if e.ID == "" {
			return nil, fmt.Errorf("record %s event: event has no id", e.DetailType)
		}
		orderID := pipeline.EventOrderID(e)
		k := orderID + "\x00" + e.ID
		if seen[k] {
			continue
		}
		seen[k] = true
		body, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(st.ordersTable),
			Key:       map[string]types.AttributeValue{attrPK: s(orderPK(orderID)), attrSK: s(skEventPrefix + e.ID)},
			UpdateExpression: aws.String("SET #e = if_not_exists(#e, :e), #t = if_not_exists(#t, :t), " +
				"#r = if_not_exists(#r, :r), #d = if_not_exists(#d, :d)"),
			ExpressionAttributeNames: map[string]string{"#e": attrEvent, "#t": attrEventTime, "#r": attrRecorded, "#d": attrDetailType},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":e": s(string(body)), ":t": s(sortable(e.Time)),
				":r": s(fmt.Sprintf("%s#%019d#%04d", now, version, i)), ":d": s(e.DetailType),
			},
		}})
	}
	return items, nil
}

// Publish records the events on the item collections of the orders they are about, each event id once:
// recording an id again stores nothing and is not an error. (On AWS the events reach EventBridge
// through the bus adapter; this is the order's own history of them, which Events reads.) Up to 100
// distinct events are recorded in one transaction, all or none; more are recorded 100 at a time. It
// returns an error when an event has no id or the write fails.
func (st *Orders) Publish(ctx context.Context, events ...contracts.Event) error {
	if len(events) == 0 {
		return nil
	}
	items, err := st.recordEvents(events, 0)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	for chunk := range slices.Chunk(items, maxTransactItems) {
		if len(chunk) == 1 {
			// A single write needs no transaction, and so cannot conflict with a concurrent one.
			u := chunk[0].Update
			_, err = st.api.UpdateItem(ctx, &awsdynamodb.UpdateItemInput{
				TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
				ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
			})
			err = classify(err)
		} else {
			var reasons []types.CancellationReason
			reasons, err = transact(ctx, st.api, chunk)
			if err == nil && reasons != nil {
				err = fmt.Errorf("transaction cancelled: %v", reasonCodes(reasons))
			}
		}
		if err != nil {
			return fmt.Errorf("publish %d events (first %s): %w", len(events), events[0].ID, err)
		}
	}
	return nil
}

// Events returns every event recorded about the order, oldest first: by event time, then by when each
// was first recorded, then by id. It returns a fault.NotFound error when there is neither such an order
// nor any event about it.
func (st *Orders) Events(ctx context.Context, orderID string) ([]contracts.Event, error) {
	in := &awsdynamodb.QueryInput{
		TableName:              aws.String(st.ordersTable),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :ev)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": s(orderPK(orderID)), ":ev": s(skEventPrefix),
		},
		ConsistentRead: aws.Bool(true),
	}
	type recorded struct {
		at, seq string
		e       contracts.Event
	}
	var all []recorded
	for {
		out, err := st.api.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list events of order %s: %w", orderID, classify(err))
		}
		for _, item := range out.Items {
			var e contracts.Event
			if err := json.Unmarshal([]byte(getS(item, attrEvent)), &e); err != nil {
				return nil, fmt.Errorf("list events of order %s: decode stored event: %w", orderID, err)
			}
			all = append(all, recorded{at: getS(item, attrEventTime), seq: getS(item, attrRecorded), e: e})
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if len(all) == 0 {
		if _, err := st.load(ctx, orderID); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
	}
	slices.SortStableFunc(all, func(a, b recorded) int {
		if c := strings.Compare(a.at, b.at); c != 0 {
			return c
		}
		if c := strings.Compare(a.seq, b.seq); c != 0 {
			return c
		}
		return strings.Compare(a.e.ID, b.e.ID)
	})
	events := make([]contracts.Event, len(all))
	for i, r := range all {
		events[i] = r.e
	}
	return events, nil
}

// cursor is the position List's next page starts after: the index key of the last order returned.
type cursor struct {
	PK     string `json:"pk"`
	SK     string `json:"sk"`
	GSI1PK string `json:"gsi1pk"`
	GSI1SK string `json:"gsi1sk"`
}

// List returns up to limit orders of the customer, newest first (by creation time, then id), and the
// opaque cursor of the next page, "" on the last page. Pass "" as cursor for the first page. It reads
// the byCustomer index, which is eventually consistent: an order created or changed a moment ago may be
// missing or stale on the page. A limit outside 1 to MaxListLimit or a cursor that List did not return
// (for this customer) is a fault.Invalid error.
func (st *Orders) List(ctx context.Context, customerID string, limit int, cur string) ([]*order.Order, string, error) {
	if limit < 1 || limit > MaxListLimit {
		return nil, "", fault.Invalidf("list orders: limit %d must be from 1 to %d", limit, MaxListLimit)
	}
	in := &awsdynamodb.QueryInput{
		TableName: aws.String(st.ordersTable), IndexName: aws.String(indexByCustomer),
		KeyConditionExpression:    aws.String("gsi1pk = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": s(customerPK(customerID))},
		ScanIndexForward:          aws.Bool(false),
	}
	if cur != "" {
		start, err := decodeCursor(cur, customerPK(customerID))
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	// One more than the page, so that a last page that is exactly full says so.
	var items []map[string]types.AttributeValue
	for len(items) <= limit {
		in.Limit = aws.Int32(int32(limit + 1 - len(items)))
		out, err := st.api.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("list orders of customer %s: %w", customerID, classify(err))
		}
		items = append(items, out.Items...)
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	orders := make([]*order.Order, 0, len(items))
	for _, item := range items {
		o, err := decodeOrder(item)
		if err != nil {
			return nil, "", fmt.Errorf("list orders of customer %s: %w", customerID, err)
		}
		orders = append(orders, o)
	}
	next := ""
	if more {
		last := items[len(items)-1]
		b, err := json.Marshal(cursor{PK: getS(last, attrPK), SK: getS(last, attrSK), GSI1PK: getS(last, attrGSI1PK), GSI1SK: getS(last, attrGSI1SK)})
		if err != nil {
			return nil, "", fmt.Errorf("list orders of customer %s: encode cursor: %w", customerID, err)
		}
		next = base64.RawURLEncoding.EncodeToString(b)
	}
	return orders, next, nil
}

func decodeCursor(cur, gsi1pk string) (map[string]types.AttributeValue, error) {
	invalid := fault.Invalidf("list orders: cursor %q is not valid", cur)
	raw, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return nil, invalid
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil || c.PK == "" || c.SK == "" || c.GSI1SK == "" || c.GSI1PK != gsi1pk {
		return nil, invalid
	}
	return map[string]types.AttributeValue{attrPK: s(c.PK), attrSK: s(c.SK), attrGSI1PK: s(c.GSI1PK), attrGSI1SK: s(c.GSI1SK)}, nil
}
