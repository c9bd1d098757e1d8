package httpapi

import (
	"net/http"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/input"
)

// chat serves POST /chatbot: query (free text of at most contracts.MaxChatQueryLength characters, newlines
// allowed) and customerId (an identifier, as in POST /orders) are required; sessionId is an identifier.
func (s *server) chat(w http.ResponseWriter, r *http.Request) {
	req, ok := s.readChat(w, r)
	if !ok {
		return
	}
	resp, err := s.deps.Chatbot.Answer(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, resp)
}

// readChat reads and checks a chat request body, answering the error itself when it is not valid.
func (s *server) readChat(w http.ResponseWriter, r *http.Request) (contracts.ChatRequest, bool) {
	v, err := s.readJSON(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return contracts.ChatRequest{}, false
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
		default:
			sh.check("query", input.MultilineText(req.Query, contracts.MaxChatQueryLength))
		}
		if !covered(sh.issues, "customerId") {
			sh.check("customerId", input.Identifier(req.CustomerID, contracts.MaxCustomerIDLength))
		}
		if !covered(sh.issues, "sessionId") && req.SessionID != "" {
			sh.check("sessionId", input.Identifier(req.SessionID, contracts.MaxSessionIDLength))
		}
	}
	if err := sh.err(); err != nil {
		s.writeError(w, r, err)
		return contracts.ChatRequest{}, false
	}
	return req, true
}
