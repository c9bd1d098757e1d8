// Package smslog is the local stand-in for an SMS provider: it writes every text message to the log and
// appends it, as one JSON line, to a file (notifications.jsonl in the data directory).
package smslog

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/orderflow/orderflow/services/notifier"
)

// Sink writes messages to a JSON-lines file and a logger.
type Sink struct {
	mu  sync.Mutex
	f   *os.File
	log *slog.Logger
}

var _ notifier.Sender = (*Sink)(nil)

// Line is one line of the file.
type Line struct {
	ID     string    `json:"id"`
	To     string    `json:"to"`
	Text   string    `json:"text"`
	SentAt time.Time `json:"sentAt"`
}

// Open appends to the file at path, creating it if needed.
func Open(path string, log *slog.Logger) (*Sink, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open sms log: %w", err)
	}
	return &Sink{f: f, log: log}, nil
}

// Send implements notifier.Sender.
func (s *Sink) Send(_ context.Context, m notifier.SMS) error {
	b, err := json.Marshal(Line{ID: m.ID, To: m.To, Text: m.Text, SentAt: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("encode sms %s: %w", m.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write sms %s: %w", m.ID, err)
	}
	s.log.Info("sms sent", "to", m.To, "id", m.ID, "text", m.Text)
	return nil
}

// Close closes the file.
func (s *Sink) Close() error { return s.f.Close() }
