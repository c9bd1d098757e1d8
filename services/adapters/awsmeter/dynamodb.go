package awsmeter

import (
	"errors"
	"math"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// recordDynamoDB adds the capacity of one DynamoDB call and reports whether params was a DynamoDB input
// it knows. result is nil when the call failed with err. m.mu is held.
func (m *Meter) recordDynamoDB(params, result any, err error) bool {
	write, floor, ok := leastCapacity(params)
	if !ok {
		return false
	}
	reported, ok := consumedCapacity(result)
	if !ok {
		m.u.DynamoDB.Unreported++
	}
	var r, w float64
	for _, c := range reported {
		cr, cw := deref(c.ReadCapacityUnits), deref(c.WriteCapacityUnits)
		if cr == 0 && cw == 0 {
			// TOTAL reports only the sum; it belongs to the side of the operation.
			if write {
				cw = deref(c.CapacityUnits)
			} else {
				cr = deref(c.CapacityUnits)
			}
		}
		r, w = r+cr, w+cw
	}
	m.u.DynamoDB.ReportedReadUnits += r
	m.u.DynamoDB.ReportedWriteUnits += w
	// Only a failed condition (alone or in a transaction) consumes capacity among the errors; a throttled
	// or invalid request costs nothing.
	var condition *types.ConditionalCheckFailedException
	var cancelled *types.TransactionCanceledException
	if err != nil && !errors.As(err, &condition) && !errors.As(err, &cancelled) {
		floor = 0
	}
	if write {
		m.u.DynamoDB.ReadUnits += r
		m.u.DynamoDB.WriteUnits += math.Max(w, floor)
	} else {
		m.u.DynamoDB.ReadUnits += math.Max(r, floor)
		m.u.DynamoDB.WriteUnits += w
	}
	return true
}

// consumedCapacity returns the capacity a DynamoDB output reported, and false when it reported none (or
// the call failed).
func consumedCapacity(result any) ([]types.ConsumedCapacity, bool) {
	var one *types.ConsumedCapacity
	var many []types.ConsumedCapacity
	switch o := result.(type) {
	case *dynamodb.GetItemOutput:
		one = o.ConsumedCapacity
	case *dynamodb.PutItemOutput:
		one = o.ConsumedCapacity
	case *dynamodb.UpdateItemOutput:
		one = o.ConsumedCapacity
	case *dynamodb.DeleteItemOutput:
		one = o.ConsumedCapacity
	case *dynamodb.QueryOutput:
		one = o.ConsumedCapacity
	case *dynamodb.ScanOutput:
		one = o.ConsumedCapacity
	case *dynamodb.TransactWriteItemsOutput:
		many = o.ConsumedCapacity
	case *dynamodb.TransactGetItemsOutput:
		many = o.ConsumedCapacity
	case *dynamodb.BatchWriteItemOutput:
		many = o.ConsumedCapacity
	case *dynamodb.BatchGetItemOutput:
		many = o.ConsumedCapacity
	}
	if one != nil {
		many = []types.ConsumedCapacity{*one}
	}
	return many, len(many) > 0
}

// leastCapacity returns whether a DynamoDB input is a write and the least capacity it consumes by
// DynamoDB's rules, which is exact for puts and a floor for the rest (an update or a delete costs by the
// size of the stored item, which the request does not show; a read by the size of what it returns).
func leastCapacity(params any) (write bool, units float64, ok bool) {
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		return false, readUnit(in.ConsistentRead), true
	case *dynamodb.QueryInput:
		return false, readUnit(in.ConsistentRead), true
	case *dynamodb.ScanInput:
		return false, readUnit(in.ConsistentRead), true
	case *dynamodb.BatchGetItemInput:
		for _, ka := range in.RequestItems {
			units += float64(len(ka.Keys)) * readUnit(ka.ConsistentRead)
		}
		return false, units, true
	case *dynamodb.TransactGetItemsInput:
		return false, 2 * float64(len(in.TransactItems)), true
	case *dynamodb.PutItemInput:
		return true, writeUnits(in.Item), true
	case *dynamodb.UpdateItemInput, *dynamodb.DeleteItemInput:
		return true, 1, true
	case *dynamodb.BatchWriteItemInput:
		for _, reqs := range in.RequestItems {
			for _, r := range reqs {
				if r.PutRequest != nil {
					units += writeUnits(r.PutRequest.Item)
				} else {
					units++
				}
			}
		}
		return true, units, true
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range in.TransactItems {
			if it.Put != nil {
				units += 2 * writeUnits(it.Put.Item)
			} else {
				units += 2
			}
		}
		return true, units, true
	}
	return false, 0, false
}

// readUnit is the least a read costs: half a unit eventually consistent, one strongly consistent.
func readUnit(consistent *bool) float64 {
	if deref(consistent) {
		return 1
	}
	return 0.5
}

// writeUnits is the write units of storing item: one per started KB.
func writeUnits(item map[string]types.AttributeValue) float64 {
	return math.Max(1, math.Ceil(float64(itemSize(item))/1024))
}

// itemSize is an item's size by DynamoDB's rules: attribute names plus values, numbers about one byte per
// two digits, three bytes of overhead per list or map and one per element.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

func numberSize(s string) int { return (len(s)+1)/2 + 1 }
