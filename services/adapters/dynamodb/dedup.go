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

var _ notifier.Deduper = (*Deduper)(nil)

// DefaultDedupRetention is how long a handled event is remembered when DeduperOptions leaves it unset:
// far longer than EventBridge (24 hours) or SQS (14 days at most, 4 by default) keeps redelivering.
const DefaultDedupRetention = 7 * 24 * time.Hour

// DeduperOptions tune a Deduper. The zero value gives the defaults.
type DeduperOptions struct {
	// Retention is how long a handled event is remembered (DefaultDedupRetention).
	Retention time.Duration
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
	now       func() time.Time
}

// NewDeduper returns the deduper on the given table (TableNames.Dedup).
func NewDeduper(api API, table string, opts DeduperOptions) *Deduper {
	d := &Deduper{api: api, table: table, retention: opts.Retention, now: opts.Now}
	if d.retention <= 0 {
		d.retention = DefaultDedupRetention
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
