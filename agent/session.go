package agent

import (
	"container/list"
	"sync"
	"time"
)

// turn is one question and its answer.
type turn struct {
	Query    string
	Answer   string
	OrderIDs []string
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

func sessionKey(customerID, sessionID string) string { return customerID + "\x00" + sessionID }

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
