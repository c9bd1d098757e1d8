// Package httpapi is orderflow's REST API: plain net/http routing over the ingest service, the order
// reads, the inventory catalog and the chatbot, with the API-key authentication, per-key rate limiting,
// correlation ids, access logging, metrics and panic recovery every route shares. The same handler serves
// the local binary and, through a Lambda proxy adapter, API Gateway.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/inventory"
	"github.com/orderflow/orderflow/services/order"
)

// DefaultMaxBody is the largest request body accepted when Config.MaxBody is zero: 64 KiB.
const DefaultMaxBody = 64 << 10

// DefaultMaxPageBytes is Config.MaxPageBytes when it is zero: 4 MiB. A Lambda function returns at most
// 6 MB to API Gateway, and the body goes in the proxy response as a JSON string, where every quote and
// backslash doubles: 100 orders of the largest size would not fit.
const DefaultMaxPageBytes = 4 << 20

// Config is the API's configuration.
type Config struct {
	// ClientKeys are the API keys that may use the order, chatbot, metrics and extra endpoints.
	ClientKeys []string
	// AdminKeys may use every endpoint, including /inventory.
	AdminKeys []string
	// Rate is the sustained number of requests per second allowed per API key; zero or less disables
	// rate limiting.
	Rate float64
	// Burst is how many requests a key may make at once; zero means the rate rounded up (at least 1).
	Burst int
	// Identify, when set, replaces the X-API-Key check against ClientKeys and AdminKeys: it names the
	// caller that a gateway in front of the API has already checked (API Gateway validates keys and
	// throttles per usage plan, and tells the function which key was used), or returns false to refuse
	// the request with 403 FORBIDDEN. /healthz is never identified.
	Identify func(r *http.Request) (Caller, bool)
	// MaxBody is the largest request body in bytes; zero means DefaultMaxBody.
	MaxBody int64
	// MaxPageBytes bounds a page of orders (GET /orders) as a JSON string, the size its body takes in a
	// Lambda proxy response; zero means DefaultMaxPageBytes. A page that would be larger holds fewer
	// orders, and its nextCursor goes on from the last one it holds.
	MaxPageBytes int
	// Logger receives the access log and the errors behind 500s; nil means slog.Default().
	Logger *slog.Logger
}

// Caller is an authenticated caller, as Config.Identify names it.
type Caller struct {
	// ID identifies the caller's API key without being the key itself (e.g. an API Gateway key id):
	// it scopes idempotency keys and rate limits, and is logged.
	ID string
	// Admin callers may use every endpoint, including /inventory.
	Admin bool
}

// Orders reads orders and the events about them.
type Orders interface {
	// Get returns the order, or a fault.NotFound error.
	Get(ctx context.Context, id string) (*order.Order, error)
	// List returns up to limit orders of the customer, newest first, starting after cursor ("" for the
	// first page), and the cursor of the next page ("" on the last page). A malformed cursor is a
	// fault.Invalid error.
	List(ctx context.Context, customerID string, limit int, cursor string) ([]*order.Order, string, error)
	// GetByReference returns the customer's order with the reference (canonical, as
	// order.ParseReference returns it), or a fault.NotFound error, also for another customer's order.
	GetByReference(ctx context.Context, customerID, reference string) (*order.Order, error)
	// Events returns every event published about the order, oldest first.
	Events(ctx context.Context, orderID string) ([]contracts.Event, error)
}

// Ingest accepts and cancels orders (the ingest service).
type Ingest interface {
	// Create validates and stores a new order; replayed is true when the idempotency key (scoped by
	// scope) had already been used with the same request and the original order is returned.
	Create(ctx context.Context, req contracts.CreateOrderRequest, scope, idempotencyKey string) (contracts.Order, bool, error)
	// Cancel cancels the order, or returns it if it is already cancelled.
	Cancel(ctx context.Context, orderID string) (contracts.Order, error)
}

// Inventory is the catalog administration the admin endpoints need.
type Inventory interface {
	// Product returns the product, or a fault.NotFound error.
	Product(ctx context.Context, id string) (inventory.Product, error)
	// Products returns every product ordered by id.
	Products(ctx context.Context) ([]inventory.Product, error)
	// PutProduct creates or replaces a product.
	PutProduct(ctx context.Context, p inventory.Product) error
	// PutProductIf replaces a product only if its ETag is still etag (inventory.ErrChanged otherwise).
	PutProductIf(ctx context.Context, p inventory.Product, etag string) error
}

// Chatbot answers a customer's question about their orders.
type Chatbot interface {
	// Answer replies to the customer's query, looking only at that customer's orders. Its errors carry
	// fault kinds (e.g. fault.Unavailable when the model cannot be reached).
	Answer(ctx context.Context, req contracts.ChatRequest) (contracts.ChatResponse, error)
}

// Observer records each request for metrics.
type Observer interface {
	// ObserveHTTP records one request: route is the matched pattern, e.g. "GET /orders/{orderId}" (or
	// "unmatched"), never the raw path, so that its cardinality stays bounded.
	ObserveHTTP(route string, status int, d time.Duration)
}

// Mount is an extra read-only endpoint, e.g. the schema registry: Handler serves GET (and HEAD) requests
// for Path, a net/http pattern path such as "/schemas/{name}" whose wildcards the handler reads with
// r.PathValue. It is behind the same API-key check as the client endpoints.
type Mount struct {
	// Path is the pattern path, without a method.
	Path string
	// Handler serves the path; it is only reached by callers with a valid API key.
	Handler http.Handler
}

// Deps are the services the API calls. Orders, Ingest and Inventory are required; the others are
// optional.
type Deps struct {
	// Orders serves the order reads.
	Orders Orders
	// Ingest creates and cancels orders (an *ingest.Service).
	Ingest Ingest
	// Inventory serves the admin catalog endpoints.
	Inventory Inventory
	// Chatbot serves POST /chatbot; nil leaves the route unmounted (404).
	Chatbot Chatbot
	// Metrics serves GET /metrics (Prometheus text format); nil leaves the route unmounted.
	Metrics http.Handler
	// Observer records every request; nil records nothing.
	Observer Observer
	// ReadOnly are extra GET endpoints mounted next to the API's own.
	ReadOnly []Mount
	// Admin serves the operations console's endpoints under /admin; nil leaves them unmounted.
	Admin *Admin
}

// route patterns, also the metric labels.
const (
	routeHealth         = "GET /healthz"
	routeMetrics        = "GET /metrics"
	routeCreateOrder    = "POST /orders"
	routeListOrders     = "GET /orders"
	routeGetOrder       = "GET /orders/{orderId}"
	routeCancelOrder    = "POST /orders/{orderId}/cancel"
	routeOrderEvents    = "GET /orders/{orderId}/events"
	routeListInventory  = "GET /inventory"
	routeGetInventory   = "GET /inventory/{productId}"
	routePutInventory   = "PUT /inventory/{productId}"
	routeChatbot        = "POST /chatbot"
	routeUnmatched      = "unmatched"
	healthPath          = "/healthz"
	defaultListLimit    = 20
	maxListLimit        = 100
	headerAPIKey        = "X-API-Key"
	headerCorrelationID = "X-Correlation-Id"
	headerIdempotency   = "Idempotency-Key"
)

// server holds what the handlers share.
type server struct {
	deps     Deps
	log      *slog.Logger
	maxBody  int64
	maxPage  int
	mux      *http.ServeMux
	keys     *keyring
	identify func(r *http.Request) (Caller, bool)
	limits   *limiter
}

// New returns the API's handler. It panics if deps.Orders, deps.Ingest or deps.Inventory is nil, or if
// a Mount path collides with a route, as these are wiring mistakes.
func New(cfg Config, deps Deps) http.Handler {
	if deps.Orders == nil || deps.Ingest == nil || deps.Inventory == nil {
		panic("httpapi.New: Deps.Orders, Deps.Ingest and Deps.Inventory are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxPageBytes <= 0 {
		cfg.MaxPageBytes = DefaultMaxPageBytes
	}
	if deps.Observer == nil {
		deps.Observer = nopObserver{}
	}
	s := &server{
		deps: deps, log: cfg.Logger, maxBody: cfg.MaxBody, maxPage: cfg.MaxPageBytes, mux: http.NewServeMux(),
		keys: newKeyring(cfg.ClientKeys, cfg.AdminKeys), identify: cfg.Identify, limits: newLimiter(cfg.Rate, cfg.Burst),
	}
	s.routes()
	var h http.Handler = http.HandlerFunc(s.dispatch)
	for _, mw := range []func(http.Handler) http.Handler{
		// innermost first
		s.rateLimit,
		s.authenticate,
		s.recoverPanics,
		s.observe,
		correlate,
	} {
		h = mw(h)
	}
	return h
}

func (s *server) routes() {
	s.mux.HandleFunc(routeHealth, s.health)
	s.mux.HandleFunc(routeCreateOrder, s.createOrder)
	s.mux.HandleFunc(routeListOrders, s.listOrders)
	s.mux.HandleFunc(routeGetOrder, s.getOrder)
	s.mux.HandleFunc(routeCancelOrder, s.cancelOrder)
	s.mux.HandleFunc(routeOrderEvents, s.orderEvents)
	s.mux.Handle(routeListInventory, s.adminOnly(http.HandlerFunc(s.listInventory)))
	s.mux.Handle(routeGetInventory, s.adminOnly(http.HandlerFunc(s.getInventory)))
	s.mux.Handle(routePutInventory, s.adminOnly(http.HandlerFunc(s.putInventory)))
	s.adminRoutes()
	if s.deps.Chatbot != nil {
		s.mux.HandleFunc(routeChatbot, s.chat)
	}
	if s.deps.Metrics != nil {
		s.mux.Handle(routeMetrics, s.deps.Metrics)
	}
	for _, m := range s.deps.ReadOnly {
		s.mux.Handle("GET "+m.Path, m.Handler)
	}
}

// dispatch serves a request with the mux, turning the mux's plain-text 404 and 405 into error bodies.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// No route matched: let the mux say why (not found, wrong method, or a redirect to a clean path),
	// without its body.
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch {
	case rec.status == http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		s.writeError(w, r, errMethodNotAllowed)
	case rec.status >= 300 && rec.status < 400:
		http.Redirect(w, r, rec.header.Get("Location"), rec.status)
	default:
		s.writeError(w, r, errNoRoute)
	}
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, contracts.Health{Status: "ok"})
}

type nopObserver struct{}

func (nopObserver) ObserveHTTP(string, int, time.Duration) {}

// headerRecorder captures the status and headers a handler writes, discarding the body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(b), nil
}

func (h *headerRecorder) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}
