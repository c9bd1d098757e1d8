package local

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestAFailingPartIsReportedAndReturnedByShutdown(t *testing.T) {
	t.Parallel()
	l, err := Start(context.Background(), Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Failed():
		t.Fatal("Failed is closed before anything failed")
	default:
	}
	l.fail(errors.New("engine exploded"))
	select {
	case <-l.Failed():
	case <-time.After(time.Second):
		t.Fatal("Failed not closed after a part failed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Shutdown(ctx); err == nil || !strings.Contains(err.Error(), "engine exploded") {
		t.Errorf("Shutdown = %v, want the failure", err)
	}
}

func TestGeneratedKeysAreKeptAcrossRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := func() (string, string) {
		l, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Shutdown(context.Background())
		return l.ClientKey, l.AdminKey
	}
	c1, a1 := start()
	c2, a2 := start()
	if c1 == "" || a1 == "" || c1 != c2 || a1 != a2 {
		t.Errorf("keys %q/%q then %q/%q: want the generated keys kept", c1, a1, c2, a2)
	}
}

func TestOneServerPerDataDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	first, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: quiet}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second server on the same data dir: %v, want refused as in use", err)
	}
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: quiet})
	if err != nil {
		t.Fatalf("restart after shutdown: %v", err)
	}
	again.Shutdown(context.Background())
}
