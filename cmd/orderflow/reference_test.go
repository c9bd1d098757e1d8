package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/app/apitest"
	"github.com/orderflow/orderflow/services/order"
)

// TestOrdersAreFoundByTheirReference drives the binary: two orders of one customer placed back to back
// (their ids share the first 8 characters) have different references, each of which the API and the
// chatbot resolve to its own order, and the texts show; another customer's reference is not found.
func TestOrdersAreFoundByTheirReference(t *testing.T) {
	t.Parallel()
	s := start(t)
	first := s.Create(apitest.OrderBody("c-ref", nil))
	second := s.Create(apitest.OrderBody("c-ref", nil))
	theirs := s.Create(apitest.OrderBody("c-ref-other", nil))
	for _, o := range []contracts.Order{first, second, theirs} {
		if ref, err := order.ParseReference(o.Reference); err != nil || ref != o.Reference {
			t.Fatalf("order %s has reference %q, want a canonical reference (%v)", o.OrderID, o.Reference, err)
		}
	}
	if first.Reference == second.Reference {
		t.Fatalf("two orders share reference %s", first.Reference)
	}
	byReference := func(customer, ref string) []string {
		t.Helper()
		r := s.Do("GET", "/orders?customerId="+url.QueryEscape(customer)+"&reference="+url.QueryEscape(ref), clientKey, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET by reference = %d %s", r.Status, r.Body)
		}
		var list contracts.OrderList
		r.Decode(t, &list)
		ids := []string{}
		for _, o := range list.Orders {
			ids = append(ids, o.OrderID)
		}
		return ids
	}
	ask := func(customer, query string) contracts.ChatResponse {
		t.Helper()
		r := s.Do("POST", "/chatbot", clientKey, contracts.ChatRequest{Query: query, CustomerID: customer})
		if r.Status != http.StatusOK {
			t.Fatalf("chatbot = %d %s", r.Status, r.Body)
		}
		var resp contracts.ChatResponse
		r.Decode(t, &resp)
		return resp
	}
	for _, o := range []contracts.Order{first, second} {
		if diff := cmp.Diff([]string{o.OrderID}, byReference("c-ref", strings.ToLower(strings.ReplaceAll(o.Reference, "-", "")))); diff != "" {
			t.Errorf("GET by reference %s (-want +got):\n%s", o.Reference, diff)
		}
		got := ask("c-ref", "What's the status of order "+o.Reference+"?")
		if !strings.Contains(got.Answer, o.Reference) || !cmp.Equal([]string{o.OrderID}, got.OrderIDs) {
			t.Errorf("chatbot about %s = %+v, want an answer about order %s naming its reference", o.Reference, got, o.OrderID)
		}
	}
	if got := byReference("c-ref", theirs.Reference); len(got) != 0 {
		t.Errorf("GET another customer's reference = %v, want nothing", got)
	}
	leak := ask("c-ref", "Where is order "+theirs.Reference+"?")
	if !strings.Contains(leak.Answer, "couldn't find") || len(leak.OrderIDs) != 0 {
		t.Errorf("chatbot about another customer's reference = %+v, want not found", leak)
	}
	s.Await(first.OrderID)
	apitest.WaitFor(t, func() bool { return len(textsAbout(s.texts(), first.Reference)) >= 2 }, "the texts of "+first.Reference)
}
