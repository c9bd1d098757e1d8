package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/memory"
	"github.com/orderflow/orderflow/services/adapters/sqlite"
	"github.com/orderflow/orderflow/services/app"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/order"
)

// apiref serves the REST API over the lightest durable store there can be, as a reference for bench: the
// orders live in memory (the memory adapter, which passes the same contract suites as the embedded
// store) and each creation is appended to a journal file, its 201 answered once the journal is
// fsynced, many creations to one fsync. No pipeline runs. Its throughput is what the API's own path
// (keys, rate limit, idempotency, validation, the order and its reply) and a durable append cost,
// without the embedded store, so bench can tell the store's share of an order's cost from the API's.
// It is not a way to run orderflow: nothing reads the journal back.
func apiref(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("orderflow apiref", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8082", "listen address")
	dir := fs.String("dir", "", "directory for the journal and the catalog (required)")
	keys := fs.String("api-keys", "", "comma-separated client API keys (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *keys == "" {
		return errors.New("apiref: --dir and --api-keys are required")
	}
	j, err := openJournal(filepath.Join(*dir, "journal.jsonl"))
	if err != nil {
		return err
	}
	defer j.close()
	// The API needs a catalog store; creating an order does not read it.
	catalog, err := sqlite.Open(filepath.Join(*dir, "catalog.db"), sqlite.Options{})
	if err != nil {
		return err
	}
	defer catalog.Close()
	store := journaledOrders{Orders: memory.NewOrders(), j: j}
	cfg := app.Config{}
	cfg.HTTP.ClientKeys = splitList(*keys)
	cfg.HTTP.Rate, cfg.HTTP.Burst = 1e9, 1_000_000_000
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := app.New(cfg, app.Adapters{
		API: app.BuildAPI, Orders: store, Queue: discardQueue{}, Publisher: store, Inventory: catalog, Logger: quiet,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: a.HTTP, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// journaledOrders is the memory store whose creations are durable in a journal first (ingest.QueueingStore:
// the order, its idempotency record and its queue message in one append).
type journaledOrders struct {
	*memory.Orders
	j *journal
}

// CreateQueued appends the creation to the journal, waits for its fsync and then stores the order in
// memory. A creation the memory store then refuses (a taken key or reference) stays in the journal, which
// nothing reads back.
func (s journaledOrders) CreateQueued(ctx context.Context, o *order.Order, rec *ingest.IdempotencyRecord, m contracts.OrderMessage) error {
	line, err := gojson.Marshal(struct {
		Order       order.Snapshot            `json:"order"`
		Idempotency *ingest.IdempotencyRecord `json:"idempotency,omitempty"`
		Message     contracts.OrderMessage    `json:"message"`
	}{o.Snapshot(), rec, m})
	if err != nil {
		return fmt.Errorf("journal order %s: %w", o.ID(), err)
	}
	if err := s.j.append(ctx, append(line, '\n')); err != nil {
		return fmt.Errorf("journal order %s: %w", o.ID(), err)
	}
	return s.Orders.Create(ctx, o, rec)
}

// discardQueue is the ingest queue of apiref: the journal holds the message, and no dispatcher runs.
type discardQueue struct{}

func (discardQueue) Send(context.Context, contracts.OrderMessage) error { return nil }

// journal appends lines to a file with group commit: append returns once its line is fsynced, and the
// lines that arrive during one fsync go to the file in one write and the next fsync.
type journal struct {
	f    *os.File
	in   chan journalEntry // unbuffered: an entry is either taken, and then answered, or not sent
	stop chan struct{}
	done chan struct{}
}

type journalEntry struct {
	line []byte
	ack  chan error
}

// errJournalClosed is append's error once close was called.
var errJournalClosed = errors.New("journal closed")

var journalAcks = sync.Pool{New: func() any { return make(chan error, 1) }}

func openJournal(path string) (*journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	j := &journal{f: f, in: make(chan journalEntry), stop: make(chan struct{}), done: make(chan struct{})}
	go j.run()
	return j, nil
}

func (j *journal) run() {
	defer close(j.done)
	var buf []byte
	var acks []chan error
	for {
		select {
		case <-j.stop:
			return
		case e := <-j.in:
			buf, acks = append(buf[:0], e.line...), append(acks[:0], e.ack)
		}
	more:
		for {
			select {
			case e := <-j.in:
				buf, acks = append(buf, e.line...), append(acks, e.ack)
			default:
				break more
			}
		}
		_, err := j.f.Write(buf)
		if err == nil {
			err = j.f.Sync()
		}
		for _, a := range acks {
			a <- err
		}
	}
}

// append writes line to the journal and waits for its fsync. Once the journal has taken the line, it is
// written and synced even if ctx ends first.
func (j *journal) append(ctx context.Context, line []byte) error {
	ack := journalAcks.Get().(chan error)
	defer journalAcks.Put(ack)
	select {
	case j.in <- journalEntry{line: line, ack: ack}:
	case <-j.stop:
		return errJournalClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-ack
}

// close stops the journal once the lines it took are synced, and closes the file; appends after it fail.
func (j *journal) close() error {
	close(j.stop)
	<-j.done
	return j.f.Close()
}
