// Command orderflow runs the whole order pipeline on one machine: the REST API and every service,
// in-process, with an embedded durable store. It also inspects and redrives the dead-letter table and
// benchmarks a running system.
//
//	orderflow serve [flags]          start the system (the default command)
//	orderflow dlq list [flags]       show dead letters
//	orderflow dlq redrive [flags] [ID...]   deliver dead letters again (all when no ids)
//	orderflow bench [flags]          measure ingest and end-to-end throughput over loopback HTTP
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/agent/bedrock"
	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/adapters/webhook"
	"github.com/orderflow/orderflow/services/app"
	"github.com/orderflow/orderflow/services/app/local"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set. The heap of a running orderflow
// is small (tens of MB) and short-lived garbage (JSON, SQL arguments) dominates: collecting at 4× the live
// heap instead of 2× gave about 10% more ingest and 15% more end to end on a 2-core machine.
const defaultGCPercent = 400

// procsPerCPU is how many Ps (goroutines running Go code at once) per CPU orderflow runs with when
// GOMAXPROCS is not set. The store's writer spends most of its time in calls into SQLite, and the Go
// runtime hands its P to other goroutines during a long call; with one P per CPU, the writer coming back
// from a commit then waits for a P behind the request and delivery goroutines, and every write of the
// system waits with it. Two per CPU let the operating system share the CPUs among the threads instead:
// on a 2-core machine that gave ingest 4,170 instead of 3,496 orders/s, end to end 1,625 instead of
// 1,479, and a paced p99 of 50 instead of 79 ms (one run each, back to back). Only the server does it
// (the bench's client and no-op handler run as Go programs do by default), and the count is taken once
// at start: a later change of the machine's or container's CPU limit is not followed.
const procsPerCPU = 2

// serving reports whether the command line runs the server (serve is the default command).
func serving(args []string) bool {
	return len(args) == 0 || strings.HasPrefix(args[0], "-") || args[0] == "serve"
}

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMAXPROCS") == "" && serving(os.Args[1:]) {
		runtime.GOMAXPROCS(procsPerCPU * runtime.GOMAXPROCS(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "orderflow:", err)
		}
		os.Exit(2)
	}
}

// run is the whole program; ready, when not nil, receives the running system (for tests).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(*local.Local)) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr, ready)
	case "dlq":
		return dlq(ctx, args, stdout, stderr)
	case "aws-local":
		return awsLocal(ctx, args, stdout, stderr)
	case "bench":
		return bench(ctx, args, stdout, stderr)
	case "apiref":
		return apiref(ctx, args, stdout, stderr)
	case "noop":
		return noop(ctx, args, stdout, stderr)
	case "fill":
		return fill(ctx, args, stdout, stderr)
	case "backfill-catalog":
		return backfillCatalog(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: orderflow [serve|aws-local|dlq list|dlq redrive|bench|fill|backfill-catalog] [flags]; orderflow serve --help lists the configuration")
		return nil
	}
	return fmt.Errorf("unknown command %q (want serve, aws-local, dlq, bench, fill or backfill-catalog)", cmd)
}

// env returns the environment variable's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// splitList splits a comma-separated list, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

type serveFlags struct {
	addr, dataDir, apiKeys, adminKeys, opsPhone, logLevel, orderLimit, cpuProfile, modelID, subscriptions string
	rateLimit                                                                                             float64
	rateBurst, maxAttempts                                                                                int
	retryBackoff, reconcileAfter, idempotencyRetention, processedRetention                                time.Duration
}

func serveFlagSet(stderr io.Writer) (*flag.FlagSet, *serveFlags, error) {
	f := &serveFlags{}
	fs := flag.NewFlagSet("orderflow serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var errs []error
	fs.StringVar(&f.addr, "addr", env("ORDERFLOW_ADDR", "127.0.0.1:8080"), "listen address `host:port` (ORDERFLOW_ADDR)")
	fs.StringVar(&f.dataDir, "data-dir", env("ORDERFLOW_DATA_DIR", "./data"), "data `directory`: database, generated keys, notifications.jsonl (ORDERFLOW_DATA_DIR)")
	fs.StringVar(&f.apiKeys, "api-keys", env("ORDERFLOW_API_KEYS", ""), "comma-separated client API `keys`; none: generate one on first start (ORDERFLOW_API_KEYS)")
	fs.StringVar(&f.adminKeys, "admin-keys", env("ORDERFLOW_ADMIN_KEYS", ""), "comma-separated admin API `keys` (ORDERFLOW_ADMIN_KEYS)")
	rate, err := strconv.ParseFloat(env("ORDERFLOW_RATE_LIMIT", "100"), 64)
	errs = append(errs, named("ORDERFLOW_RATE_LIMIT", err))
	fs.Float64Var(&f.rateLimit, "rate-limit", rate, "requests per second per API key (ORDERFLOW_RATE_LIMIT)")
	burst, err := strconv.Atoi(env("ORDERFLOW_RATE_BURST", "200"))
	errs = append(errs, named("ORDERFLOW_RATE_BURST", err))
	fs.IntVar(&f.rateBurst, "rate-burst", burst, "burst of requests per API key (ORDERFLOW_RATE_BURST)")
	fs.StringVar(&f.orderLimit, "order-limit", env("ORDERFLOW_ORDER_LIMIT", "50000.00"), "largest order total validation accepts (ORDERFLOW_ORDER_LIMIT)")
	attempts, err := strconv.Atoi(env("ORDERFLOW_MAX_ATTEMPTS", "8"))
	errs = append(errs, named("ORDERFLOW_MAX_ATTEMPTS", err))
	fs.IntVar(&f.maxAttempts, "max-attempts", attempts, "deliveries of a message before it is dead-lettered (ORDERFLOW_MAX_ATTEMPTS)")
	backoff, err := time.ParseDuration(env("ORDERFLOW_RETRY_BACKOFF", "100ms"))
	errs = append(errs, named("ORDERFLOW_RETRY_BACKOFF", err))
	fs.DurationVar(&f.retryBackoff, "retry-backoff", backoff, "wait after a failed delivery, doubled per attempt (ORDERFLOW_RETRY_BACKOFF)")
	reconcile, err := time.ParseDuration(env("ORDERFLOW_RECONCILE_AFTER", "30s"))
	errs = append(errs, named("ORDERFLOW_RECONCILE_AFTER", err))
	fs.DurationVar(&f.reconcileAfter, "reconcile-after", reconcile, "re-queue orders PENDING for longer than this (ORDERFLOW_RECONCILE_AFTER)")
	idem, err := time.ParseDuration(env("ORDERFLOW_IDEMPOTENCY_RETENTION", sqlite.DefaultIdempotencyRetention.String()))
	errs = append(errs, named("ORDERFLOW_IDEMPOTENCY_RETENTION", err))
	fs.DurationVar(&f.idempotencyRetention, "idempotency-retention", idem, "how long an Idempotency-Key is honoured; expired keys are pruned (ORDERFLOW_IDEMPOTENCY_RETENTION)")
	processed, err := time.ParseDuration(env("ORDERFLOW_PROCESSED_RETENTION", sqlite.DefaultProcessedRetention.String()))
	errs = append(errs, named("ORDERFLOW_PROCESSED_RETENTION", err))
	fs.DurationVar(&f.processedRetention, "processed-retention", processed, "how long a record of a handled event is kept, then pruned; locally only data directories of earlier versions hold such records (ORDERFLOW_PROCESSED_RETENTION)")
	fs.StringVar(&f.opsPhone, "operations-phone", env("ORDERFLOW_OPERATIONS_PHONE", "+31629408162"), "number texted about orders placed without a phone (ORDERFLOW_OPERATIONS_PHONE)")
	fs.StringVar(&f.logLevel, "log-level", env("ORDERFLOW_LOG_LEVEL", "info"), "debug, info, warn or error (ORDERFLOW_LOG_LEVEL)")
	fs.StringVar(&f.modelID, "bedrock-model-id", env("BEDROCK_MODEL_ID", ""), "Bedrock `model` for the chatbot, e.g. anthropic.claude-3-haiku-20240307-v1:0; none: the offline responder (BEDROCK_MODEL_ID; AWS credentials and region from the usual AWS environment)")
	fs.StringVar(&f.subscriptions, "subscriptions", env("ORDERFLOW_SUBSCRIPTIONS", ""), "JSON `file` of webhook subscriptions: [{\"name\",\"eventPattern\",\"endpoint\"}] (ORDERFLOW_SUBSCRIPTIONS)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this `file` (for performance work)")
	return fs, f, errors.Join(errs...)
}

func named(name string, err error) error {
	if err != nil {
		return fmt.Errorf("environment variable %s: %w", name, err)
	}
	return nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(*local.Local)) error {
	fs, f, envErr := serveFlagSet(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if envErr != nil {
		return envErr
	}
	limit, err := contracts.ParseAmount(f.orderLimit)
	if err != nil {
		return fmt.Errorf("order limit %q: %w", f.orderLimit, err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("log level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer func() { pprof.StopCPUProfile(); pf.Close() }()
	}
	var subs []webhook.Subscription
	if f.subscriptions != "" {
		if subs, err = webhook.Load(f.subscriptions); err != nil {
			return err
		}
	}
	var model agent.Model
	if f.modelID != "" {
		awsCfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return fmt.Errorf("load AWS configuration for Bedrock: %w", err)
		}
		m, err := bedrock.NewFromConfig(awsCfg, f.modelID, bedrock.Options{})
		if err != nil {
			return fmt.Errorf("bedrock model %s: %w", f.modelID, err)
		}
		model = m
		log.Info("chatbot uses Bedrock", "model", f.modelID, "region", awsCfg.Region)
	}
	l, err := local.Start(ctx, local.Config{
		Addr: f.addr, DataDir: f.dataDir, APIKeys: splitList(f.apiKeys), AdminKeys: splitList(f.adminKeys),
		RateLimit: f.rateLimit, RateBurst: f.rateBurst, MaxAttempts: f.maxAttempts, RetryBackoff: f.retryBackoff,
		IdempotencyRetention: f.idempotencyRetention, ProcessedRetention: f.processedRetention,
		App:    app.Config{OrderLimit: limit, OperationsNumber: f.opsPhone, ReconcileGrace: f.reconcileAfter},
		Logger: log, Model: model, Subscriptions: subs,
	})
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, l.Banner(f.dataDir))
	if ready != nil {
		ready(l)
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case <-l.Failed():
		log.Error("a part of orderflow failed; shutting down")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return l.Shutdown(shutdownCtx)
}
