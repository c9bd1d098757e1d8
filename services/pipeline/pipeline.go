// Package pipeline holds what every stage of the order choreography shares: the ports through which a
// stage reads and changes orders and publishes events, and the building of events in the EventBridge
// envelope with deterministic ids.
package pipeline

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"sync"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
)

// Orders is how a stage reads and changes orders.
type Orders interface {
	// Get returns the order, or a fault.NotFound error.
	Get(ctx context.Context, id string) (*order.Order, error)
	// Update loads the order, calls fn, and, if fn returns nil, stores the changed order together with
	// the events fn returned, as one atomic write conditional on the version it loaded (retrying fn on a
	// concurrent write). If fn returns an error nothing is written and that error is returned. An unknown
	// id is a fault.NotFound error.
	Update(ctx context.Context, id string, fn func(o *order.Order) ([]contracts.Event, error)) (*order.Order, error)
}

// Publisher puts events on the bus. Publishing an event whose id was already published is a no-op on
// the local bus and a duplicate that consumers deduplicate by id on EventBridge.
type Publisher interface {
	Publish(ctx context.Context, events ...contracts.Event) error
}

// ErrNotPublished is wrapped by an Update whose change was stored but whose events could not be put on
// the bus yet (where the store and the bus are two steps, on AWS): the change is durable, and the
// redelivery of what triggered it publishes them.
var ErrNotPublished = errors.New("stored, its events not yet published")

// Handler reacts to one event delivered from the bus. Returning an error asks for redelivery (or
// dead-lettering, see fault.Retryable).
type Handler func(ctx context.Context, e contracts.Event) error

// Envelope makes events for one bus: the account and region that EventBridge would stamp on them.
type Envelope struct {
	Account string
	Region  string
}

// LocalEnvelope is the envelope used on one machine.
var LocalEnvelope = Envelope{Account: "000000000000", Region: "local"}

// eventNamespace seeds the deterministic event ids.
var eventNamespace = uuid.MustParse("5b0e7a7e-1c2f-4f57-9a5e-0f3d7c1a2b44")

// EventID is the deterministic id of the event of the given detail type about the given order: the same
// inputs always give the same id, so a re-emitted event is recognisably the same event.
func EventID(orderID, detailType string) string {
	// uuid.NewSHA1(eventNamespace, []byte(orderID+"/"+detailType)), hashed from the stack: every status
	// change names its events, and NewSHA1 allocates the name, the hash and its sum.
	var buf [128]byte
	name := append(append(append(append(buf[:0], eventNamespace[:]...), orderID...), '/'), detailType...)
	sum := sha1.Sum(name)
	var id uuid.UUID
	copy(id[:], sum[:])
	id[6] = id[6]&0x0f | 0x50 // version 5
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id.String()
}

// Event wraps detail in the envelope. The detail's DetailMeta is filled in from o.
func (env Envelope) Event(o *order.Order, source, detailType string, detail any, at time.Time) (contracts.Event, error) {
	id := EventID(o.ID(), detailType)
	b, err := encodeDetail(detail, id)
	if err != nil {
		return contracts.Event{}, fmt.Errorf("encode %s detail for order %s: %w", detailType, o.ID(), err)
	}
	return contracts.Event{
		Version: "0", ID: id, DetailType: detailType, Source: source,
		Account: env.Account, Time: at.UTC(), Region: env.Region, Resources: []string{o.ID()}, Detail: b,
	}, nil
}

// pooledEncoder encodes into a buffer of its own, reused through pooledEncoders.
type pooledEncoder struct {
	buf bytes.Buffer
	enc *gojson.Encoder
}

var pooledEncoders = sync.Pool{New: func() any {
	e := new(pooledEncoder)
	e.enc = gojson.NewEncoder(&e.buf)
	return e
}}

// maxPooledEncoding is the largest buffer kept for reuse: an order of hundreds of lines does not keep
// its buffer in the pool.
const maxPooledEncoding = 64 << 10

// EncodePooled encodes v as gojson.Marshal does, into a reused buffer, for bytes that are garbage soon
// after: a stored order once its row is written, a detail once it is copied with its event id. The
// caller calls release once it is done with the bytes, and must not use them after.
func EncodePooled(v any) (_ []byte, release func(), err error) {
	e := pooledEncoders.Get().(*pooledEncoder)
	e.buf.Reset()
	release = func() {
		if e.buf.Cap() <= maxPooledEncoding {
			pooledEncoders.Put(e)
		}
	}
	if err := e.enc.Encode(v); err != nil {
		release()
		return nil, func() {}, err
	}
	return bytes.TrimSuffix(e.buf.Bytes(), []byte("\n")), release, nil
}

// encodeDetail encodes detail as gojson.Marshal does, with the event id spliced in (withEventID), into
// a slice of its own.
func encodeDetail(detail any, id string) ([]byte, error) {
	b, release, err := EncodePooled(detail)
	if err != nil {
		return nil, err
	}
	defer release()
	return withEventID(b, id), nil
}

// withEventID returns a copy of an encoded detail object with the event id as its first member, eventId,
// unless the detail already has one: EventBridge replaces the envelope id on every put, so the id
// consumers deduplicate by must travel in the detail (contracts.DetailMeta.EventID). Splicing the
// encoded bytes keeps the details' field order and costs no second encoding on the hot path.
func withEventID(detail []byte, id string) []byte {
	if len(detail) < 2 || detail[0] != '{' || bytes.Contains(detail, []byte(`"eventId":`)) {
		return bytes.Clone(detail)
	}
	out := make([]byte, 0, len(detail)+len(id)+14)
	out = append(out, `{"eventId":"`...)
	out = append(out, id...)
	out = append(out, '"')
	if detail[1] != '}' {
		out = append(out, ',')
	}
	return append(out, detail[1:]...)
}

// EventOrderID returns the id of the order an event is about: its first resource, as Envelope.Event
// sets it, or else the orderId of its detail; "" when it has neither.
func EventOrderID(e contracts.Event) string {
	if len(e.Resources) > 0 && e.Resources[0] != "" {
		return e.Resources[0]
	}
	var meta contracts.DetailMeta
	if jsonv1.Unmarshal(e.Detail, &meta) == nil {
		return meta.OrderID
	}
	return ""
}

// Meta is the DetailMeta of an event about o.
func Meta(o *order.Order) contracts.DetailMeta {
	return contracts.DetailMeta{OrderID: o.ID(), Reference: o.Reference(), CorrelationID: o.CorrelationID(), SchemaVersion: contracts.SchemaVersion}
}

// LineItems converts an order's items to their contract form.
func LineItems(o *order.Order) []contracts.LineItem {
	items := o.Items()
	out := make([]contracts.LineItem, len(items))
	for i, it := range items {
		out[i] = contracts.LineItem{ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity, Price: it.Price}
	}
	return out
}

// Decode reads an event's detail into v, classifying a malformed detail as fault.Invalid so it is
// dead-lettered rather than retried forever.
func Decode(e contracts.Event, v any) error {
	if err := jsonv1.Unmarshal(e.Detail, v); err != nil {
		return invalidEvent(e, err.Error())
	}
	return nil
}

func invalidEvent(e contracts.Event, why string) error {
	return fault.Invalidf("malformed %s detail in event %s: %s", e.DetailType, e.ID, why)
}
