package paysim

import (
	"context"
	"sync"
)

// MemoryLedger keeps records in memory. It is for tests and for tools that need no durability; the local
// runtime uses the embedded database's ledger.
type MemoryLedger struct {
	mu      sync.Mutex
	records map[string]Record
}

var _ Ledger = (*MemoryLedger)(nil)

// NewMemoryLedger returns an empty ledger.
func NewMemoryLedger() *MemoryLedger { return &MemoryLedger{records: map[string]Record{}} }

// Apply implements Ledger.
func (l *MemoryLedger) Apply(_ context.Context, orderID string, fn func(r *Record) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	rec, ok := l.records[orderID]
	if !ok {
		rec = Record{OrderID: orderID}
	}
	if err := fn(&rec); err != nil {
		return err
	}
	l.records[orderID] = rec
	return nil
}
