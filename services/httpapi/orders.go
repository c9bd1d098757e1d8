package httpapi

import (
	"bytes"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
	"github.com/orderflow/orderflow/services/input"
	"github.com/orderflow/orderflow/services/pipeline"
)

// createOrder serves POST /orders: 201 with the order and its Location, also when an Idempotency-Key
// replays an earlier request (marked by Idempotent-Replayed: true).
func (s *server) createOrder(w http.ResponseWriter, r *http.Request) {
	v, err := s.readJSON(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, sh, isObject := decodeCreateOrder(v)
	if sh.err() != nil {
		if isObject {
			// Report the rule violations of what could be read together with the shape problems.
			sh.merge(ingest.Validate(req))
		}
		s.writeError(w, r, sh.err())
		return
	}
	p, _ := principalFrom(r.Context())
	o, replayed, err := s.deps.Ingest.Create(r.Context(), req, p.id, r.Header.Get(headerIdempotency))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/orders/"+url.PathEscape(o.OrderID))
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	s.writeJSON(w, r, http.StatusCreated, o)
}

// getOrder serves GET /orders/{orderId}.
func (s *server) getOrder(w http.ResponseWriter, r *http.Request) {
	if err := notFoundUnlessID(r.PathValue("orderId"), contracts.MaxOrderIDLength, "order"); err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.deps.Orders.Get(r.Context(), r.PathValue("orderId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, o.View())
}

// listOrders serves GET /orders?customerId=&limit=&cursor=: a page of the customer's orders, newest
// first, with the cursor of the next page (null on the last). With reference= (as a person writes it:
// any case, with or without the dash) the page holds the customer's order with that reference, or
// nothing: an order of another customer is not shown.
func (s *server) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var sh shape
	customer := q.Get("customerId")
	// An id longer than any order can have is refused rather than looked up (on DynamoDB a key past its
	// size limit would fail in the store). The alphabet is not checked on a lookup, so that the orders of a
	// customer id stored before the identifier rules stay reachable.
	switch n := utf8.RuneCountInString(customer); {
	case blank(customer):
		sh.bad("customerId", "is required")
	case n > contracts.MaxCustomerIDLength:
		sh.bad("customerId", customerTooLong(n))
	default:
		sh.check("customerId", input.NotUTF8(customer))
	}
	limit := queryLimit(&sh, q.Get("limit"), defaultListLimit, maxListLimit)
	reference := queryReference(&sh, q)
	if err := sh.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if reference != "" {
		s.orderByReference(w, r, customer, reference)
		return
	}
	cursor := q.Get("cursor")
	for {
		orders, next, err := s.deps.Orders.List(r.Context(), customer, limit, cursor)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		body, release, err := pipeline.EncodePooled(pageOf(orders, next))
		if err == nil && asJSONString(body) > s.maxPage && len(orders) > 1 {
			// Too large to answer (on AWS, more than a function may return): ask for half as many, whose
			// cursor goes on from the last of them. A page of one order is answered whatever its size
			// (one order's reply is a few hundred KiB at most), so this ends.
			release()
			limit = len(orders) / 2
			continue
		}
		s.writeEncoded(w, r, http.StatusOK, body, release, err)
		return
	}
}

// asJSONString is the size of body once it is itself a JSON string, as in a Lambda proxy response: every
// quote and backslash gains a backslash (goccy's \u escapes of <, > and & each start with one).
func asJSONString(body []byte) int {
	return len(body) + bytes.Count(body, []byte{'"'}) + bytes.Count(body, []byte{'\\'})
}

// orderByReference answers GET /orders?customerId=&reference= with a page of at most one order.
func (s *server) orderByReference(w http.ResponseWriter, r *http.Request, customer, reference string) {
	page := contracts.OrderList{Orders: []contracts.Order{}}
	o, err := s.deps.Orders.GetByReference(r.Context(), customer, reference)
	switch {
	case err == nil && o.CustomerID() == customer:
		page.Orders = append(page.Orders, o.View())
	case err != nil && !fault.Is(err, fault.NotFound):
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, page)
}

// cancelOrder serves POST /orders/{orderId}/cancel: 200 with the cancelled order (also when it was
// already cancelled), 409 once it can no longer be cancelled. A request body is not needed and ignored.
func (s *server) cancelOrder(w http.ResponseWriter, r *http.Request) {
	if err := notFoundUnlessID(r.PathValue("orderId"), contracts.MaxOrderIDLength, "order"); err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.deps.Ingest.Cancel(r.Context(), r.PathValue("orderId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, o)
}

// existingOrder returns the path's order id if that order exists, and otherwise answers the request
// itself (404 NOT_FOUND, also for an id no order can have).
func (s *server) existingOrder(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("orderId")
	if err := notFoundUnlessID(id, contracts.MaxOrderIDLength, "order"); err != nil {
		s.writeError(w, r, err)
		return "", false
	}
	if _, err := s.deps.Orders.Get(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return "", false
	}
	return id, true
}

// orderEvents serves GET /orders/{orderId}/events: every event published about the order, oldest first;
// 404 for an unknown order.
func (s *server) orderEvents(w http.ResponseWriter, r *http.Request) {
	id, ok := s.existingOrder(w, r)
	if !ok {
		return
	}
	events, err := s.deps.Orders.Events(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if events == nil {
		events = []contracts.Event{}
	}
	s.writeJSON(w, r, http.StatusOK, contracts.EventList{Events: events})
}
