// Package smslog is the local stand-in for an SMS provider: it writes every text message to the log and
// appends it, as one JSON line, to a file (notifications.jsonl in the data directory), and hands it to
// an optional recorder (the store, so that the texts of an order can be looked up).
package smslog

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/notifier"
)

// Sink writes messages to a JSON-lines file and a logger.
type Sink struct {
	mu     sync.Mutex
	f      *os.File
	log    *slog.Logger
	record func(context.Context, contracts.Text) error
	now    func() time.Time
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
	return &Sink{f: f, log: log, record: opts.Record, now: now}, nil
}

// Send implements notifier.Sender. It returns an error when the text cannot be written to the file or
// recorded.
func (s *Sink) Send(ctx context.Context, m notifier.SMS) error {
	sentAt := s.now().UTC()
	b, err := json.Marshal(Line{ID: m.ID, To: m.To, Text: m.Text, SentAt: sentAt})
	if err != nil {
		return fmt.Errorf("encode sms %s: %w", m.ID, err)
	}
	if err := s.write(m.ID, b); err != nil {
		return err
	}
	s.log.Info("sms sent", "to", m.To, "id", m.ID, "order", m.OrderID, "text", m.Text)
	if s.record != nil {
		// Outside the file's lock: the recorder is a durable write, and other texts need not wait for it.
		t := contracts.Text{ID: m.ID, OrderID: m.OrderID, To: m.To, Text: m.Text, SentAt: sentAt}
		if err := s.record(ctx, t); err != nil {
			return fmt.Errorf("record sms %s: %w", m.ID, err)
		}
	}
	return nil
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
