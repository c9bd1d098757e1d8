// Package notifier texts customers (or the operations number) when an order is created, completed or
// failed, in the SMS format the shop's customers know.
//
// Texts are sent at least once: a redelivered event whose text was recorded as sent sends nothing, but
// a crash (or a failed write) between sending a text and recording it sends that one text again on
// redelivery. Recording first would make texts at-most-once instead, so that a crash could lose one
// silently; every message carries the event id (SMS.ID) for providers that deduplicate.
package notifier

import "context"

// SMS is one text message.
type SMS struct {
	// ID is unique per message (derived from the event id), so a provider can deduplicate.
	ID string
	// OrderID is the order the text is about, so that the texts of an order can be looked up.
	OrderID string
	To      string
	Text    string
}

// Sender delivers text messages (SNS on AWS, a log and file sink locally).
type Sender interface {
	Send(ctx context.Context, m SMS) error
}

// Deduper remembers which events a consumer has handled, so that a redelivered event notifies nothing twice.
type Deduper interface {
	// Seen reports whether MarkSeen was called for consumer and eventID.
	Seen(ctx context.Context, consumer, eventID string) (bool, error)
	// MarkSeen records that consumer handled eventID.
	MarkSeen(ctx context.Context, consumer, eventID string) error
}

// Claimer is a Deduper that can claim an event before acting on it, so that two deliveries of one
// event handled at the same moment (two Lambda instances, say) text once. A Deduper without it is
// checked with Seen, which is enough where deliveries of one event never overlap (the local bus).
type Claimer interface {
	// Claim records that consumer is handling eventID, atomically: false when the event was handled
	// already or another delivery holds an unexpired claim on it.
	Claim(ctx context.Context, consumer, eventID string) (bool, error)
	// Unclaim drops the claim after the handling failed, so that the redelivery acts.
	Unclaim(ctx context.Context, consumer, eventID string) error
}
