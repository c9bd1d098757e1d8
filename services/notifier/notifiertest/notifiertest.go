// Package notifiertest is the contract test suite of notifier.Deduper. Every deduper runs it, so that
// the notifier can rely on a redelivered event being recognised per consumer.
package notifiertest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/orderflow/orderflow/services/notifier"
)

// Run runs the suite. open must return an empty deduper of its own, cleaned up when the test ends.
func Run(t *testing.T, open func(t *testing.T) notifier.Deduper) {
	seen := func(t *testing.T, d notifier.Deduper, consumer, eventID string) bool {
		t.Helper()
		ok, err := d.Seen(t.Context(), consumer, eventID)
		if err != nil {
			t.Fatalf("Seen(%s, %s): %v", consumer, eventID, err)
		}
		return ok
	}
	mark := func(t *testing.T, d notifier.Deduper, consumer, eventID string) {
		t.Helper()
		if err := d.MarkSeen(t.Context(), consumer, eventID); err != nil {
			t.Fatalf("MarkSeen(%s, %s): %v", consumer, eventID, err)
		}
	}
	tests := []struct {
		name     string
		marks    [][2]string // consumer, event id
		consumer string
		eventID  string
		want     bool
	}{
		{name: "an event never marked is not seen", consumer: "sms", eventID: "e1", want: false},
		{name: "a marked event is seen", marks: [][2]string{{"sms", "e1"}}, consumer: "sms", eventID: "e1", want: true},
		{name: "marking twice is harmless", marks: [][2]string{{"sms", "e1"}, {"sms", "e1"}}, consumer: "sms", eventID: "e1", want: true},
		{name: "another consumer has not seen it", marks: [][2]string{{"sms", "e1"}}, consumer: "webhook", eventID: "e1", want: false},
		{name: "another event of the same consumer is not seen", marks: [][2]string{{"sms", "e1"}}, consumer: "sms", eventID: "e2", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := open(t)
			for _, m := range tt.marks {
				mark(t, d, m[0], m[1])
			}
			if got := seen(t, d, tt.consumer, tt.eventID); got != tt.want {
				t.Errorf("Seen(%s, %s) = %v, want %v", tt.consumer, tt.eventID, got, tt.want)
			}
		})
	}
	t.Run("concurrent marks are all remembered", func(t *testing.T) {
		t.Parallel()
		d := open(t)
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				if err := d.MarkSeen(t.Context(), "sms", fmt.Sprintf("e%d", i%20)); err != nil {
					t.Errorf("MarkSeen: %v", err)
				}
			})
		}
		wg.Wait()
		for i := range 20 {
			if !seen(t, d, "sms", fmt.Sprintf("e%d", i)) {
				t.Errorf("e%d not seen", i)
			}
		}
	})
}
