// Package local is the single-machine runtime of orderflow: one process serving the REST API and running
// every service in-process over the embedded store, the durable local bus and the local sinks.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/carriersim"
	"github.com/orderflow/orderflow/services/adapters/localbus"
	"github.com/orderflow/orderflow/services/adapters/paysim"
	"github.com/orderflow/orderflow/services/adapters/smslog"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/adapters/webhook"
	"github.com/orderflow/orderflow/services/app"
	"github.com/orderflow/orderflow/services/console"
	"github.com/orderflow/orderflow/services/live"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/routing"
)

// Config configures the single-machine runtime.
type Config struct {
	// Addr is the listen address, e.g. 127.0.0.1:8080 (port 0 picks a free port).
	Addr string
	// DataDir holds the database, the generated API keys and notifications.jsonl.
	DataDir string
	// APIKeys and AdminKeys are the accepted keys. With none configured, a client key and an admin key
	// are generated on first start and kept in the data directory.
	APIKeys, AdminKeys []string
	// RateLimit (requests per second per key) and RateBurst.
	RateLimit float64
	RateBurst int
	// MaxAttempts is how many deliveries a message gets before it is dead-lettered.
	MaxAttempts int
	// RetryBackoff is the wait after a first failed delivery; it doubles per attempt.
	RetryBackoff time.Duration
	// IdempotencyRetention is how long an Idempotency-Key is honoured, and ProcessedRetention how long a
	// consumer remembers an event it handled (zero: sqlite.DefaultIdempotencyRetention and
	// sqlite.DefaultProcessedRetention); expired ones are pruned in the background.
	IdempotencyRetention, ProcessedRetention time.Duration
	// Subscriptions are other teams' webhooks.
	Subscriptions []webhook.Subscription
	// Model is the chatbot's model (nil: the offline responder).
	Model agent.Model
	// App is the rest of the application's configuration.
	App app.Config
	// Logger (default slog.Default()).
	Logger *slog.Logger

	// fsync replaces the store's fsync of its WAL in tests (sqlite.Options.Fsync).
	fsync func(*os.File) error
}

// Local is a running single-machine orderflow.
type Local struct {
	// URL is where the API is served, e.g. http://127.0.0.1:8080.
	URL string
	// ClientKey and AdminKey are keys that work (the first configured or generated ones).
	ClientKey, AdminKey string
	// App is the wired application.
	App *app.App
	// DB is the embedded store.
	DB *sqlite.DB
	// Deliveries is the log of the webhook subscriptions' delivery attempts since the start.
	Deliveries *webhook.Log

	srv     *http.Server
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	errOnce sync.Once
	err     error
	failed  chan struct{}
	sms     *smslog.Sink
	tap     *eventTap
	tapStop chan struct{}
	unlock  func() error
}

// DatabaseFile is the name of the database in the data directory.
const DatabaseFile = "orderflow.db"

// Start opens the data directory, builds the application and starts serving. It returns once the
// listener is bound. Stop it with Shutdown.
func Start(ctx context.Context, cfg Config) (*Local, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			_ = unlock()
		}
	}()
	clientKey, adminKey, err := ensureKeys(&cfg)
	if err != nil {
		return nil, err
	}
	// Other teams' webhook subscriptions are routes like any other: same patterns, same log and cursors.
	router, err := routing.NewRouter(append(append([]routing.Route(nil), routing.Table...), webhook.Routes(cfg.Subscriptions)...))
	if err != nil {
		return nil, err
	}
	// The engine needs the store and the store's after-commit hook needs the engine: messages and events
	// committed before the engine exists are simply found by its first mailbox scan and log read.
	var engineRef atomic.Pointer[localbus.Engine]
	durableTargets := func(e contracts.Event) []string {
		var out []string
		for _, t := range router.Targets(e) {
			if !memoryTargets[t] {
				out = append(out, t)
			}
		}
		return out
	}
	db, err := sqlite.Open(filepath.Join(cfg.DataDir, DatabaseFile), sqlite.Options{
		IdempotencyRetention: cfg.IdempotencyRetention, ProcessedRetention: cfg.ProcessedRetention, Logger: log,
		Fsync:  cfg.fsync,
		Router: durableTargets,
		OnMessages: func(msgs []localbus.Message) {
			if e := engineRef.Load(); e != nil {
				e.Offer(msgs)
			}
		},
		OnLog: func(entries []localbus.Entry) {
			if e := engineRef.Load(); e != nil {
				e.OfferLog(entries)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := app.SeedCatalog(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	sms, err := smslog.Open(filepath.Join(cfg.DataDir, "notifications.jsonl"), log, smslog.Options{Record: db.RecordText, Recorded: db.TextRecorded})
	if err != nil {
		db.Close()
		return nil, err
	}
	cfg.App.HTTP.ClientKeys, cfg.App.HTTP.AdminKeys = cfg.APIKeys, cfg.AdminKeys
	cfg.App.HTTP.Rate, cfg.App.HTTP.Burst = cfg.RateLimit, cfg.RateBurst
	if cfg.App.Envelope == (pipeline.Envelope{}) {
		cfg.App.Envelope = pipeline.LocalEnvelope
	}
	counts, err := db.CountByStatus(ctx)
	if err != nil {
		db.Close()
		sms.Close()
		return nil, err
	}
	board := live.New(counts, live.Options{DeadLetters: db.CountDeadLetters})
	tap := newEventTap(log)
	store := tappedStore{DB: db, tap: tap, board: board}
	deliveries := webhook.NewLog(cfg.Subscriptions, 0)
	a, err := app.New(cfg.App, app.Adapters{
		API:    app.BuildAPI,
		Orders: store, Queue: db, Publisher: store, Inventory: db,
		Gateway: paysim.New(db), Carrier: carriersim.Carrier{}, SMS: sms, // no Deduper: the sink texts each event once
		DeadLetters: db.CountDeadLetters, Logger: log, Model: cfg.Model,
		Admin: &app.AdminAPI{Orders: db, Texts: db, DeadLetters: deadLetters{db}, Live: board, Subscriptions: deliveries.Subscriptions},
	})
	if err != nil {
		db.Close()
		sms.Close()
		return nil, err
	}
	engine := localbus.NewEngine(db, localbus.Options{
		MaxAttempts: cfg.MaxAttempts, BaseBackoff: cfg.RetryBackoff, Logger: log,
		Observe: a.Metrics.ObserveDelivery,
	})
	engine.Handle(routing.Dispatcher, commitOnly(localbus.QueueHandler(a.Dispatch)))
	for target, h := range a.Handlers {
		switch {
		case memoryTargets[target]:
			tap.subscribe(h)
		case pipelineTargets[target]:
			engine.Subscribe(target, commitOnly(localbus.EventHandler(h)))
		default:
			engine.Subscribe(target, afterSync(db, localbus.EventHandler(h)))
		}
	}
	tap.subscribe(func(_ context.Context, e contracts.Event) error { board.Published(e); return nil })
	hookClient := &http.Client{Timeout: 15 * time.Second}
	for _, sub := range cfg.Subscriptions {
		engine.Subscribe(sub.Target(), afterSync(db, localbus.EventHandler(webhook.Handler(hookClient, sub, deliveries))))
	}
	engineRef.Store(engine)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		db.Close()
		sms.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Local{
		URL: "http://" + ln.Addr().String(), ClientKey: clientKey, AdminKey: adminKey, App: a, DB: db, Deliveries: deliveries,
		srv:    &http.Server{Handler: console.Handler(a.HTTP), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second},
		cancel: cancel, sms: sms, failed: make(chan struct{}), unlock: unlock,
	}
	// Live streams end when the server shuts down, which waits for its requests.
	l.srv.RegisterOnShutdown(board.Close)
	started = true
	l.wg.Add(4)
	l.tapStop, l.tap = make(chan struct{}), tap
	go tap.run(l.tapStop)
	go func() { defer l.wg.Done(); l.fail(engine.Run(runCtx)) }()
	go func() { defer l.wg.Done(); l.fail(a.Reconciler.Run(runCtx)) }()
	go func() {
		defer l.wg.Done()
		// A store that could not sync its WAL refuses every write until it is reopened: stop, so
		// that a restart recovers it, rather than answer 503 for ever.
		select {
		case <-db.Broken():
			l.fail(fmt.Errorf("store: %w", db.Sync(context.Background())))
		case <-runCtx.Done():
		}
	}()
	go func() {
		defer l.wg.Done()
		if err := l.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			l.fail(fmt.Errorf("serve http: %w", err))
		}
	}()
	return l, nil
}

// pipelineTargets are the routing targets whose deliveries only move orders on in the store, telling
// no one outside the process: their writes need only be committed (commitOnly). Every other delivery
// (the notifier's texts, other teams' webhooks, and whatever target comes next) waits for the sync
// first (afterSync).
var pipelineTargets = map[string]bool{
	routing.Validation: true, routing.InventoryReserve: true, routing.InventoryRelease: true,
	routing.PaymentAuthorize: true, routing.PaymentVoid: true, routing.Fulfillment: true,
}

// commitOnly has h's writes return once committed (sqlite.CommitOnly): the pipeline's next step reads
// them at once, the store makes them durable a moment later, and after a crash that lost the last of
// them the engine delivers the events after the durable cursors again, which redoes those steps.
func commitOnly(h localbus.MessageHandler) localbus.MessageHandler {
	return func(ctx context.Context, m localbus.Message) error { return h(sqlite.CommitOnly(ctx), m) }
}

// syncer makes what was committed durable.
type syncer interface {
	Sync(ctx context.Context) error
}

// afterSync runs h once everything committed before the delivery is durable: the event h tells someone
// about, and the state it describes, can then never be undone by a crash. A failed sync is the
// delivery's failure, retried like any other.
func afterSync(s syncer, h localbus.MessageHandler) localbus.MessageHandler {
	return func(ctx context.Context, m localbus.Message) error {
		if err := s.Sync(ctx); err != nil {
			return fmt.Errorf("deliver to %s after the store's sync: %w", m.Target, err)
		}
		return h(ctx, m)
	}
}

func (l *Local) fail(err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		l.errOnce.Do(func() { l.err = err; close(l.failed) })
	}
}

// Failed is closed when a part of the running system (the HTTP server, the delivery engine, the
// reconciler) stopped with an error; Shutdown then returns that error. The binary exits on it rather
// than carry on without an API.
func (l *Local) Failed() <-chan struct{} { return l.failed }

// Shutdown stops accepting requests, lets requests and deliveries under way finish, and closes the store.
// Messages not yet delivered stay in the store and are delivered after the next start.
func (l *Local) Shutdown(ctx context.Context) error {
	httpErr := l.srv.Shutdown(ctx)
	if httpErr != nil {
		// Requests still running when ctx ended (a stalled stream's write) are cut off, so that the
		// rest of the shutdown runs.
		_ = l.srv.Close()
	}
	l.cancel()
	l.wg.Wait()
	close(l.tapStop)
	<-l.tap.done
	err := errors.Join(l.err, httpErr, l.DB.Close(), l.sms.Close(), l.unlock())
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// keyFile holds the generated keys in the data directory.
type keyFile struct {
	ClientKey string `json:"clientKey"`
	AdminKey  string `json:"adminKey"`
}

// ensureKeys generates (once) and loads keys when none are configured, and returns a client key and an
// admin key to show the user.
func ensureKeys(cfg *Config) (client, admin string, err error) {
	if len(cfg.APIKeys) > 0 || len(cfg.AdminKeys) > 0 {
		if len(cfg.APIKeys) > 0 {
			client = cfg.APIKeys[0]
		}
		if len(cfg.AdminKeys) > 0 {
			admin = cfg.AdminKeys[0]
		}
		return client, admin, nil
	}
	path := filepath.Join(cfg.DataDir, "api-keys.json")
	var kf keyFile
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &kf); err != nil || kf.ClientKey == "" || kf.AdminKey == "" {
			return "", "", fmt.Errorf("read %s: not a key file", path)
		}
	case errors.Is(err, os.ErrNotExist):
		kf = keyFile{ClientKey: "of_" + randomHex(16), AdminKey: "ofadm_" + randomHex(16)}
		b, _ := json.MarshalIndent(kf, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
			return "", "", fmt.Errorf("write generated keys: %w", err)
		}
	default:
		return "", "", fmt.Errorf("read generated keys: %w", err)
	}
	cfg.APIKeys, cfg.AdminKeys = []string{kf.ClientKey}, []string{kf.AdminKey}
	return kf.ClientKey, kf.AdminKey, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// Banner is what the binary prints once it is serving.
func (l *Local) Banner(dataDir string) string {
	return fmt.Sprintf(`orderflow is running
  Console    %s/   (sign in with the admin key)
  API        %s
  data dir   %s
  API key    %s   (admin key: %s)

Place the example order:
  curl -s -X POST %s/orders -H 'Content-Type: application/json' -H 'X-API-Key: %s' -d '%s'

Then follow it:   curl -s %s/orders/ORDER_ID -H 'X-API-Key: %s'
`, l.URL, l.URL, dataDir, l.ClientKey, l.AdminKey, l.URL, l.ClientKey, app.ExampleOrder, l.URL, l.ClientKey)
}
