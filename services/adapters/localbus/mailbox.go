package localbus

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/contracts"
)

// Message is one delivery to one target: a message waiting in the mailbox (an order on the ingest queue
// for the dispatcher, an event whose delivery failed and waits for its retry, a redriven dead letter), or
// an event read from the log, which has no ID.
type Message struct {
	// ID is the mailbox row; 0 for an event delivered from the log.
	ID       int64
	Target   string
	Body     []byte
	Attempts int
	// LastError is the error of the last failed attempt.
	LastError string
	// Seq is the event's position in the log when the message was read from it (ID is then 0).
	Seq int64
}

// Entry is one event of the log: its position, its body and the targets the router names for it (none
// is allowed: the position still counts).
type Entry struct {
	Seq     int64
	Body    []byte
	Targets []string
	// Event is the event Body encodes, when the entry is handed over in process right after the commit
	// that stored its event id for the first time (the log never holds an id twice): its deliveries then
	// read it instead of decoding Body, and are first deliveries (pipeline.WithFirstDelivery). Nil for
	// entries read back from the log.
	Event *contracts.Event
}

// Cursor is how far a target has read the log: every event up to and including Seq has been handled
// for it (delivered, or handed to the mailbox for a retry).
type Cursor struct {
	Target string
	Seq    int64
}

// DeadLetter is a message that kept failing, with the error that made it give up.
type DeadLetter struct {
	ID       int64
	Target   string
	Body     []byte
	Attempts int
	Error    string
	FailedAt time.Time
}

// Mailbox is the durable store of deliveries: the log of published events with one cursor per target,
// and the messages waiting for delivery (the ingest queue and the events whose delivery failed), each a
// table in the embedded database. Only failures leave the log: a successful delivery just moves its
// target's cursor.
type Mailbox interface {
	// Log returns up to limit events published after position after, in log order, each with the
	// targets the router names for it.
	Log(ctx context.Context, after int64, limit int) ([]Entry, error)
	// Cursors returns the cursor of each of targets, first giving a target that has none a cursor at the
	// end of the log as it was when the store was opened, durably; events published since then are
	// therefore delivered to it. The cursors of targets not listed are forgotten.
	Cursors(ctx context.Context, targets []string) (map[string]int64, error)
	// Advance moves cursors forward (never back). It may return before the move is durable: a crash
	// before then redelivers the events since the durable cursor, which at-least-once delivery allows.
	Advance(ctx context.Context, cursors ...Cursor) error
	// Defer puts the failed delivery of the log's event seq to target into the mailbox, with its attempts,
	// error and when to try again, returning the new message's id. It is durable when it returns, so
	// the target's cursor may then move past seq.
	Defer(ctx context.Context, target string, seq int64, attempts int, next time.Time, lastError string) (int64, error)

	// Due returns up to limit messages whose next attempt is due at now, oldest first, skipping ids in
	// skip (messages already being delivered).
	Due(ctx context.Context, now time.Time, limit int, skip map[int64]bool) ([]Message, error)
	// Ack deletes delivered messages. It may return before the deletion is durable: a crash before then
	// redelivers, which at-least-once delivery allows.
	Ack(ctx context.Context, ids ...int64) error
	// Retry records a failed attempt and when to try again.
	Retry(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error
	// Bury moves the message to the dead-letter table with its error; a message read from the log (ID 0)
	// is only added there.
	Bury(ctx context.Context, m Message, lastError string) error
	// DeadLetters lists up to limit dead letters, oldest first.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	// Redrive moves the given dead letters (all of them when ids is empty) back for delivery with no
	// attempts counted, each once however often its id is given, returning how many moved.
	Redrive(ctx context.Context, ids ...int64) (int, error)
	// CountDeadLetters returns the dead-letter table's size.
	CountDeadLetters(ctx context.Context) (int, error)
}
