package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow/orderflow/services/notifier"
)

var (
	_ notifier.Deduper = (*Deduper)(nil)
	_ notifier.Claimer = (*Deduper)(nil)
)

// DefaultClaimLease is how long a claim holds off other deliveries of its event when DeduperOptions
// leaves it unset: longer than a text takes to send, shorter than Lambda's first asynchronous retry (about
// a minute), so that the retry of a delivery that crashed while holding its claim acts again.
const DefaultClaimLease = 30 * time.Second

// DefaultDedupRetention is how long a handled event is remembered when DeduperOptions leaves it unset:
// longer than anything can bring it back — EventBridge retries for 24 hours, and the stack's dead-letter
// queues keep a message 14 days, so a redrive of the oldest one still finds its event handled.
const DefaultDedupRetention = 15 * 24 * time.Hour

// DeduperOptions tune a Deduper. The zero value gives the defaults.
type DeduperOptions struct {
	// Retention is how long a handled event is remembered (DefaultDedupRetention).
	Retention time.Duration
	// Lease is how long a claim holds (DefaultClaimLease).
	Lease time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Deduper remembers which events each consumer handled, in the dedup table: one item per consumer and
// event, pk = consumer + "#" + event id, expiring by TTL after the retention. It is safe for
// concurrent use.
type Deduper struct {
	api       API
	table     string
	retention time.Duration
	lease     time.Duration
	now       func() time.Time
}

// NewDeduper returns the deduper on the given table (TableNames.Dedup).
func NewDeduper(api API, table string, opts DeduperOptions) *Deduper {
	d := &Deduper{api: api, table: table, retention: opts.Retention, lease: opts.Lease, now: opts.Now}
	if d.retention <= 0 {
		d.retention = DefaultDedupRetention
	}
	if d.lease <= 0 {
		d.lease = DefaultClaimLease
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d
}

// dedupPK is the item key of a consumer's event. Consumer names are fixed identifiers without "#".
func dedupPK(consumer, eventID string) string { return consumer + "#" + eventID }

// Seen reports whether MarkSeen was called for consumer and eventID within the retention (checked by
// the item's expiresAt, since TTL deletion lags). It returns an error when the read fails.
func (d *Deduper) Seen(ctx context.Context, consumer, eventID string) (bool, error) {
	out, err := d.api.GetItem(ctx, &awsdynamodb.GetItemInput{
		TableName: aws.String(d.table), Key: key(dedupPK(consumer, eventID)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("check whether %s processed event %s: %w", consumer, eventID, classify(err))
	}
	if out.Item == nil {
		return false, nil
	}
	exp, err := getN(out.Item, attrExpiresAt)
	if err != nil {
		return false, fmt.Errorf("check whether %s processed event %s: %w", consumer, eventID, err)
	}
	return exp > d.now().Unix(), nil
}

// MarkSeen records that consumer handled eventID, for the retention from now; marking it again only
// extends that. It returns an error when the write fails.
func (d *Deduper) MarkSeen(ctx context.Context, consumer, eventID string) error {
	_, err := d.api.PutItem(ctx, &awsdynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]types.AttributeValue{
			attrPK: s(dedupPK(consumer, eventID)), attrExpiresAt: n(d.now().Add(d.retention).Unix()),
		},
	})
	if err != nil {
		return fmt.Errorf("mark event %s processed by %s: %w", eventID, consumer, classify(err))
	}
	return nil
}

// Attributes of a claim: state CLAIMED and the lease's end in Unix milliseconds. An item without state
// is an event handled (MarkSeen).
const (
	attrClaimState = "state"
	attrLeaseUntil = "leaseUntil"
	stateClaimed   = "CLAIMED"
)

// Claim records, in one conditional write, that consumer is handling eventID: false when the event was
// handled already (within the retention) or another delivery holds an unexpired claim on it. Two
// deliveries of one event at the same moment, in two Lambda instances, cannot both win.
func (d *Deduper) Claim(ctx context.Context, consumer, eventID string) (bool, error) {
	now := d.now()
	_, err := d.api.PutItem(ctx, &awsdynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]types.AttributeValue{
			attrPK: s(dedupPK(consumer, eventID)), attrClaimState: s(stateClaimed),
			attrLeaseUntil: n(now.Add(d.lease).UnixMilli()), attrExpiresAt: n(now.Add(d.retention).Unix()),
		},
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR #exp <= :nowSec OR (#st = :claimed AND #lease <= :nowMs)"),
		ExpressionAttributeNames: map[string]string{"#exp": attrExpiresAt, "#st": attrClaimState, "#lease": attrLeaseUntil},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":nowSec": n(now.Unix()), ":nowMs": n(now.UnixMilli()), ":claimed": s(stateClaimed),
		},
	})
	if conditionalCheckFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim event %s for %s: %w", eventID, consumer, classify(err))
	}
	return true, nil
}

// Unclaim ends consumer's claim on eventID after its handling failed (its lease is set to have ended),
// so that the redelivery acts at once; a handled event keeps its record.
func (d *Deduper) Unclaim(ctx context.Context, consumer, eventID string) error {
	_, err := d.api.UpdateItem(ctx, &awsdynamodb.UpdateItemInput{
		TableName: aws.String(d.table), Key: key(dedupPK(consumer, eventID)),
		UpdateExpression:          aws.String("SET #lease = :ended"),
		ConditionExpression:       aws.String("#st = :claimed"),
		ExpressionAttributeNames:  map[string]string{"#st": attrClaimState, "#lease": attrLeaseUntil},
		ExpressionAttributeValues: map[string]types.AttributeValue{":claimed": s(stateClaimed), ":ended": n(0)},
	})
	if err != nil && !conditionalCheckFailed(err) {
		return fmt.Errorf("unclaim event %s for %s: %w", eventID, consumer, classify(err))
	}
	return nil
}
