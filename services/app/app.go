// Package app is the one wiring function of orderflow: New builds every service of the pipeline from a
// set of adapters. The local binary calls it with the embedded-database adapters; a Lambda entrypoint
// calls it with AWS adapters. Either way the services, the routing and the HTTP API are the same code.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/orderflow/orderflow/agent"
	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/dispatcher"
	"github.com/orderflow/orderflow/services/fulfillment"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/metrics"
	"github.com/orderflow/orderflow/services/notifier"
	"github.com/orderflow/orderflow/services/order"
	"github.com/orderflow/orderflow/services/payment"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/routing"
	"github.com/orderflow/orderflow/services/validation"
)

// OrderStore is everything the application needs from the order store.
type OrderStore interface {
	pipeline.Orders
	ingest.Store
	// List returns a page of a customer's orders, newest first, and the cursor of the next page ("" on
	// the last page).
	List(ctx context.Context, customerID string, limit int, cursor string) ([]*order.Order, string, error)
	// GetByReference returns the customer's order with the reference, or a fault.NotFound error (also
	// for another customer's order).
	GetByReference(ctx context.Context, customerID, reference string) (*order.Order, error)
	// Events returns every event published about an order, oldest first.
	Events(ctx context.Context, orderID string) ([]contracts.Event, error)
}

// Adapters are the ports the application is built from.
type Adapters struct {
	Orders    OrderStore
	Queue     ingest.Queue
	Publisher pipeline.Publisher
	Inventory inventory.Store
	Gateway   payment.Gateway
	Carrier   fulfillment.Carrier
	SMS       notifier.Sender
	Deduper   notifier.Deduper
	// Model is the chatbot's language model; nil answers with the offline responder only.
	Model agent.Model
	// Sessions keeps the chatbot's conversations (nil: in memory, which is enough for one process).
	Sessions agent.SessionStore
	// MetricsSink receives every metric sample as well as the Prometheus registry (CloudWatch EMF on
	// AWS; optional).
	MetricsSink metrics.Sink
	// DeadLetters counts dead letters for the orderflow_dlq_depth gauge (optional).
	DeadLetters func(ctx context.Context) (int, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// API builds the REST API, the chatbot and the schema registry: BuildAPI. Nil builds none (App.HTTP
	// is nil), for a runtime that serves no HTTP — a Lambda function behind a queue or a rule — which
	// then links none of that code.
	API func(cfg HTTPConfig, a Adapters, app *App) (http.Handler, error)
	// Admin serves the operations console's endpoints under /admin (nil: none, as on AWS).
	Admin *AdminAPI
}

// Config is the application's behaviour that does not depend on where it runs.
type Config struct {
	// Envelope stamps account and region on events.
	Envelope pipeline.Envelope
	// OrderLimit is the largest order total validation accepts (default 50,000.00).
	OrderLimit contracts.Amount
	// OperationsNumber receives the texts of orders without a customer phone.
	OperationsNumber string
	// TextsWithoutNumber sends the texts of orders with neither a customer phone nor an OperationsNumber
	// to the SMS sender unaddressed (on AWS, the operations topic) instead of skipping them.
	TextsWithoutNumber bool
	// ReconcileGrace is how long an order may stay PENDING before the reconciler re-queues it.
	ReconcileGrace time.Duration
	// CancelFollowUp is the delay of a cancel's follow-up on a queue that can delay (see
	// ingest.Service.Cancel); zero sends none.
	CancelFollowUp time.Duration
	// HTTP configures the REST API.
	HTTP HTTPConfig
}

// App is the built application.
type App struct {
	// Handlers are the bus consumers, by routing target.
	Handlers map[string]pipeline.Handler
	// Dispatch consumes the ingest queue.
	Dispatch func(ctx context.Context, m contracts.OrderMessage) error
	// Reconciler re-queues PENDING orders that never reached the bus.
	Reconciler *ingest.Reconciler
	// Ingest creates and cancels orders.
	Ingest *ingest.Service
	// Metrics holds the collectors.
	Metrics *metrics.Metrics
	// Router is the compiled routing table.
	Router *routing.Router
	// HTTP is the REST API (nil without Adapters.API).
	HTTP http.Handler
}

// New builds the application.
func New(cfg Config, a Adapters) (*App, error) {
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	if cfg.Envelope == (pipeline.Envelope{}) {
		cfg.Envelope = pipeline.LocalEnvelope
	}
	router, err := routing.NewRouter(routing.Table)
	if err != nil {
		return nil, fmt.Errorf("compile routing table: %w", err)
	}
	m := metrics.New(a.Orders, metrics.Options{Sink: a.MetricsSink})
	if a.DeadLetters != nil {
		m.WatchDeadLetters(a.DeadLetters)
	}
	env, now, orders, pub := cfg.Envelope, a.Now, a.Orders, a.Publisher

	deps := pipeline.Deps{Orders: orders, Publisher: pub, Envelope: env, Now: now}
	disp := &dispatcher.Service{Deps: deps}
	val := &validation.Service{Deps: deps, Catalog: validation.CatalogOf(a.Inventory), OrderLimit: cfg.OrderLimit}
	inv := &inventory.Service{Deps: deps, Store: a.Inventory}
	pay := &payment.Service{Deps: deps, Gateway: a.Gateway}
	ful := &fulfillment.Service{Deps: deps, Carrier: a.Carrier, Payments: a.Gateway}
	note := &notifier.Service{Sender: a.SMS, Deduper: a.Deduper, OperationsNumber: cfg.OperationsNumber, SendUnaddressed: cfg.TextsWithoutNumber}

	handlers := map[string]pipeline.Handler{
		routing.Validation:       val.Handle,
		routing.InventoryReserve: inv.HandleValidated,
		routing.InventoryRelease: inv.HandleEnded,
		routing.PaymentAuthorize: pay.HandleReserved,
		routing.PaymentVoid:      pay.HandleEnded,
		routing.Fulfillment:      ful.Handle,
		routing.Notifier:         note.Handle,
		routing.Metrics:          m.Handle,
	}
	for _, rt := range routing.Table {
		if handlers[rt.Target] == nil {
			return nil, fmt.Errorf("route %s: no handler for target %s", rt.Name, rt.Target)
		}
	}
	for target, h := range handlers {
		handlers[target] = pipeline.Chain(h, pipeline.Recovered(), pipeline.Logged(a.Logger, target))
	}
	// A cancel repeated after a failure between its write and its publish (two steps on AWS) publishes
	// its event again; where the store is also the bus (locally) that is a no-op by event id.
	ing := ingest.NewService(a.Orders, a.Queue, a.Orders, ingest.Config{Envelope: env, Now: now, Logger: a.Logger, Publisher: pub, CancelFollowUp: cfg.CancelFollowUp})
	rec := ingest.NewReconciler(a.Orders, a.Queue, ingest.ReconcilerConfig{Grace: cfg.ReconcileGrace, Now: now, Logger: a.Logger})
	app := &App{
		Handlers: handlers, Dispatch: disp.Handle, Reconciler: rec, Ingest: ing, Metrics: m, Router: router,
	}
	if a.API != nil {
		if app.HTTP, err = a.API(cfg.HTTP, a, app); err != nil {
			return nil, err
		}
	}
	return app, nil
}
