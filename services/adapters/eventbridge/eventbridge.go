// Package eventbridge publishes orderflow's events to an Amazon EventBridge bus with PutEvents.
//
// EventBridge stamps a fresh envelope id on every put, so the deterministic id that consumers deduplicate
// by travels in the detail (contracts.DetailMeta.EventID, set by pipeline.Envelope.Event); the Lambda side
// (services/adapters/awslambda) restores it as the event's ID.
package eventbridge

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/awsfault"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/pipeline"
)

// Client is the part of the EventBridge API that Publisher calls; *eventbridge.Client implements it.
type Client interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ Client = (*eventbridge.Client)(nil)

const (
	// MaxEntries is the most entries EventBridge takes in one PutEvents call.
	MaxEntries = 10
	// DefaultMaxSize is the largest total entry size of one PutEvents call, in bytes, unless
	// WithMaxSize says otherwise: 256 KiB, the long-standing limit. AWS raised it to 1 MiB in 2026; a
	// deployment that has the new limit passes WithMaxSize(1 << 20).
	DefaultMaxSize = 256 << 10
)

// Publisher is a pipeline.Publisher that puts events on one EventBridge bus. It is safe for concurrent use.
type Publisher struct {
	client   Client
	bus      string
	maxSize  int
	attempts int
	backoff  time.Duration
}

var _ pipeline.Publisher = (*Publisher)(nil)

// Option configures a Publisher.
type Option func(*Publisher)

// WithMaxSize sets the size limit of one PutEvents call, and so of one event (default DefaultMaxSize),
// computed as EntrySize computes it.
func WithMaxSize(bytes int) Option { return func(p *Publisher) { p.maxSize = bytes } }

// WithRetries sets how many times the entries EventBridge failed are resent (default 3; 0 sends each
// entry once), waiting backoff before the first resend and twice as long before each next one (default
// 100ms).
func WithRetries(retries int, backoff time.Duration) Option {
	return func(p *Publisher) { p.attempts, p.backoff = max(retries, 0)+1, backoff }
}

// New returns a Publisher that puts events on the bus named bus (a name or an ARN) through client.
func New(client Client, bus string, opts ...Option) *Publisher {
	p := &Publisher{client: client, bus: bus, maxSize: DefaultMaxSize, attempts: 4, backoff: 100 * time.Millisecond}
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// Entry maps an event to the PutEvents entry for the bus: source, detail type, detail, resources and
// time. The envelope's id, account and region are EventBridge's to stamp.
func Entry(e contracts.Event, bus string) types.PutEventsRequestEntry {
	entry := types.PutEventsRequestEntry{
		EventBusName: aws.String(bus),
		Source:       aws.String(e.Source),
		DetailType:   aws.String(e.DetailType),
		Detail:       aws.String(string(e.Detail)),
		Resources:    e.Resources,
	}
	if !e.Time.IsZero() {
		entry.Time = aws.Time(e.Time)
	}
	return entry
}

// EntrySize is the size EventBridge counts against its limit for an entry, as AWS documents it
// ("Calculating PutEvents event entry size"): 14 bytes for a time, plus the UTF-8 bytes of the source,
// the detail type, the detail and each resource.
func EntrySize(entry types.PutEventsRequestEntry) int {
	size := len(aws.ToString(entry.Source)) + len(aws.ToString(entry.DetailType)) + len(aws.ToString(entry.Detail))
	if entry.Time != nil {
		size += 14
	}
	for _, r := range entry.Resources {
		size += len(r)
	}
	return size
}

// pending is an event on its way to the bus.
type pending struct {
	event contracts.Event
	entry types.PutEventsRequestEntry
	size  int
	// code and message are EventBridge's last word on a failed entry.
	code, message string
}

// Publish puts events on the bus in as few PutEvents calls as the limits allow: at most MaxEntries
// entries and the size limit per call. A call can succeed while some of its entries fail: those (lined up
// with the request by index) are resent, alone and in order, with backoff, up to the configured number
// of times; entries that EventBridge refuses as malformed are not resent. Events already published are
// not sent again by a later failure.
//
// An event larger than the size limit is a fault.Invalid error, and then nothing is sent. Entries still
// failing after the retries give an error naming each of them: fault.Unavailable, or fault.Invalid when
// every one was refused as malformed. A failing call is classified by awsfault.
func (p *Publisher) Publish(ctx context.Context, events ...contracts.Event) error {
	all := make([]*pending, len(events))
	for i, e := range events {
		entry := Entry(e, p.bus)
		all[i] = &pending{event: e, entry: entry, size: EntrySize(entry)}
		if all[i].size > p.maxSize {
			return fault.Invalidf("event %s (%s of order %s) is %d bytes, over the PutEvents limit of %d: nothing was published",
				e.ID, e.DetailType, pipeline.EventOrderID(e), all[i].size, p.maxSize)
		}
	}
	var failed []*pending
	for len(all) > 0 {
		batch := p.nextBatch(all)
		all = all[len(batch):]
		f, err := p.putBatch(ctx, batch)
		if err != nil {
			return fmt.Errorf("publish to bus %s: a failed call left %d of %d events unpublished: %w", p.bus, len(failed)+len(batch)+len(all), len(events), err)
		}
		failed = append(failed, f...)
	}
	if len(failed) == 0 {
		return nil
	}
	kind := fault.Invalid
	names := make([]string, len(failed))
	for i, f := range failed {
		if awsfault.EntryKind(f.code, false) != fault.Invalid {
			kind = fault.Unavailable
		}
		names[i] = fmt.Sprintf("event %s (%s of order %s: %s: %s)", f.event.ID, f.event.DetailType, pipeline.EventOrderID(f.event), f.code, f.message)
	}
	return fault.Wrap(kind, fmt.Errorf("%d events not published: %s", len(failed), strings.Join(names, ", ")), "publish to bus "+p.bus)
}

// nextBatch returns the longest prefix of events that fits one call.
func (p *Publisher) nextBatch(events []*pending) []*pending {
	n, size := 0, 0
	for n < len(events) && n < MaxEntries && size+events[n].size <= p.maxSize {
		size += events[n].size
		n++
	}
	return events[:n]
}

// putBatch sends one call's worth of entries, resending failed ones, and returns those never published.
func (p *Publisher) putBatch(ctx context.Context, batch []*pending) ([]*pending, error) {
	var given []*pending // refused as malformed: not resent
	delay := p.backoff
	for attempt := 1; len(batch) > 0 && attempt <= p.attempts; attempt++ {
		if attempt > 1 {
			if awsfault.Wait(ctx, delay) != nil {
				break
			}
			delay *= 2
		}
		in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(batch))}
		for i, pe := range batch {
			in.Entries[i] = pe.entry
		}
		out, err := p.client.PutEvents(ctx, in)
		if err != nil {
			return nil, awsfault.Wrap(err, "put %d events", len(batch))
		}
		var retry []*pending
		for i, pe := range batch {
			if len(out.Entries) != len(batch) {
				// The entries cannot be lined up with the request: treat every one as failed. Consumers
				// deduplicate the copies that did get through by their event id.
				pe.code, pe.message = "NoResult", fmt.Sprintf("PutEvents answered %d entries for %d", len(out.Entries), len(batch))
				retry = append(retry, pe)
				continue
			}
			res := out.Entries[i]
			if res.ErrorCode == nil || *res.ErrorCode == "" {
				continue
			}
			pe.code, pe.message = aws.ToString(res.ErrorCode), aws.ToString(res.ErrorMessage)
			if awsfault.EntryKind(pe.code, false) == fault.Invalid {
				given = append(given, pe)
				continue
			}
			retry = append(retry, pe)
		}
		batch = retry // in the caller's order
	}
	return append(given, batch...), nil
}
