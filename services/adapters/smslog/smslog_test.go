package smslog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/smslog"
	"github.com/orderflow/orderflow/services/notifier"
	"github.com/orderflow/orderflow/services/pipeline"
)

var sentAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// lines reads the file's lines.
func lines(t *testing.T, path string) []smslog.Line {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []smslog.Line
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l smslog.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func open(t *testing.T, opts smslog.Options) (*smslog.Sink, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notifications.jsonl")
	opts.Now = func() time.Time { return sentAt }
	s, err := smslog.Open(path, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestSentTextsAreWrittenAndRecorded(t *testing.T) {
	t.Parallel()
	var recorded []contracts.Text
	s, path := open(t, smslog.Options{Record: func(_ context.Context, t contracts.Text) error {
		recorded = append(recorded, t)
		return nil
	}})
	m := notifier.SMS{ID: "ev-1", OrderID: "o1", To: "+31629408162", Text: "🛒 Order Created!"}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	want := []contracts.Text{{ID: "ev-1", OrderID: "o1", To: "+31629408162", Text: "🛒 Order Created!", SentAt: sentAt}}
	if diff := cmp.Diff(want, recorded); diff != "" {
		t.Errorf("recorded (-want +got):\n%s", diff)
	}
	wantLines := []smslog.Line{{ID: "ev-1", To: "+31629408162", Text: "🛒 Order Created!", SentAt: sentAt}}
	if diff := cmp.Diff(wantLines, lines(t, path)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}

func TestAFailedRecordFailsTheSend(t *testing.T) {
	t.Parallel()
	down := errors.New("store unavailable")
	s, path := open(t, smslog.Options{Record: func(context.Context, contracts.Text) error { return down }})
	err := s.Send(context.Background(), notifier.SMS{ID: "ev-1", OrderID: "o1", Text: "hi"})
	if !errors.Is(err, down) {
		t.Fatalf("Send = %v, want the recorder's error", err)
	}
	// The text went out (to the file) before it could be recorded: the retry sends it again.
	if got := len(lines(t, path)); got != 1 {
		t.Errorf("file has %d lines, want 1", got)
	}
}

func TestWithoutARecorderTextsGoToTheFileOnly(t *testing.T) {
	t.Parallel()
	s, path := open(t, smslog.Options{})
	for _, id := range []string{"ev-1", "ev-2"} {
		if err := s.Send(context.Background(), notifier.SMS{ID: id, OrderID: "o1", Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(lines(t, path)); got != 2 {
		t.Errorf("file has %d lines, want 2", got)
	}
}

// memoryRecorder records texts by order and id, as the store does.
type memoryRecorder map[[2]string]contracts.Text

func (m memoryRecorder) record(_ context.Context, t contracts.Text) error {
	if _, ok := m[[2]string{t.OrderID, t.ID}]; !ok {
		m[[2]string{t.OrderID, t.ID}] = t
	}
	return nil
}

func (m memoryRecorder) recorded(_ context.Context, orderID, id string) (bool, error) {
	_, ok := m[[2]string{orderID, id}]
	return ok, nil
}

func TestAMessageWhoseIDIsRecordedIsSentOnce(t *testing.T) {
	t.Parallel()
	rec := memoryRecorder{}
	s, path := open(t, smslog.Options{Record: rec.record, Recorded: rec.recorded})
	for _, id := range []string{"ev-1", "ev-1", "ev-2", "ev-1"} {
		if err := s.Send(context.Background(), notifier.SMS{ID: id, OrderID: "o1", To: "+31629408162", Text: "hi " + id}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, l := range lines(t, path) {
		ids = append(ids, l.ID)
	}
	if diff := cmp.Diff([]string{"ev-1", "ev-2"}, ids); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	if len(rec) != 2 {
		t.Errorf("recorded %d texts, want 2", len(rec))
	}
}

func TestAFailedLookupSendsNothing(t *testing.T) {
	t.Parallel()
	down := errors.New("store unavailable")
	rec := memoryRecorder{}
	s, path := open(t, smslog.Options{Record: rec.record, Recorded: func(context.Context, string, string) (bool, error) { return false, down }})
	err := s.Send(context.Background(), notifier.SMS{ID: "ev-1", OrderID: "o1", Text: "hi"})
	if !errors.Is(err, down) {
		t.Fatalf("Send = %v, want the lookup's error", err)
	}
	if got := len(lines(t, path)); got != 0 || len(rec) != 0 {
		t.Errorf("file has %d lines and %d texts are recorded, want none: the retry sends it", got, len(rec))
	}
}

func TestTwoSendsOfOneMessageAtOnceSendItOnce(t *testing.T) {
	t.Parallel()
	rec := memoryRecorder{}
	var mu sync.Mutex
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	record := func(ctx context.Context, text contracts.Text) error {
		once.Do(func() { close(entered) }) // the first Send is between writing the file and recording
		<-release
		mu.Lock()
		defer mu.Unlock()
		return rec.record(ctx, text)
	}
	recorded := func(ctx context.Context, orderID, id string) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return rec.recorded(ctx, orderID, id)
	}
	s, path := open(t, smslog.Options{Record: record, Recorded: recorded})
	m := notifier.SMS{ID: "ev-1", OrderID: "o1", To: "+31629408162", Text: "hi"}
	first := make(chan error, 1)
	go func() { first <- s.Send(context.Background(), m) }()
	<-entered
	second := make(chan error, 1)
	go func() { second <- s.Send(context.Background(), m) }()
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("second Send: %v", err)
		}
	case <-time.After(time.Second):
		// It is waiting to record: it wrote the text to the file again.
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first Send: %v", err)
	}
	if len(second) == 1 {
		if err := <-second; err != nil {
			t.Fatalf("second Send: %v", err)
		}
	}
	if got := len(lines(t, path)); got != 1 {
		t.Errorf("file has %d lines, want 1", got)
	}
}

// On an event's first delivery the sink does not look its text up (nothing can have sent it yet); on any
// other delivery it does.
func TestAFirstDeliveryIsNotLookedUp(t *testing.T) {
	t.Parallel()
	rec := memoryRecorder{}
	lookups := 0
	s, path := open(t, smslog.Options{Record: rec.record, Recorded: func(ctx context.Context, orderID, id string) (bool, error) {
		lookups++
		return rec.recorded(ctx, orderID, id)
	}})
	first := pipeline.WithFirstDelivery(context.Background())
	if err := s.Send(first, notifier.SMS{ID: "ev-1", OrderID: "o1", To: "+31629408162", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if lookups != 0 {
		t.Errorf("%d lookups on a first delivery, want none", lookups)
	}
	// A redelivery of the same event is looked up, and finds the text sent.
	if err := s.Send(context.Background(), notifier.SMS{ID: "ev-1", OrderID: "o1", To: "+31629408162", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if lookups != 1 {
		t.Errorf("%d lookups on a redelivery, want 1", lookups)
	}
	if got := len(lines(t, path)); got != 1 || len(rec) != 1 {
		t.Errorf("file has %d lines and %d texts are recorded, want 1 each", got, len(rec))
	}
}
