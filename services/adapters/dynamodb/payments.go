package dynamodb

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/paysim"
	"github.com/orderflow/orderflow/services/fault"
)

var _ paysim.Ledger = (*Ledger)(nil)

// Attributes of the payments table.
const (
	attrAuthorizationID = "authorizationId"
	attrAmount          = "amount"
	attrCurrency        = "currency"
	attrAttempts        = "attempts"
	attrDeclineCode     = "declineCode"
)

// Ledger keeps the payment simulator's records in the payments table, one item per order. It is safe
// for concurrent use.
type Ledger struct {
	api   API
	table string
}

// NewLedger returns the ledger on the given table (TableNames.Payments).
func NewLedger(api API, table string) *Ledger { return &Ledger{api: api, table: table} }

func paymentPK(orderID string) string { return "PAYMENT#" + orderID }

// Apply reads the record of orderID (strongly consistent; a zero Record with OrderID set when there is
// none), calls fn and writes the record on condition that its version is still the one read (or that
// it still does not exist). When another Apply wrote first, fn runs again on the fresh record, up to a
// bound after which Apply returns a fault.Unavailable error. If fn returns an error nothing is written
// and Apply returns that error unchanged; a failed read or write is returned wrapped.
func (l *Ledger) Apply(ctx context.Context, orderID string, fn func(r *paysim.Record) error) error {
	for attempt := 1; attempt <= maxWriteAttempts; attempt++ {
		out, err := l.api.GetItem(ctx, &awsdynamodb.GetItemInput{TableName: aws.String(l.table), Key: key(paymentPK(orderID)), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("apply payment change to order %s: read: %w", orderID, classify(err))
		}
		r := paysim.Record{OrderID: orderID}
		var version int64
		if out.Item != nil {
			if r, version, err = decodePayment(orderID, out.Item); err != nil {
				return fmt.Errorf("apply payment change to order %s: %w", orderID, err)
			}
		}
		if err := fn(&r); err != nil {
			return err
		}
		in := &awsdynamodb.PutItemInput{
			TableName: aws.String(l.table),
			Item: map[string]types.AttributeValue{
				attrPK: s(paymentPK(orderID)), attrOrderID: s(orderID), attrState: s(string(r.State)),
				attrAuthorizationID: s(r.AuthorizationID), attrAmount: n(int64(r.Amount)), attrCurrency: s(r.Currency),
				attrAttempts: n(int64(r.Attempts)), attrDeclineCode: s(r.DeclineCode), attrVersion: n(version + 1),
			},
		}
		if out.Item == nil {
			in.ConditionExpression = aws.String("attribute_not_exists(pk)")
		} else {
			in.ConditionExpression = aws.String("version = :v")
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": n(version)}
		}
		_, err = l.api.PutItem(ctx, in)
		if err == nil {
			return nil
		}
		if !conditionalCheckFailed(err) {
			return fmt.Errorf("apply payment change to order %s: write: %w", orderID, classify(err))
		}
		if err := pause(ctx, attempt); err != nil {
			return fmt.Errorf("apply payment change to order %s: %w", orderID, err)
		}
	}
	return fault.Unavailablef("apply payment change to order %s: gave up after %d concurrent writes", orderID, maxWriteAttempts)
}

func decodePayment(orderID string, item map[string]types.AttributeValue) (paysim.Record, int64, error) {
	r := paysim.Record{
		OrderID: orderID, State: paysim.State(getS(item, attrState)), AuthorizationID: getS(item, attrAuthorizationID),
		Currency: getS(item, attrCurrency), DeclineCode: getS(item, attrDeclineCode),
	}
	amount, err := getN(item, attrAmount)
	if err != nil {
		return r, 0, fmt.Errorf("decode payment record: %w", err)
	}
	attempts, err := getN(item, attrAttempts)
	if err != nil {
		return r, 0, fmt.Errorf("decode payment record: %w", err)
	}
	version, err := getN(item, attrVersion)
	if err != nil {
		return r, 0, fmt.Errorf("decode payment record: %w", err)
	}
	r.Amount, r.Attempts = contracts.Amount(amount), int(attempts)
	return r, version, nil
}
