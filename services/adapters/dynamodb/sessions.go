package dynamodb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/services/fault"
)

var _ agent.SessionStore = (*Sessions)(nil)

// Attributes of the sessions table.
const (
	attrTurns     = "turns"
	attrSessionID = "sessionId"
	attrExpires   = "expires"
)

// SessionsOptions tune a Sessions store. The zero value gives the agent's defaults.
type SessionsOptions struct {
	// TTL is how long a conversation is remembered after its last turn (agent.DefaultSessionTTL).
	TTL time.Duration
	// MaxTurns is how many of a conversation's last turns are kept (agent.DefaultMaxTurns).
	MaxTurns int
}

// Sessions keeps the chatbot's conversations in the sessions table, one item per conversation:
// pk = agent.SessionKey(customer, session), the turns as JSON, a version for conditional writes, the
// expiry to the nanosecond (expires) and as epoch seconds for DynamoDB's TTL (expiresAt). Reads check
// expires, since TTL deletion lags by up to days. It is safe for concurrent use.
type Sessions struct {
	api      API
	table    string
	ttl      time.Duration
	maxTurns int
}

// NewSessions returns the session store on the given table (TableNames.Sessions).
func NewSessions(api API, table string, opts SessionsOptions) *Sessions {
	ss := &Sessions{api: api, table: table, ttl: opts.TTL, maxTurns: opts.MaxTurns}
	if ss.ttl <= 0 {
		ss.ttl = agent.DefaultSessionTTL
	}
	if ss.maxTurns <= 0 {
		ss.maxTurns = agent.DefaultMaxTurns
	}
	return ss
}

// storedSession is a live stored conversation.
type storedSession struct {
	turns   []agent.Turn
	version int64
}

func (ss *Sessions) load(ctx context.Context, customerID, sessionID string, now time.Time) (*storedSession, int64, error) {
	out, err := ss.api.GetItem(ctx, &awsdynamodb.GetItemInput{
		TableName: aws.String(ss.table), Key: key(agent.SessionKey(customerID, sessionID)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, 0, classify(err)
	}
	if out.Item == nil {
		return nil, 0, nil
	}
	version, err := getN(out.Item, attrVersion)
	if err != nil {
		return nil, 0, fmt.Errorf("decode session: %w", err)
	}
	expires, err := time.Parse(time.RFC3339Nano, getS(out.Item, attrExpires))
	if err != nil {
		return nil, 0, fmt.Errorf("decode session: expires: %w", err)
	}
	if !now.Before(expires) {
		return nil, version, nil
	}
	var turns []agent.Turn
	if err := json.Unmarshal([]byte(getS(out.Item, attrTurns)), &turns); err != nil {
		return nil, 0, fmt.Errorf("decode session: %w", err)
	}
	return &storedSession{turns: turns, version: version}, version, nil
}

// Turns returns the turns of the conversation, oldest first, or none when it is unknown or expired at
// now. It returns an error when the read fails.
func (ss *Sessions) Turns(ctx context.Context, customerID, sessionID string, now time.Time) ([]agent.Turn, error) {
	cur, _, err := ss.load(ctx, customerID, sessionID, now)
	if err != nil {
		return nil, fmt.Errorf("read chat session %s of customer %s: %w", sessionID, customerID, err)
	}
	if cur == nil {
		return nil, nil
	}
	return cur.turns, nil
}

// AddTurn appends t to the conversation (starting it afresh when it is unknown or expired), keeps its
// last MaxTurns turns and extends its life to TTL from now, by a write conditional on the version read;
// a concurrent AddTurn that wrote first makes it read and append again. It returns an error when the
// writes fail, a fault.Unavailable one when concurrent writers keep winning.
func (ss *Sessions) AddTurn(ctx context.Context, customerID, sessionID string, t agent.Turn, now time.Time) error {
	for attempt := 1; attempt <= maxWriteAttempts; attempt++ {
		cur, version, err := ss.load(ctx, customerID, sessionID, now)
		if err != nil {
			return fmt.Errorf("add turn to chat session %s of customer %s: %w", sessionID, customerID, err)
		}
		var turns []agent.Turn
		if cur != nil {
			turns = cur.turns
		}
		turns = append(turns, t)
		if len(turns) > ss.maxTurns {
			turns = turns[len(turns)-ss.maxTurns:]
		}
		body, err := json.Marshal(turns)
		if err != nil {
			return fmt.Errorf("add turn to chat session %s: encode: %w", sessionID, err)
		}
		expires := now.Add(ss.ttl)
		in := &awsdynamodb.PutItemInput{
			TableName: aws.String(ss.table),
			Item: map[string]types.AttributeValue{
				attrPK: s(agent.SessionKey(customerID, sessionID)), attrCustomerID: s(customerID), attrSessionID: s(sessionID),
				attrTurns: s(string(body)), attrVersion: n(version + 1),
				attrExpires: s(expires.UTC().Format(time.RFC3339Nano)),
				// TTL deletes by whole seconds: round up, so that the item outlives its expiry.
				attrExpiresAt: n(expires.Add(time.Second - 1).Unix()),
			},
		}
		if version == 0 {
			in.ConditionExpression = aws.String("attribute_not_exists(pk)")
		} else {
			in.ConditionExpression = aws.String("version = :v")
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": n(version)}
		}
		_, err = ss.api.PutItem(ctx, in)
		if err == nil {
			return nil
		}
		if !conditionalCheckFailed(err) {
			return fmt.Errorf("add turn to chat session %s of customer %s: %w", sessionID, customerID, classify(err))
		}
		if err := pause(ctx, attempt); err != nil {
			return err
		}
	}
	return fault.Unavailablef("add turn to chat session %s: gave up after %d concurrent writes", sessionID, maxWriteAttempts)
}
