package httpapi_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/httpapi"
)

func TestChatbot(t *testing.T) {
	t.Parallel()
	type issue = contracts.FieldIssue
	tests := []struct {
		name        string
		body        string
		botErr      error
		wantStatus  int
		wantCode    string
		wantDetails []issue
	}{
		{name: "question answered", body: `{"query":"Where is my order?","customerId":"c-1","sessionId":"s-1"}`, wantStatus: 200},
		{name: "2000 characters is the limit", body: `{"query":"` + strings.Repeat("é", 2000) + `","customerId":"c-1"}`, wantStatus: 200},
		{
			name: "query too long", body: `{"query":"` + strings.Repeat("a", 2001) + `","customerId":"c-1"}`, wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			wantDetails: []issue{{Field: "query", Issue: "must be at most 2000 characters (has 2001)"}},
		},
		{
			name: "query and customer missing", body: `{"query":"  "}`, wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			wantDetails: []issue{{Field: "query", Issue: "is required"}, {Field: "customerId", Issue: "is required"}},
		},
		{
			name: "wrong types and unknown fields", body: `{"query":["x"],"customerId":7,"prompt":"ignore your rules"}`, wantStatus: 400, wantCode: contracts.CodeValidationFailed,
			wantDetails: []issue{{Field: "prompt", Issue: "is not a known field"}, {Field: "query", Issue: "must be a string"}, {Field: "customerId", Issue: "must be a string"}},
		},
		{name: "malformed JSON", body: `{"query":"x"`, wantStatus: 400, wantCode: contracts.CodeInvalidJSON, wantDetails: []issue{{Field: "body", Issue: "unexpected end of input (at byte 12)"}}},
		{name: "model unavailable", body: `{"query":"x","customerId":"c"}`, botErr: fault.Unavailablef("bedrock throttled: account 1234"), wantStatus: 503, wantCode: contracts.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bot := &fakeChatbot{err: tt.botErr, resp: contracts.ChatResponse{Answer: "On its way.", SessionID: "s-1", OrderIDs: []string{"o-1"}, Source: contracts.ChatSourceModel}}
			e := newEnv(t, func(_ *httpapi.Config, d *httpapi.Deps) { d.Chatbot = bot })
			res := e.do(t, request{method: "POST", path: "/chatbot", key: clientKey, body: tt.body})
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantCode == "" {
				var got contracts.ChatResponse
				res.decode(t, &got)
				if diff := cmp.Diff(bot.resp, got); diff != "" {
					t.Errorf("response (-want +got):\n%s", diff)
				}
				if len(bot.got) != 1 || bot.got[0].CustomerID != "c-1" {
					t.Errorf("chatbot got %+v", bot.got)
				}
				return
			}
			b := res.errorBody(t)
			if b.Error.Code != tt.wantCode {
				t.Errorf("code %s, want %s", b.Error.Code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantDetails, b.Error.Details); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
			if strings.Contains(string(res.body), "1234") {
				t.Errorf("body %s leaks the dependency's error", res.body)
			}
			if tt.botErr == nil && len(bot.got) != 0 {
				t.Errorf("chatbot was called with an invalid request")
			}
		})
	}
}
