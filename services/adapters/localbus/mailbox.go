package localbus

import (
	"context"
	"time"
)

// Message is one delivery waiting for one target: an event on the bus for one of the routes it matched,
// or a message on the ingest queue for the dispatcher.
type Message struct {
	ID       int64
	Target   string
	Body     []byte
	Attempts int
	// LastError is the error of the last failed attempt.
	LastError string
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

// Mailbox is the durable store of messages waiting for delivery (a table in the embedded database).
type Mailbox interface {
	// Due returns up to limit messages whose next attempt is due at now, oldest first, skipping ids in
	// skip (messages already being delivered).
	Due(ctx context.Context, now time.Time, limit int, skip map[int64]bool) ([]Message, error)
	// Ack deletes delivered messages. It may return before the deletion is durable: a crash before then
	// redelivers, which at-least-once delivery allows.
	Ack(ctx context.Context, ids ...int64) error
	// Retry records a failed attempt and when to try again.
	Retry(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error
	// Bury moves the message to the dead-letter table with its error.
	Bury(ctx context.Context, m Message, lastError string) error
	// DeadLetters lists up to limit dead letters, oldest first.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	// Redrive moves the given dead letters (all of them when ids is empty) back for delivery with no
	// attempts counted, returning how many moved.
	Redrive(ctx context.Context, ids ...int64) (int, error)
	// CountDeadLetters returns the dead-letter table's size.
	CountDeadLetters(ctx context.Context) (int, error)
}
