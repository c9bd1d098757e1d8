// Package smslog is the local stand-in for an SMS provider: it writes every text message to the log and
// appends it, as one JSON line, to a file (notifications.jsonl in the data directory), and hands it to
// an optional recorder (the store, so that the texts of an order can be looked up). With a recorder that
// can be asked what it holds, the sink sends each message id once: the record is the proof of sending,
// and the notifier needs no deduplication of its own.
package smslog

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/notifier"
	"github.com/orderflow/orderflow/services/pipeline"
)

// Sink writes messages to a JSON-lines file and a logger.
type Sink struct {
	mu       sync.Mutex          // guards the file and sending
	sending  map[string]struct{} // ids of the messages being sent (with Recorded)
	f        *os.File
	log      *slog.Logger
	record   func(context.Context, contracts.Text) error
	recorded func(context.Context, string, string) (bool, error)
	now      func() time.Time
}

var _ notifier.Sender = (*Sink)(nil)

// Line is one line of the file.
type Line struct {
	ID     string    `json:"id"`
	To     string    `json:"to"`
	Text   string    `json:"text"`
	SentAt time.Time `json:"sentAt"`
}

// Options tune a Sink. The zero value writes the file and the log only.
type Options struct {
	// Record, when set, is given every text after it is written to the file; the local runtime passes
	// the store's RecordText. When it fails, Send fails, so that the notifier retries: the text is then
	// written to the file again, as at-least-once delivery allows (see package notifier), and the
	// recorder must keep one copy of a text recorded twice with the same id.
	Record func(ctx context.Context, t contracts.Text) error
	// Recorded, when set with Record, reports whether Record holds the text with this id about the order. Send then
	// sends nothing for a message whose id is recorded, so that a redelivered event is texted once; it
	// does not ask on an event's first delivery (pipeline.FirstDelivery), as a message id is derived from
	// its event's, and the notifier sends one message per event. A crash between writing a text and recording it still sends that text again, as a
	// notifier recording its events after sending does (see package notifier).
	Recorded func(ctx context.Context, orderID, id string) (bool, error)
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Open appends to the file at path, creating it if needed. It returns an error when the file cannot be
// opened.
func Open(path string, log *slog.Logger, opts Options) (*Sink, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open sms log: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Sink{f: f, log: log, record: opts.Record, now: now, sending: map[string]struct{}{}}
	if opts.Record != nil {
		s.recorded = opts.Recorded
	}
	return s, nil
}

// Send implements notifier.Sender. It returns an error when the text cannot be written to the file or
// recorded, or when Options.Recorded fails. A message whose id is recorded already sends nothing, nor
// does one whose id another Send is sending at the same moment (that one is retried if it fails).
func (s *Sink) Send(ctx context.Context, m notifier.SMS) error {
	if s.recorded != nil {
		if !s.claim(m.ID) {
			return nil
		}
		defer s.release(m.ID)
		// On an event's first delivery nothing can have texted it yet.
		if !pipeline.FirstDelivery(ctx) {
			done, err := s.recorded(ctx, m.OrderID, m.ID)
			if err != nil {
				return fmt.Errorf("look up sms %s: %w", m.ID, err)
			}
			if done {
				return nil
			}
		}
	}
	sentAt := s.now().UTC()
	b, err := gojson.Marshal(Line{ID: m.ID, To: m.To, Text: m.Text, SentAt: sentAt})
	if err != nil {
		return fmt.Errorf("encode sms %s: %w", m.ID, err)
	}
	if err := s.write(m.ID, b); err != nil {
		return err
	}
	if s.log.Enabled(ctx, slog.LevelInfo) { // the arguments cost allocations even when nothing is logged
		s.log.InfoContext(ctx, "sms sent", "to", m.To, "id", m.ID, "order", m.OrderID, "text", m.Text)
	}
	if s.record != nil {
		// Outside the file's lock: the recorder is a durable write, and other texts need not wait for it.
		t := contracts.Text{ID: m.ID, OrderID: m.OrderID, To: m.To, Text: m.Text, SentAt: sentAt}
		if err := s.record(ctx, t); err != nil {
			return fmt.Errorf("record sms %s: %w", m.ID, err)
		}
	}
	return nil
}

// claim marks id as being sent, unless it is already.
func (s *Sink) claim(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.sending[id]; busy {
		return false
	}
	s.sending[id] = struct{}{}
	return true
}

func (s *Sink) release(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sending, id)
}

func (s *Sink) write(id string, line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write sms %s: %w", id, err)
	}
	return nil
}

// Close closes the file.
func (s *Sink) Close() error { return s.f.Close() }
