package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/input"
	"github.com/orderflow/orderflow/services/order"
)

// Admin are the services behind the operations console's endpoints under /admin, which need an admin
// key. Each nil field leaves its endpoints unmounted (404), so a runtime serves only what it has.
type Admin struct {
	// Orders serves GET /admin/orders.
	Orders OrderSearch
	// Texts serves GET /admin/orders/{orderId}/texts.
	Texts Texts
	// DeadLetters serves GET /admin/dead-letters and POST /admin/dead-letters/redrive.
	DeadLetters DeadLetters
	// Live serves GET /admin/live and the stream GET /admin/live/stream.
	Live Live
	// Chatbot serves POST /admin/chatbot.
	Chatbot ChatTracer
	// Subscriptions serves GET /admin/subscriptions: the webhook subscriptions with their recent
	// deliveries.
	Subscriptions func() []contracts.Subscription
}

// OrderSearch finds orders of any customer.
type OrderSearch interface {
	// Search returns a page of the orders q selects, newest first, and the cursor of the next page (""
	// on the last page). A malformed cursor is a fault.Invalid error.
	Search(ctx context.Context, q order.Search) ([]*order.Order, string, error)
}

// Texts reads the SMS texts sent about an order.
type Texts interface {
	// Texts returns the texts sent about the order, oldest first.
	Texts(ctx context.Context, orderID string) ([]contracts.Text, error)
}

// DeadLetters lists and redrives the messages that exhausted their deliveries.
type DeadLetters interface {
	// List returns up to limit dead letters, oldest first, and how many there are in all.
	List(ctx context.Context, limit int) ([]contracts.DeadLetter, int, error)
	// Redrive moves the dead letters with the given ids (every one when ids is empty) back to delivery
	// and returns how many moved.
	Redrive(ctx context.Context, ids ...int64) (int, error)
}

// Live is the pipeline's state right now and a feed of the events published from now on.
type Live interface {
	// Snapshot returns the state right now.
	Snapshot(ctx context.Context) (contracts.LiveSnapshot, error)
	// Subscribe returns the feed and the function that ends it; the channel is closed when the feed
	// ends, also when the server shuts down.
	Subscribe() (<-chan contracts.LiveEvent, func())
}

// ChatTracer answers like the chatbot and says which tools it called.
type ChatTracer interface {
	// Trace answers the request as Chatbot.Answer would, with the tool calls made.
	Trace(ctx context.Context, req contracts.ChatRequest) (contracts.ChatTrace, error)
}

// Admin route patterns, also the metric labels.
const (
	routeAdminOrders        = "GET /admin/orders"
	routeAdminTexts         = "GET /admin/orders/{orderId}/texts"
	routeAdminDeadLetters   = "GET /admin/dead-letters"
	routeAdminRedrive       = "POST /admin/dead-letters/redrive"
	routeAdminLive          = "GET /admin/live"
	routeAdminLiveStream    = "GET /admin/live/stream"
	routeAdminChatbot       = "POST /admin/chatbot"
	routeAdminSubscriptions = "GET /admin/subscriptions"
	defaultDeadLetterLimit  = 100
	maxDeadLetterLimit      = 1000
	// maxRedriveIDs bounds the ids of one redrive request.
	maxRedriveIDs = 1000
	// snapshotInterval is how often a live stream sends a snapshot.
	snapshotInterval = time.Second
	// streamWriteTimeout bounds each write of a live stream.
	streamWriteTimeout = 10 * time.Second
)

// adminRoutes mounts the admin endpoints whose services are present.
func (s *server) adminRoutes() {
	a := s.deps.Admin
	if a == nil {
		return
	}
	admin := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, s.adminOnly(h)) }
	if a.Orders != nil {
		admin(routeAdminOrders, s.searchOrders)
	}
	if a.Texts != nil {
		admin(routeAdminTexts, s.orderTexts)
	}
	if a.DeadLetters != nil {
		admin(routeAdminDeadLetters, s.listDeadLetters)
		admin(routeAdminRedrive, s.redrive)
	}
	if a.Live != nil {
		admin(routeAdminLive, s.liveSnapshot)
		admin(routeAdminLiveStream, s.liveStream)
	}
	if a.Chatbot != nil {
		admin(routeAdminChatbot, s.traceChat)
	}
	if a.Subscriptions != nil {
		admin(routeAdminSubscriptions, func(w http.ResponseWriter, r *http.Request) {
			subs := a.Subscriptions()
			if subs == nil {
				subs = []contracts.Subscription{}
			}
			s.writeJSON(w, r, http.StatusOK, contracts.SubscriptionList{Subscriptions: subs})
		})
	}
}

// searchOrders serves GET /admin/orders?status=&customerId=&reference=&limit=&cursor=: orders of any
// customer, newest first. status and customerId combine; reference finds that one order, whoever's it is.
func (s *server) searchOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var sh shape
	search := order.Search{Status: order.Status(q.Get("status")), CustomerID: q.Get("customerId"), Cursor: q.Get("cursor")}
	if search.Status != "" && !slices.Contains(order.Statuses, search.Status) {
		sh.bad("status", fmt.Sprintf("must be one of %v", order.Statuses))
	}
	if n := utf8.RuneCountInString(search.CustomerID); n > contracts.MaxCustomerIDLength {
		sh.bad("customerId", customerTooLong(n))
	} else {
		sh.check("customerId", input.NotUTF8(search.CustomerID))
	}
	search.Limit = queryLimit(&sh, q.Get("limit"), defaultListLimit, maxListLimit)
	search.Reference = queryReference(&sh, q)
	if err := sh.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	orders, next, err := s.deps.Admin.Orders.Search(r.Context(), search)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, pageOf(orders, next))
}

// queryReference reads the reference query parameter, as a person writes it (any case, the dash
// optional), in its canonical form: "" when absent, an issue when it is not a reference or comes with a
// cursor (a reference names one order: there is no next page).
func queryReference(sh *shape, q url.Values) string {
	if !q.Has("reference") {
		return ""
	}
	ref, err := order.ParseReference(q.Get("reference"))
	if err != nil {
		sh.bad("reference", "must be an order reference: 8 letters and digits as in 7K3M-Q9TX (any case, the dash optional)")
	}
	if q.Get("cursor") != "" {
		sh.bad("cursor", "cannot be combined with reference")
	}
	return ref
}

// customerTooLong is the issue of a customerId of n characters, past contracts.MaxCustomerIDLength.
func customerTooLong(n int) string {
	return fmt.Sprintf("must be at most %d characters (has %d)", contracts.MaxCustomerIDLength, n)
}

// queryLimit reads a limit query parameter: def when absent, an issue unless it is an integer from 1 to
// max.
func queryLimit(sh *shape, v string, def, max int) int {
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max || v != strconv.Itoa(n) { // written plainly: not +5 or 05
		sh.bad("limit", fmt.Sprintf("must be an integer from 1 to %d", max))
		return def
	}
	return n
}

// pageOf is the body of a page of orders.
func pageOf(orders []*order.Order, next string) contracts.OrderList {
	page := contracts.OrderList{Orders: make([]contracts.Order, len(orders))}
	for i, o := range orders {
		page.Orders[i] = o.View()
	}
	if next != "" {
		page.NextCursor = &next
	}
	return page
}

// orderTexts serves GET /admin/orders/{orderId}/texts: 404 for an unknown order.
func (s *server) orderTexts(w http.ResponseWriter, r *http.Request) {
	id, ok := s.existingOrder(w, r)
	if !ok {
		return
	}
	texts, err := s.deps.Admin.Texts.Texts(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if texts == nil {
		texts = []contracts.Text{}
	}
	s.writeJSON(w, r, http.StatusOK, contracts.TextList{Texts: texts})
}

// listDeadLetters serves GET /admin/dead-letters?limit=: the oldest dead letters and how many there are.
func (s *server) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	var sh shape
	limit := queryLimit(&sh, r.URL.Query().Get("limit"), defaultDeadLetterLimit, maxDeadLetterLimit)
	if err := sh.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	letters, total, err := s.deps.Admin.DeadLetters.List(r.Context(), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if letters == nil {
		letters = []contracts.DeadLetter{}
	}
	s.writeJSON(w, r, http.StatusOK, contracts.DeadLetterList{DeadLetters: letters, Total: total})
}

// redrive serves POST /admin/dead-letters/redrive with {"ids":[…]} or {"all":true}, exactly one of them.
func (s *server) redrive(w http.ResponseWriter, r *http.Request) {
	v, err := s.readJSON(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var sh shape
	var ids []int64
	all := false
	if m, ok := sh.root(v, "ids", "all"); ok {
		switch a := m["all"].(type) {
		case nil:
		case bool:
			all = a
		default:
			sh.bad("all", "must be true or false")
		}
		list := sh.array(m, "", "ids")
		if len(list) > maxRedriveIDs {
			sh.bad("ids", fmt.Sprintf("must list at most %d ids (has %d)", maxRedriveIDs, len(list)))
		}
		for i, x := range list {
			n, isNum := x.(json.Number)
			id, err := strconv.ParseInt(string(n), 10, 64)
			if !isNum || err != nil || id < 1 {
				sh.bad(fmt.Sprintf("ids[%d]", i), "must be a dead letter id: a positive integer")
				continue
			}
			ids = append(ids, id)
		}
		switch {
		case covered(sh.issues, "ids") || covered(sh.issues, "all"):
		case all && m["ids"] != nil:
			sh.bad("ids", "cannot be combined with all")
		case !all && len(list) == 0:
			sh.bad("ids", `is required: the ids to redrive, or "all": true`)
		}
	}
	if err := sh.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.deps.Admin.DeadLetters.Redrive(r.Context(), ids...)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, contracts.RedriveResult{Redriven: n})
}

// liveSnapshot serves GET /admin/live.
func (s *server) liveSnapshot(w http.ResponseWriter, r *http.Request) {
	snap, err := s.deps.Admin.Live.Snapshot(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, snap)
}

// liveStream serves GET /admin/live/stream as Server-Sent Events: a "snapshot" event (a LiveSnapshot) at
// once and then every second, and an "event" event (a LiveEvent) for every event the server publishes,
// until the client goes away or the server shuts down.
func (s *server) liveStream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// Subscribe first, so that no event published between the snapshot and the feed is missed.
	feed, stop := s.deps.Admin.Live.Subscribe()
	defer stop()
	snap, err := s.deps.Admin.Live.Snapshot(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies must not buffer the stream
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) bool {
		// A console that stops reading (a laptop asleep) must not hold a write, and with it the server's
		// shutdown, for ever.
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		b, err := json.Marshal(v)
		if err != nil {
			s.log.ErrorContext(r.Context(), "encode live stream event", "err", err)
			return false
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("snapshot", snap) {
		return
	}
	tick := time.NewTicker(snapshotInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case e, open := <-feed:
			if !open || !send("event", e) {
				return
			}
		case <-tick.C:
			snap, err := s.deps.Admin.Live.Snapshot(r.Context())
			if err != nil {
				s.log.WarnContext(r.Context(), "live snapshot", "err", err)
				continue
			}
			if !send("snapshot", snap) {
				return
			}
		}
	}
}

// traceChat serves POST /admin/chatbot: the chatbot's answer to a question asked as any customer, with
// the tool calls it made.
func (s *server) traceChat(w http.ResponseWriter, r *http.Request) {
	req, ok := s.readChat(w, r)
	if !ok {
		return
	}
	resp, err := s.deps.Admin.Chatbot.Trace(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if resp.ToolCalls == nil {
		resp.ToolCalls = []contracts.ToolCall{}
	}
	s.writeJSON(w, r, http.StatusOK, resp)
}
