package agent

import (
	"container/list"
	"context"
	"strconv"
	"sync"
	"time"
)

// Turn is one question of a conversation and its answer.
type Turn struct {
	// Query is the customer's question.
	Query string `json:"query"`
	// Answer is what the chatbot answered.
	Answer string `json:"answer"`
	// OrderIDs are the orders the answer was about, which a follow-up question without an id refers to.
	OrderIDs []string `json:"orderIds,omitempty"`
}

// turn is the name the responders use for Turn.
type turn = Turn

// SessionStore remembers conversations between questions: the last turns of each, keyed by customer and
// session id, so that a session id reused by another customer starts empty. A store keeps at most its
// own bound of turns per conversation (the most recent) and forgets a conversation its TTL after its
// last turn. The in-memory store (NewMemorySessions) serves one process; the DynamoDB one serves every
// Lambda instance.
type SessionStore interface {
	// Turns returns the turns of the conversation, oldest first, or none when it is unknown or expired
	// at now. It returns an error only when the store cannot be read.
	Turns(ctx context.Context, customerID, sessionID string, now time.Time) ([]Turn, error)
	// AddTurn appends t to the conversation at now, starting it (again) when it is unknown or expired,
	// dropping its oldest turns over the bound and extending its life to the TTL from now. It returns an
	// error only when the store cannot be written.
	AddTurn(ctx context.Context, customerID, sessionID string, t Turn, now time.Time) error
}

var _ SessionStore = (*sessions)(nil)

// NewMemorySessions returns a SessionStore in memory: at most maxSessions conversations (the least
// recently used goes first), at most maxTurns turns each, each forgotten ttl after its last turn. A
// bound of zero or less takes its default (DefaultSessionTTL, DefaultMaxSessions, DefaultMaxTurns).
func NewMemorySessions(ttl time.Duration, maxSessions, maxTurns int) SessionStore {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	if maxSessions <= 0 {
		maxSessions = DefaultMaxSessions
	}
	if maxTurns <= 0 {
		maxTurns = DefaultMaxTurns
	}
	return newSessions(ttl, maxSessions, maxTurns)
}

// session is the memory of one conversation.
type session struct {
	key     string
	turns   []turn
	expires time.Time
}

// lastOrderIDs returns the orders of the most recent turn that was about orders.
func (s *session) lastOrderIDs() []string {
	for i := len(s.turns) - 1; i >= 0; i-- {
		if len(s.turns[i].OrderIDs) > 0 {
			return s.turns[i].OrderIDs
		}
	}
	return nil
}

// sessions keeps the last turns of recent conversations in memory: at most maxSessions conversations
// (the least recently used goes first), at most maxTurns turns each, each forgotten ttl after its last
// turn. A conversation is keyed by customer and session id, so a session id reused by another customer
// starts empty.
type sessions struct {
	mu          sync.Mutex
	ttl         time.Duration
	maxSessions int
	maxTurns    int
	byKey       map[string]*list.Element
	lru         *list.List // front = most recently used
}

func newSessions(ttl time.Duration, maxSessions, maxTurns int) *sessions {
	return &sessions{ttl: ttl, maxSessions: maxSessions, maxTurns: maxTurns, byKey: map[string]*list.Element{}, lru: list.New()}
}

// SessionKey is the key of a conversation: the customer id's length, the customer id and the session
// id. The length makes it unambiguous whatever the ids contain (a plain separator, even NUL, would let
// ("a\x00b", "c") and ("a", "b\x00c") share a conversation). Stores use it as their key.
func SessionKey(customerID, sessionID string) string {
	return strconv.Itoa(len(customerID)) + ":" + customerID + sessionID
}

func sessionKey(customerID, sessionID string) string { return SessionKey(customerID, sessionID) }

// Turns returns a copy of the turns of a live session, oldest first. It never fails.
func (ss *sessions) Turns(_ context.Context, customerID, sessionID string, now time.Time) ([]Turn, error) {
	return ss.get(customerID, sessionID, now), nil
}

// AddTurn appends a turn to the session (see add). It never fails.
func (ss *sessions) AddTurn(_ context.Context, customerID, sessionID string, t Turn, now time.Time) error {
	ss.add(customerID, sessionID, t, now)
	return nil
}

// get returns a copy of the turns of a live session, oldest first.
func (ss *sessions) get(customerID, sessionID string, now time.Time) []turn {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	el, ok := ss.byKey[sessionKey(customerID, sessionID)]
	if !ok {
		return nil
	}
	s := el.Value.(*session)
	if !now.Before(s.expires) {
		ss.remove(el)
		return nil
	}
	return append([]turn(nil), s.turns...)
}

// add appends a turn to the session, creating it if needed, and evicts what is over the bounds.
func (ss *sessions) add(customerID, sessionID string, t turn, now time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	key := sessionKey(customerID, sessionID)
	var s *session
	if el, ok := ss.byKey[key]; ok && now.Before(el.Value.(*session).expires) {
		s = el.Value.(*session)
		ss.lru.MoveToFront(el)
	} else {
		if ok {
			ss.remove(el)
		}
		s = &session{key: key}
		ss.byKey[key] = ss.lru.PushFront(s)
	}
	s.turns = append(s.turns, t)
	if len(s.turns) > ss.maxTurns {
		s.turns = append([]turn(nil), s.turns[len(s.turns)-ss.maxTurns:]...)
	}
	s.expires = now.Add(ss.ttl)
	for ss.lru.Len() > ss.maxSessions {
		ss.remove(ss.lru.Back())
	}
	// Drop expired sessions from the cold end, so that memory follows traffic.
	for el := ss.lru.Back(); el != nil && !now.Before(el.Value.(*session).expires); el = ss.lru.Back() {
		ss.remove(el)
	}
}

func (ss *sessions) remove(el *list.Element) {
	ss.lru.Remove(el)
	delete(ss.byKey, el.Value.(*session).key)
}

// len returns the number of sessions held, live or not yet swept.
func (ss *sessions) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.lru.Len()
}
