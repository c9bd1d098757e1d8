package dynamodb

import (
	"context"
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
	"github.com/orderflow/orderflow/services/inventory"
)

var _ inventory.Store = (*Inventory)(nil)

// Reservation states (see the package doc).
const (
	stateReserving = "RESERVING"
	stateReserved  = "RESERVED"
	stateUndoing   = "UNDOING"
	stateReleasing = "RELEASING"
	stateReleased  = "RELEASED"
)

// partSize is how many products one part of a reservation takes: a transaction holds 100 actions, one
// of which is the write of the reservation record.
const partSize = maxTransactItems - 1

// Attributes of the inventory table.
const (
	attrName      = "name"
	attrPrice     = "price"
	attrAvailable = "available"
	attrProductID = "productId"
	attrCatalog   = "catalog" // the partition key of the catalog index, on products only
	attrState     = "state"
	attrLines     = "lines"
	attrPartSize  = "partSize"
	attrParts     = "parts"
	attrTaken     = "taken"
	attrHeld      = "held"
)

// Inventory keeps the catalog, the stock and the reservations in the inventory table. It is safe for
// concurrent use.
type Inventory struct {
	api   API
	table string
}

// NewInventory returns the inventory store on the given table (TableNames.Inventory).
func NewInventory(api API, table string) *Inventory {
	return &Inventory{api: api, table: table}
}

func productPK(id string) string     { return "PRODUCT#" + id }
func reservationPK(id string) string { return "RESERVATION#" + id }

// storedLine is how a reservation's lines are kept, as JSON.
type storedLine struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

// PutProduct creates or replaces a product. It returns a fault.Invalid error for an empty id, a negative
// price or negative stock.
func (inv *Inventory) PutProduct(ctx context.Context, p inventory.Product) error {
	if err := validProduct(p); err != nil {
		return err
	}
	_, err := inv.api.PutItem(ctx, &awsdynamodb.PutItemInput{TableName: aws.String(inv.table), Item: productItem(p)})
	if err != nil {
		return fmt.Errorf("put product %s: %w", p.ID, classify(err))
	}
	return nil
}

// PutProductIf replaces a product if its current ETag is etag, and returns inventory.ErrChanged
// (wrapped) otherwise; with inventory.Absent it creates the product if there is none, with
// inventory.Present it replaces the product if there is one. The ETag is a hash of the product's id, name, price and stock, so the write is
// conditional on exactly the name, price and stock that gave the caller's ETag: a reservation or edit
// between the read and the write fails the condition.
func (inv *Inventory) PutProductIf(ctx context.Context, p inventory.Product, etag string) error {
	if err := validProduct(p); err != nil {
		return err
	}
	if etag == inventory.Absent || etag == inventory.Present {
		cond := "attribute_not_exists(#pk)"
		if etag == inventory.Present {
			cond = "attribute_exists(#pk)"
		}
		_, err := inv.api.PutItem(ctx, &awsdynamodb.PutItemInput{
			TableName: aws.String(inv.table), Item: productItem(p),
			ConditionExpression: aws.String(cond), ExpressionAttributeNames: map[string]string{"#pk": attrPK},
		})
		if conditionalCheckFailed(err) {
			return fmt.Errorf("put product %s: %w", p.ID, inventory.ErrChanged)
		}
		if err != nil {
			return fmt.Errorf("put product %s: %w", p.ID, classify(err))
		}
		return nil
	}
	cur, err := inv.Product(ctx, p.ID)
	if fault.Is(err, fault.NotFound) || (err == nil && cur.ETag() != etag) {
		return fmt.Errorf("put product %s: %w", p.ID, inventory.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("put product %s: %w", p.ID, err)
	}
	_, err = inv.api.PutItem(ctx, &awsdynamodb.PutItemInput{
		TableName: aws.String(inv.table), Item: productItem(p),
		ConditionExpression:      aws.String("#n = :n AND price = :p AND available = :a"),
		ExpressionAttributeNames: map[string]string{"#n": attrName},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": s(cur.Name), ":p": n(int64(cur.Price)), ":a": n(int64(cur.Available)),
		},
	})
	if conditionalCheckFailed(err) {
		return fmt.Errorf("put product %s: %w", p.ID, inventory.ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("put product %s: %w", p.ID, classify(err))
	}
	return nil
}

func validProduct(p inventory.Product) error {
	switch {
	case strings.TrimSpace(p.ID) == "":
		return fault.Invalidf("put product: id is required")
	case p.Available < 0:
		return fault.Invalidf("put product %s: available %d must not be negative", p.ID, p.Available)
	case p.Price < 0:
		return fault.Invalidf("put product %s: price %s must not be negative", p.ID, p.Price)
	}
	return nil
}

func productItem(p inventory.Product) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: s(productPK(p.ID)), attrCatalog: s(catalogPartition), attrProductID: s(p.ID), attrName: s(p.Name),
		attrPrice: n(int64(p.Price)), attrAvailable: n(int64(p.Available)),
	}
}

func decodeProduct(item map[string]types.AttributeValue) (inventory.Product, error) {
	p := inventory.Product{ID: getS(item, attrProductID), Name: getS(item, attrName)}
	price, err := getN(item, attrPrice)
	if err != nil {
		return inventory.Product{}, fmt.Errorf("decode product %s: %w", p.ID, err)
	}
	avail, err := getN(item, attrAvailable)
	if err != nil {
		return inventory.Product{}, fmt.Errorf("decode product %s: %w", p.ID, err)
	}
	p.Price, p.Available = contracts.Amount(price), int(avail)
	return p, nil
}

// Product returns the product (a strongly consistent read), or a fault.NotFound error.
func (inv *Inventory) Product(ctx context.Context, id string) (inventory.Product, error) {
	out, err := inv.api.GetItem(ctx, &awsdynamodb.GetItemInput{TableName: aws.String(inv.table), Key: key(productPK(id)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return inventory.Product{}, fmt.Errorf("read product %s: %w", id, classify(err))
	}
	if out.Item == nil {
		return inventory.Product{}, fault.NotFoundf("product %s not found", id)
	}
	return decodeProduct(out.Item)
}

// The catalog index: every product's key under one partition, sorted by product id.
const (
	catalogIndex     = "catalog"
	catalogPartition = "PRODUCT"
	// maxBatchGet is the most keys one BatchGetItem takes.
	maxBatchGet = 100
	// maxReadAttempts bounds the BatchGetItem calls for one chunk of keys: with readBackoff, about 2.5 s.
	maxReadAttempts = 8
)

// readBackoff waits before asking again for keys DynamoDB left unprocessed, which it does when the
// table is over its throughput: 25 ms doubling to at most 1 s, with full jitter, as AWS advises for
// UnprocessedKeys. When ctx ends first it returns ctx's error as fault.Unavailable.
func readBackoff(ctx context.Context, attempt int) error {
	return jitteredWait(ctx, min(25*time.Millisecond<<(attempt-1), time.Second), "stopped before reading again")
}

// Products returns every product ordered by id. It reads the product keys from the sparse, keys-only
// catalog index (eventually consistent: a product created a moment ago may be missing) and the products
// themselves with strongly consistent BatchGetItem calls, so its cost is that of the catalog, whatever
// the number of reservations in the table.
func (inv *Inventory) Products(ctx context.Context) ([]inventory.Product, error) {
	in := &awsdynamodb.QueryInput{
		TableName: aws.String(inv.table), IndexName: aws.String(catalogIndex),
		KeyConditionExpression:    aws.String("#c = :c"),
		ExpressionAttributeNames:  map[string]string{"#c": attrCatalog},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": s(catalogPartition)},
	}
	var keys []map[string]types.AttributeValue
	for {
		page, err := inv.api.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list products: %w", classify(err))
		}
		for _, item := range page.Items {
			keys = append(keys, map[string]types.AttributeValue{attrPK: item[attrPK]})
		}
		if page.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	out := make([]inventory.Product, 0, len(keys))
	for chunk := range slices.Chunk(keys, maxBatchGet) {
		items, err := inv.batchGet(ctx, chunk)
		if err != nil {
			return nil, fmt.Errorf("list products: %w", err)
		}
		for _, item := range items {
			p, err := decodeProduct(item)
			if err != nil {
				return nil, fmt.Errorf("list products: %w", err)
			}
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b inventory.Product) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// BackfillCatalog puts into the catalog index the products written before it existed, which carry no
// catalog attribute and which Products therefore does not list: run it once on a table that held
// products before the upgrade. It Scans the table (reservations included, so it costs what the Scan that
// Products used to do cost, once) and sets the attribute on every product that lacks it, on condition
// that the product still exists, so that a product is never created. It is safe to run again, and while
// the API serves, and returns how many products it changed.
func (inv *Inventory) BackfillCatalog(ctx context.Context) (int, error) {
	in := &awsdynamodb.ScanInput{
		TableName:                 aws.String(inv.table),
		FilterExpression:          aws.String("begins_with(pk, :p) AND attribute_not_exists(#c)"),
		ProjectionExpression:      aws.String("pk"),
		ExpressionAttributeNames:  map[string]string{"#c": attrCatalog},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("PRODUCT#")},
	}
	changed := 0
	for {
		page, err := inv.api.Scan(ctx, in)
		if err != nil {
			return changed, fmt.Errorf("backfill the catalog: %w", classify(err))
		}
		for _, item := range page.Items {
			_, err := inv.api.UpdateItem(ctx, &awsdynamodb.UpdateItemInput{
				TableName: aws.String(inv.table), Key: map[string]types.AttributeValue{attrPK: item[attrPK]},
				UpdateExpression:          aws.String("SET #c = :c"),
				ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(#c)"),
				ExpressionAttributeNames:  map[string]string{"#c": attrCatalog},
				ExpressionAttributeValues: map[string]types.AttributeValue{":c": s(catalogPartition)},
			})
			if conditionalCheckFailed(err) {
				continue // put again meanwhile (with the attribute), or gone
			}
			if err != nil {
				return changed, fmt.Errorf("backfill the catalog: %w", classify(err))
			}
			changed++
		}
		if page.LastEvaluatedKey == nil {
			return changed, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// batchGet reads the items of up to maxBatchGet keys, strongly consistent. Keys DynamoDB leaves
// unprocessed (over its throughput or its 16 MB a call) are asked for again after an exponential,
// jittered backoff (readBackoff), up to maxReadAttempts calls, and then the read is a fault.Unavailable
// error. A product deleted between the index and the read is simply not returned.
func (inv *Inventory) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	for attempt := 1; len(keys) > 0; attempt++ {
		out, err := inv.api.BatchGetItem(ctx, &awsdynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			inv.table: {Keys: keys, ConsistentRead: aws.Bool(true)},
		}})
		if err != nil {
			return nil, classify(err)
		}
		items = append(items, out.Responses[inv.table]...)
		keys = out.UnprocessedKeys[inv.table].Keys
		if len(keys) == 0 {
			break
		}
		if attempt >= maxReadAttempts {
			return nil, fault.Unavailablef("%d products still unprocessed after %d reads", len(keys), attempt)
		}
		if err := readBackoff(ctx, attempt); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// reservation is a stored reservation record.
type reservation struct {
	state                        string
	lines                        []storedLine
	partSize, parts, taken, held int
}

// part returns the lines of part i.
func (r *reservation) part(i int) []storedLine {
	from := i * r.partSize
	return r.lines[min(from, len(r.lines)):min(from+r.partSize, len(r.lines))]
}

// firstParts returns the lines of parts 0 to k-1.
func (r *reservation) firstParts(k int) []inventory.Line {
	var out []inventory.Line
	for i := range k {
		for _, l := range r.part(i) {
			out = append(out, inventory.Line{ProductID: l.ProductID, Quantity: l.Quantity})
		}
	}
	return out
}

func (inv *Inventory) reservation(ctx context.Context, orderID string) (*reservation, error) {
	out, err := inv.api.GetItem(ctx, &awsdynamodb.GetItemInput{TableName: aws.String(inv.table), Key: key(reservationPK(orderID)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read reservation: %w", classify(err))
	}
	if out.Item == nil {
		return nil, nil
	}
	r := &reservation{state: getS(out.Item, attrState)}
	if err := json.Unmarshal([]byte(getS(out.Item, attrLines)), &r.lines); err != nil {
		return nil, fmt.Errorf("decode reservation: %w", err)
	}
	for name, p := range map[string]*int{attrPartSize: &r.partSize, attrParts: &r.parts, attrTaken: &r.taken, attrHeld: &r.held} {
		v, err := getN(out.Item, name)
		if err != nil {
			return nil, fmt.Errorf("decode reservation: %w", err)
		}
		*p = int(v)
	}
	if r.partSize < 1 {
		return nil, fmt.Errorf("decode reservation: part size %d", r.partSize)
	}
	return r, nil
}

// take is the write that takes q of a product, on condition that it exists and has q available.
func (inv *Inventory) take(l storedLine) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(inv.table), Key: key(productPK(l.ProductID)),
		UpdateExpression:                    aws.String("SET available = available - :q"),
		ConditionExpression:                 aws.String("attribute_exists(pk) AND available >= :q"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":q": n(int64(l.Quantity))},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
}

// give is the write that gives q of a product back.
func (inv *Inventory) give(l storedLine) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(inv.table), Key: key(productPK(l.ProductID)),
		UpdateExpression:          aws.String("SET available = available + :q"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":q": n(int64(l.Quantity))},
	}}
}

// setRecord is the write of the reservation record: SET the given values, on condition that its state
// and taken count are still the ones read.
func (inv *Inventory) setRecord(orderID string, r *reservation, set map[string]types.AttributeValue) types.TransactWriteItem {
	names := map[string]string{"#st": attrState}
	values := map[string]types.AttributeValue{":was": s(r.state), ":wasTaken": n(int64(r.taken))}
	var parts []string
	for name, v := range set {
		names["#"+name] = name
		values[":"+name] = v
		parts = append(parts, "#"+name+" = :"+name)
	}
	slices.Sort(parts)
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(inv.table), Key: key(reservationPK(orderID)),
		UpdateExpression:          aws.String("SET " + strings.Join(parts, ", ")),
		ConditionExpression:       aws.String("#st = :was AND taken = :wasTaken"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}}
}

// Reserve takes the stock of every line for the order, all or nothing; lines of the same product are
// added up. Each product's stock check is the condition of the write that takes it, so stock cannot go
// negative however many reservations race. Up to 99 distinct products are reserved in one transaction
// with the reservation record; more are reserved in parts (see the package doc). Reserving again for an
// order that holds a reservation returns nil and takes nothing. It returns a wrapped
// inventory.ErrOutOfStock naming the product (also for an unknown product), a wrapped
// inventory.ErrReleased for a released order, a fault.Invalid error for an empty order id or a
// quantity below 1, and a fault.Unavailable error when concurrent writers keep winning.
func (inv *Inventory) Reserve(ctx context.Context, orderID string, lines []inventory.Line) error {
	lines, err := inventory.MergeLines(orderID, lines)
	if err != nil {
		return err
	}
	merged := make([]storedLine, len(lines))
	for i, l := range lines {
		merged[i] = storedLine(l)
	}
	if err := inv.reserve(ctx, orderID, merged); err != nil {
		return fmt.Errorf("reserve stock for order %s: %w", orderID, err)
	}
	return nil
}

func (inv *Inventory) reserve(ctx context.Context, orderID string, merged []storedLine) error {
	fresh := &reservation{lines: merged, partSize: partSize, parts: max(1, (len(merged)+partSize-1)/partSize)}
	body, err := json.Marshal(merged)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	var outOfStock error // set once this call found a line short: the answer, once the undo is done
	for attempt := 1; attempt <= maxWriteAttempts+4*fresh.parts; attempt++ {
		r, err := inv.reservation(ctx, orderID)
		if err != nil {
			return err
		}
		switch {
		case r == nil && outOfStock != nil:
			return outOfStock
		case r == nil:
			// Part 0 creates the record; with a single part the reservation is complete at once.
			state := stateReserving
			if fresh.parts == 1 {
				state = stateReserved
			}
			part := fresh.part(0)
			items := make([]types.TransactWriteItem, 0, len(part)+1)
			for _, l := range part {
				items = append(items, inv.take(l))
			}
			items = append(items, types.TransactWriteItem{Put: &types.Put{
				TableName: aws.String(inv.table),
				Item: map[string]types.AttributeValue{
					attrPK: s(reservationPK(orderID)), attrOrderID: s(orderID), attrState: s(state), attrLines: s(string(body)),
					attrPartSize: n(partSize), attrParts: n(int64(fresh.parts)), attrTaken: n(1), attrHeld: n(0),
				},
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}})
			reasons, err := transact(ctx, inv.api, items)
			if err != nil {
				return err
			}
			if i := failedAt(reasons); i >= 0 && i < len(part) && !conditionFailed(reasons, len(part)) {
				return shortOf(part[i], reasons[i].Item)
			}
			if reasons == nil && fresh.parts == 1 {
				return nil
			}
			// A record appeared (a concurrent Reserve or Release), or the next part is due: read again.
		case r.state == stateReserved:
			return nil
		case r.state == stateReleasing || r.state == stateReleased:
			return inventory.ErrReleased
		case r.state == stateReserving:
			part := r.part(r.taken)
			set := map[string]types.AttributeValue{attrTaken: n(int64(r.taken + 1))}
			if r.taken+1 >= r.parts {
				set[attrState] = s(stateReserved)
			}
			items := make([]types.TransactWriteItem, 0, len(part)+1)
			for _, l := range part {
				items = append(items, inv.take(l))
			}
			items = append(items, inv.setRecord(orderID, r, set))
			reasons, err := transact(ctx, inv.api, items)
			if err != nil {
				return err
			}
			if i := failedAt(reasons); i >= 0 && i < len(part) && !conditionFailed(reasons, len(part)) {
				// Short in a later part: undo the parts taken, one transaction each, then answer.
				outOfStock = shortOf(part[i], reasons[i].Item)
				if _, err := transact(ctx, inv.api, []types.TransactWriteItem{inv.setRecord(orderID, r, map[string]types.AttributeValue{attrState: s(stateUndoing)})}); err != nil {
					return err
				}
			}
		case r.state == stateUndoing:
			// Give back the last part taken; the undo of part 0 deletes the record, as if nothing had
			// been reserved. Whoever finds the record undoing (this call, or one after a crash) goes on.
			part := r.part(r.taken - 1)
			items := make([]types.TransactWriteItem, 0, len(part)+1)
			for _, l := range part {
				items = append(items, inv.give(l))
			}
			if r.taken == 1 {
				items = append(items, types.TransactWriteItem{Delete: &types.Delete{
					TableName: aws.String(inv.table), Key: key(reservationPK(orderID)),
					ConditionExpression:       aws.String("#st = :was AND taken = :one"),
					ExpressionAttributeNames:  map[string]string{"#st": attrState},
					ExpressionAttributeValues: map[string]types.AttributeValue{":was": s(stateUndoing), ":one": n(1)},
				}})
			} else {
				items = append(items, inv.setRecord(orderID, r, map[string]types.AttributeValue{attrTaken: n(int64(r.taken - 1))}))
			}
			if _, err := transact(ctx, inv.api, items); err != nil {
				return err
			}
		default:
			return fmt.Errorf("reservation in unknown state %q", r.state)
		}
	}
	return fault.Unavailablef("gave up after %d concurrent writes", maxWriteAttempts)
}

// shortOf is the out-of-stock error of line l, whose product item was old (nil for an unknown product).
func shortOf(l storedLine, old map[string]types.AttributeValue) error {
	if old == nil {
		return fmt.Errorf("product %s (%d wanted) is not in the catalog: %w", l.ProductID, l.Quantity, inventory.ErrOutOfStock)
	}
	have, err := getN(old, attrAvailable)
	if err != nil {
		return fmt.Errorf("product %s (%d wanted): %w", l.ProductID, l.Quantity, inventory.ErrOutOfStock)
	}
	return fmt.Errorf("product %s (%d wanted, %d available): %w", l.ProductID, l.Quantity, have, inventory.ErrOutOfStock)
}

// Release gives back the order's reservation exactly once: the first call returns the lines released
// and true, later calls the same lines and false (so that a caller that crashed after releasing can
// still announce the release). Releasing an order with no reservation writes a RELEASED tombstone (so
// that a later Reserve returns inventory.ErrReleased) and returns no lines and false. A reservation
// still being taken in parts (after a crash) is released for the parts it holds. It returns an error
// only when the writes fail.
func (inv *Inventory) Release(ctx context.Context, orderID string) ([]inventory.Line, bool, error) {
	lines, done, err := inv.release(ctx, orderID)
	if err != nil {
		return nil, false, fmt.Errorf("release stock of order %s: %w", orderID, err)
	}
	return lines, done, nil
}

func (inv *Inventory) release(ctx context.Context, orderID string) ([]inventory.Line, bool, error) {
	for attempt := 1; attempt <= maxWriteAttempts*2; attempt++ {
		r, err := inv.reservation(ctx, orderID)
		if err != nil {
			return nil, false, err
		}
		switch {
		case r == nil:
			_, err := inv.api.PutItem(ctx, &awsdynamodb.PutItemInput{
				TableName: aws.String(inv.table),
				Item: map[string]types.AttributeValue{
					attrPK: s(reservationPK(orderID)), attrOrderID: s(orderID), attrState: s(stateReleased), attrLines: s("[]"),
					attrPartSize: n(partSize), attrParts: n(0), attrTaken: n(0), attrHeld: n(0),
				},
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			})
			if err == nil {
				return nil, false, nil
			}
			if !conditionalCheckFailed(err) {
				return nil, false, classify(err)
			}
		case r.state == stateReleased:
			return r.firstParts(r.held), false, nil
		case r.state == stateReleasing || r.taken <= 1:
			// Give back the last part held; the one that gives back part 0 completes the release.
			part := r.part(r.taken - 1)
			set := map[string]types.AttributeValue{attrTaken: n(int64(r.taken - 1))}
			held := r.held
			if r.state != stateReleasing {
				held = r.taken
				set[attrHeld] = n(int64(held))
			}
			if r.taken == 1 {
				set[attrState] = s(stateReleased)
			}
			items := make([]types.TransactWriteItem, 0, len(part)+1)
			for _, l := range part {
				items = append(items, inv.give(l))
			}
			items = append(items, inv.setRecord(orderID, r, set))
			reasons, err := transact(ctx, inv.api, items)
			if err != nil {
				return nil, false, err
			}
			if reasons == nil && r.taken == 1 {
				return r.firstParts(held), true, nil
			}
		default:
			// Several parts held: stop any Reserve going on (it needs RESERVING or UNDOING) and
			// remember how many parts there are to give back.
			set := map[string]types.AttributeValue{attrState: s(stateReleasing), attrHeld: n(int64(r.taken))}
			if _, err := transact(ctx, inv.api, []types.TransactWriteItem{inv.setRecord(orderID, r, set)}); err != nil {
				return nil, false, err
			}
		}
	}
	return nil, false, fault.Unavailablef("gave up after %d concurrent writes", maxWriteAttempts*2)
}
