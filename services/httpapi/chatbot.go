package httpapi

import (
	"net/http"
	"unicode/utf8"

	"github.com/orderflow/orderflow/contracts"
)

// chat serves POST /chatbot: query (at most 2000 characters) and customerId are required.
func (s *server) chat(w http.ResponseWriter, r *http.Request) {
	v, err := s.readJSON(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var sh shape
	var req contracts.ChatRequest
	if m, ok := sh.root(v, "query", "customerId", "sessionId"); ok {
		req.Query = sh.str(m, "", "query")
		req.CustomerID = sh.str(m, "", "customerId")
		req.SessionID = sh.str(m, "", "sessionId")
		switch {
		case covered(sh.issues, "query"):
		case blank(req.Query):
			sh.bad("query", "is required")
		case utf8.RuneCountInString(req.Query) > maxChatQueryRunes:
			sh.bad("query", "must be at most 2000 characters")
		}
		if !covered(sh.issues, "customerId") && blank(req.CustomerID) {
			sh.bad("customerId", "is required")
		}
	}
	if err := sh.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.deps.Chatbot.Answer(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, resp)
}
