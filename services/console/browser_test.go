package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderflow/orderflow/services/adapters/webhook"
	"github.com/orderflow/orderflow/services/app/local"
)

// docScreenshots are the pages whose first screen UPDATE_SCREENSHOTS=1 copies into docs/console for the
// README (the full-page screenshots are too tall to show there).
var docScreenshots = []string{
	"live", "live-phone", "orders", "order", "order-phone", "order-cancelled", "dead-letters",
	"inventory-conflict", "chatbot", "events",
}

// TestConsoleInABrowser drives the console in Chromium (playwright-core, web/e2e/console.mjs) against
// the real single-machine runtime: sign-in, live counts from the stream, order search, an order's
// timeline, events and texts, a cancellation, dead letters made by a failing webhook endpoint and
// redriven once it is healed, an inventory edit and its 412 from a stale page, a new product, the
// chatbot and the event registry. It needs chromium (Debian package), node and the npm packages of web/
// (make console-deps); without them it fails and says what to install.
//
// With UPDATE_SCREENSHOTS=1 the main screenshots are also written to docs/console.
func TestConsoleInABrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the console's browser test needs Chromium: apt-get install chromium (%v)", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the console's browser test needs Node.js: apt-get install nodejs npm (%v)", err)
	}
	if _, err := os.Stat(filepath.Join("web", "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("the console's browser test needs its npm packages: make console-deps (npm ci --prefix services/console/web): %v", err)
	}

	// The subscriber's endpoint is down (503) until it is told to heal, so that its deliveries
	// dead-letter and a redrive afterwards succeeds.
	var healed atomic.Bool
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch {
		case r.URL.Path == "/heal" && r.Method == http.MethodPost:
			healed.Store(true)
		case healed.Load():
		default:
			http.Error(w, "analytics is down for maintenance", http.StatusServiceUnavailable)
		}
	}))
	defer hook.Close()

	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := local.Start(ctx, local.Config{
		Addr:         "127.0.0.1:0",
		DataDir:      t.TempDir(),
		MaxAttempts:  2,
		RetryBackoff: 50 * time.Millisecond,
		Subscriptions: []webhook.Subscription{{
			Name:         "analytics",
			EventPattern: json.RawMessage(`{"source":["orderflow.fulfillment"],"detail-type":["OrderCompleted"]}`),
			Endpoint:     hook.URL + "/events",
		}},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := l.Shutdown(sctx); err != nil {
			t.Error(err)
		}
	}()

	shots := t.TempDir()
	cmd := exec.CommandContext(ctx, node, filepath.Join("web", "e2e", "console.mjs"))
	cmd.Env = append(os.Environ(),
		"BASE_URL="+l.URL, "ADMIN_KEY="+l.AdminKey, "CLIENT_KEY="+l.ClientKey, "HOOK_URL="+hook.URL,
		"CHROMIUM="+chromium, "SCREENSHOT_DIR="+shots)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("browser test failed (%v) after %s:\n%s\nserver log (warnings and errors):\n%s", err, time.Since(start).Round(time.Millisecond), out, logs.String())
	}
	t.Logf("browser test passed in %s:\n%s", time.Since(start).Round(time.Millisecond), out)

	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		docs := filepath.Join("..", "..", "docs", "console")
		if err := os.MkdirAll(docs, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range docScreenshots {
			b, err := os.ReadFile(filepath.Join(shots, name+".screen.png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(docs, name+".png"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
