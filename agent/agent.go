// Package agent is the chatbot: it answers a customer's questions about their own orders. With a model
// configured it runs a tool-use loop (the model asks for order tools, the agent runs them for the
// customer of the request and sends the results back); without one, or whenever the model fails, an
// offline responder answers from the same tools with templated sentences.
//
// Scoping is enforced in the tools, never in the prompt: every tool runs for the customer id of the
// request, so another customer's order is "not found" whatever the model or the customer writes.
package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
)

// Limits of a question.
const (
	// MaxQueryLength is the longest query accepted, in characters.
	MaxQueryLength = 2000
	// MaxSessionIDLength is the longest session id accepted.
	MaxSessionIDLength = 128
)

// Defaults of Options.
const (
	DefaultMaxRounds   = 5
	DefaultSessionTTL  = 30 * time.Minute
	DefaultMaxSessions = 10_000
	DefaultMaxTurns    = 10
	DefaultCancelHelp  = "To cancel an order, use the cancel option on it in your account, or contact customer support."
	// DefaultFallbackReserve is the default of Options.FallbackReserve: on AWS the chatbot function has
	// 28 s, and the offline responder needs a few reads of the orders and the session.
	DefaultFallbackReserve = 3 * time.Second
)

// fallbackShare bounds the fallback reserve to this fraction of the time left before a request's
// deadline: with a short deadline the model still gets most of it.
const fallbackShare = 4

// Options tune a Chatbot. The zero value gives the defaults.
type Options struct {
	// MaxRounds is how many times in one question the model may have tools run (DefaultMaxRounds).
	// When it asks for more, the offline responder answers instead.
	MaxRounds int
	// Sessions is where conversations are remembered. nil keeps them in memory, bounded by
	// SessionTTL, MaxSessions and MaxTurns; a store given here has its own bounds, and those three
	// options do not apply to it.
	Sessions SessionStore
	// SessionTTL is how long a conversation is remembered after its last turn (DefaultSessionTTL).
	SessionTTL time.Duration
	// MaxSessions bounds the conversations remembered; the least recently used is forgotten first
	// (DefaultMaxSessions).
	MaxSessions int
	// MaxTurns is how many of a conversation's last turns are remembered (DefaultMaxTurns).
	MaxTurns int
	// Now is the clock (time.Now).
	Now func() time.Time
	// NewSessionID makes the id of a new conversation (a random UUID).
	NewSessionID func() string
	// Logger logs model failures and fallbacks (slog.Default()).
	Logger *slog.Logger
	// CancelHelp tells the customer how to cancel an order that can still be cancelled
	// (DefaultCancelHelp).
	CancelHelp string
	// FallbackReserve is the time kept back for the offline responder when a question's context has a
	// deadline (DefaultFallbackReserve): the model's rounds, and the tools they run, end that long before
	// the deadline, so that a slow model still leaves the responder time to answer. It is at most a
	// quarter of the time left when the model is first called. A negative value keeps nothing back.
	// Without a deadline the model's rounds are bounded only by the model itself.
	FallbackReserve time.Duration
}

// Chatbot answers customers' questions about their orders. It is safe for concurrent use.
type Chatbot struct {
	tools     *toolbox
	model     Model
	sessions  SessionStore
	metrics   *metrics
	log       *slog.Logger
	now       func() time.Time
	newID     func() string
	maxRounds int
	cancel    string
	reserve   time.Duration
}

// New returns a chatbot reading orders through orders. model may be nil (an untyped nil): then every question is
// answered by the offline responder (source "fallback"). Metrics, prefixed orderflow_chatbot_, are
// registered with reg unless it is nil. It returns an error if a tool schema cannot be generated or the
// metrics cannot be registered.
func New(orders Orders, model Model, reg prometheus.Registerer, opts Options) (*Chatbot, error) {
	if orders == nil {
		return nil, fmt.Errorf("new chatbot: orders port is required")
	}
	tb, err := newToolbox(orders)
	if err != nil {
		return nil, fmt.Errorf("new chatbot: %w", err)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("new chatbot: %w", err)
	}
	c := &Chatbot{
		tools: tb, model: model, metrics: m, log: opts.Logger, now: opts.Now, newID: opts.NewSessionID,
		maxRounds: opts.MaxRounds, cancel: opts.CancelHelp, reserve: opts.FallbackReserve,
	}
	if c.maxRounds <= 0 {
		c.maxRounds = DefaultMaxRounds
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.newID == nil {
		c.newID = uuid.NewString
	}
	if c.cancel == "" {
		c.cancel = DefaultCancelHelp
	}
	if c.reserve == 0 {
		c.reserve = DefaultFallbackReserve
	}
	c.sessions = opts.Sessions
	if c.sessions == nil {
		c.sessions = NewMemorySessions(opts.SessionTTL, opts.MaxSessions, opts.MaxTurns)
	}
	return c, nil
}

// Tools returns the definitions of the tools the model is offered.
func (c *Chatbot) Tools() []ToolSpec { return append([]ToolSpec(nil), c.tools.specs...) }

// Answer answers one question of a customer. A missing query or customer id, a query over
// MaxQueryLength characters or a session id over MaxSessionIDLength is a fault.Invalid error. When the
// model fails, the offline responder answers and the response says source "fallback". When ctx has a
// deadline, the model must be done Options.FallbackReserve before it; a model still busy then has failed,
// and the responder answers in the time left. An error is returned only when the orders cannot be read
// (or ctx ends) and no answer can be given.
func (c *Chatbot) Answer(ctx context.Context, req contracts.ChatRequest) (contracts.ChatResponse, error) {
	return c.answer(ctx, req, nil)
}

// Trace answers one question exactly as Answer does (same validation, session, metrics and answer, and
// the same errors) and also returns the tools called while answering, in order: the model's tool uses
// and, when the model failed and the offline responder answered instead, the responder's tool calls
// after them. It is what the operations console shows to explain an answer.
func (c *Chatbot) Trace(ctx context.Context, req contracts.ChatRequest) (contracts.ChatTrace, error) {
	calls := &toolCalls{list: []contracts.ToolCall{}}
	resp, err := c.answer(ctx, req, calls)
	if err != nil {
		return contracts.ChatTrace{}, err
	}
	return contracts.ChatTrace{ChatResponse: resp, ToolCalls: calls.list}, nil
}

// answer is Answer, recording the tool calls into calls unless it is nil.
func (c *Chatbot) answer(ctx context.Context, req contracts.ChatRequest, calls *toolCalls) (contracts.ChatResponse, error) {
	start := c.now()
	// The customer id is used exactly as given: it is the scope of every tool, and "alice " must not
	// become "alice". Only the emptiness check ignores whitespace.
	query, customerID, sessionID := strings.TrimSpace(req.Query), req.CustomerID, strings.TrimSpace(req.SessionID)
	if err := validate(query, customerID, sessionID); err != nil {
		c.metrics.requests.WithLabelValues("none", "invalid").Inc()
		return contracts.ChatResponse{}, err
	}
	if sessionID == "" {
		sessionID = c.newID()
	}
	// A conversation that cannot be recalled is answered as a new one: the answer matters more than
	// the context, and the customer can say again which order they mean.
	history, err := c.sessions.Turns(ctx, customerID, sessionID, start)
	if err != nil {
		c.log.WarnContext(ctx, "chatbot: session not recalled", "session", sessionID, "error", err)
		history = nil
	}

	var a answer
	if c.model == nil {
		c.metrics.fallbacks.WithLabelValues("no_model").Inc()
		a, err = c.respondOffline(ctx, customerID, query, history, calls)
	} else {
		var reason string
		modelCtx, cancel := c.modelContext(ctx)
		a, reason = c.converse(modelCtx, customerID, query, history, calls)
		cancel()
		if reason != "" {
			c.metrics.fallbacks.WithLabelValues(reason).Inc()
			a, err = c.respondOffline(ctx, customerID, query, history, calls)
		}
	}
	if err != nil {
		c.metrics.requests.WithLabelValues(contracts.ChatSourceFallback, "error").Inc()
		return contracts.ChatResponse{}, fmt.Errorf("answer customer %s: %w", customerID, err)
	}
	if err := c.sessions.AddTurn(ctx, customerID, sessionID, Turn{Query: query, Answer: a.text, OrderIDs: a.orderIDs}, c.now()); err != nil {
		c.log.WarnContext(ctx, "chatbot: turn not remembered", "session", sessionID, "error", err)
	}
	c.metrics.requests.WithLabelValues(a.source, "ok").Inc()
	c.metrics.latency.WithLabelValues(a.source).Observe(c.now().Sub(start).Seconds())
	ids := a.orderIDs
	if ids == nil {
		ids = []string{}
	}
	return contracts.ChatResponse{Answer: a.text, SessionID: sessionID, OrderIDs: ids, Source: a.source}, nil
}

// modelContext returns the context the model's rounds run under: ctx itself when it has no deadline,
// and otherwise one ending the fallback reserve before ctx's deadline, so that the offline responder,
// which runs on ctx, has that reserve left when the model is too slow.
func (c *Chatbot) modelContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok || c.reserve <= 0 {
		return ctx, func() {}
	}
	// The deadline is on the wall clock, not on c.now, which tests may fix.
	reserve := min(c.reserve, time.Until(deadline)/fallbackShare)
	if reserve <= 0 {
		// The deadline has passed already: there is nothing to keep back.
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}

// answer is what either responder produced.
type answer struct {
	text     string
	orderIDs []string
	source   string
}

func validate(query, customerID, sessionID string) error {
	var issues []fault.FieldIssue
	if query == "" {
		issues = append(issues, fault.FieldIssue{Field: "query", Issue: "is required"})
	} else if utf8.RuneCountInString(query) > MaxQueryLength {
		issues = append(issues, fault.FieldIssue{Field: "query", Issue: fmt.Sprintf("must be at most %d characters", MaxQueryLength)})
	}
	if strings.TrimSpace(customerID) == "" {
		issues = append(issues, fault.FieldIssue{Field: "customerId", Issue: "is required"})
	}
	if len(sessionID) > MaxSessionIDLength {
		issues = append(issues, fault.FieldIssue{Field: "sessionId", Issue: fmt.Sprintf("must be at most %d characters", MaxSessionIDLength)})
	}
	if len(issues) > 0 {
		return &fault.Error{Kind: fault.Invalid, Code: contracts.CodeValidationFailed, Message: "chat request is invalid", Fields: issues}
	}
	return nil
}

// callTool runs a tool for the customer and counts it, and records it into calls unless calls is nil.
// The result comes encoded, once, for the model, the offline responder and the trace alike.
func (c *Chatbot) callTool(ctx context.Context, calls *toolCalls, customerID, name string, input []byte) (json.RawMessage, []orderName, error) {
	res, ids, err := c.tools.run(ctx, customerID, name, input)
	var out json.RawMessage
	if err == nil {
		if out, err = json.Marshal(res); err != nil {
			err = fmt.Errorf("encode the result of tool %s: %w", name, err)
		}
	}
	outcome := "ok"
	if err != nil {
		outcome = strings.ReplaceAll(fault.KindOf(err).String(), " ", "_")
	}
	c.metrics.toolCalls.WithLabelValues(name, outcome).Inc()
	calls.record(name, input, out, err)
	return out, ids, err
}

// toolCalls collects the tool calls of one question, in order. The tools of one question run one
// after another, so it needs no lock. A nil *toolCalls records nothing.
type toolCalls struct {
	list []contracts.ToolCall
}

// record adds one call. The input is kept as given; one that is not JSON (a malformed tool use of the
// model) is kept as a JSON string, so that the trace can still be encoded.
func (t *toolCalls) record(name string, input []byte, out json.RawMessage, err error) {
	if t == nil {
		return
	}
	call := contracts.ToolCall{Name: name, Input: rawJSON(input), Output: out}
	if err != nil {
		call.Output, call.Error = nil, err.Error()
	}
	t.list = append(t.list, call)
}

// rawJSON copies b as a JSON value: an empty input as {} (what the tools read it as), one that is not
// valid JSON as a JSON string of its text.
func rawJSON(b []byte) json.RawMessage {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return json.RawMessage("{}")
	case json.Valid(b):
		return append(json.RawMessage(nil), b...)
	}
	s, _ := json.Marshal(string(b)) // a string always encodes
	return s
}

// orderIDSet collects order ids in the order they were first seen, with the reference each is called by.
type orderIDSet struct {
	ids []string
	// references maps each id to its reference ("" when only the id was added).
	references map[string]string
}

func (s *orderIDSet) add(names ...orderName) {
	if s.references == nil {
		s.references = map[string]string{}
	}
	for _, n := range names {
		ref, seen := s.references[n.ID]
		if !seen {
			s.ids = append(s.ids, n.ID)
		}
		if ref == "" {
			s.references[n.ID] = n.Reference
		}
	}
}

// addIDs adds orders known only by their ids.
func (s *orderIDSet) addIDs(ids ...string) {
	for _, id := range ids {
		s.add(orderName{ID: id})
	}
}
