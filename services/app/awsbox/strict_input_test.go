package awsbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/app/apitest"
	"github.com/orderflow/orderflow/services/app/awsbox"
	"github.com/orderflow/orderflow/services/input/inputtest"
)

// TestHostileBodiesAreRefusedAtTheDoorOnAWS runs the hostile bodies through API Gateway proxy events
// into the api function on DynamoDB Local: each is the same 400 as locally, and none leaves an order.
func TestHostileBodiesAreRefusedAtTheDoorOnAWS(t *testing.T) {
	s := sharedSystem(t)
	for _, tt := range inputtest.HostileOrders() {
		status, b := s.raw(t, "POST", "/orders", tt.Body)
		if status != tt.Status {
			t.Errorf("%s: status %d %s, want %d", tt.Name, status, b, tt.Status)
			continue
		}
		var e contracts.ErrorBody
		apitest.Response{Status: status, Body: b}.Decode(t, &e)
		if e.Error.Code != tt.Code || !cmp.Equal(e.Error.Details, tt.Details) {
			t.Errorf("%s: error %+v, want %s with %+v", tt.Name, e.Error, tt.Code, tt.Details)
		}
	}
	for _, customer := range []string{inputtest.Customer, inputtest.Other} {
		var list contracts.OrderList
		s.Do("GET", "/orders?customerId="+customer, awsbox.ClientKey, nil).Decode(t, &list)
		if len(list.Orders) != 0 {
			t.Errorf("hostile bodies wrote %d orders of %s", len(list.Orders), customer)
		}
	}
}

// TestAnOrderAtEveryLimitFitsDynamoDB: an order whose every string is as long as it may be, with
// multi-byte characters in the ids that are parts of keys (CUSTOMER#<id>, PRODUCT#<id>), is stored,
// reads back byte for byte and is found by its customer id through the index.
func TestAnOrderAtEveryLimitFitsDynamoDB(t *testing.T) {
	s := sharedSystem(t)
	status, b := s.raw(t, "POST", "/orders", inputtest.AtEveryLimit("aws-limit-"))
	if status != http.StatusCreated {
		t.Fatalf("status %d: %s", status, b)
	}
	var o contracts.Order
	apitest.Response{Status: status, Body: b}.Decode(t, &o)
	got := s.Get(o.OrderID)
	if diff := cmp.Diff(o.CustomerID, got.CustomerID); diff != "" || !cmp.Equal(o.Items, got.Items) || o.ShippingAddress != got.ShippingAddress {
		t.Errorf("read back differs: created %+v, read %+v", o, got)
	}
	var want contracts.Order
	apitest.Response{Body: []byte(inputtest.AtEveryLimit("aws-limit-"))}.Decode(t, &want)
	if got.CustomerID != want.CustomerID || got.ShippingAddress != want.ShippingAddress || got.CustomerEmail != want.CustomerEmail || got.Items[0].Name != want.Items[0].Name || got.Items[0].ProductID != want.Items[0].ProductID {
		t.Errorf("read back %+v, sent %+v", got, want)
	}
	waitForList(t, s, got.CustomerID, o.OrderID)
}

// waitForList waits for the customer's list (an eventually consistent index) to show the order.
func waitForList(t *testing.T, s *system, customer, orderID string) {
	t.Helper()
	for range 50 {
		var list contracts.OrderList
		s.Do("GET", "/orders?customerId="+url.QueryEscape(customer), awsbox.ClientKey, nil).Decode(t, &list)
		if len(list.Orders) == 1 && list.Orders[0].OrderID == orderID {
			return
		}
	}
	t.Errorf("the list of customer %q never showed order %s", customer, orderID)
}

// raw sends body as it is, byte for byte (do encodes its body as JSON).
func (s *system) raw(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", awsbox.ClientKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestIDsThatAreNotUTF8FindNothingOnAWS: DynamoDB's SDK sends a string that is not UTF-8 with each bad
// byte replaced by U+FFFD, so looking one up would find what belongs to the id spelt with U+FFFD. The
// orders of customer "\ufffd" are not the list of customer "\xff", nor its product the product "\xff".
func TestIDsThatAreNotUTF8FindNothingOnAWS(t *testing.T) {
	s := sharedSystem(t)
	o := s.Create(orderBody("\ufffd"))
	waitForList(t, s, "\ufffd", o.OrderID)
	if r := s.Do("GET", "/orders?customerId=%FF", awsbox.ClientKey, nil); r.Status != http.StatusBadRequest {
		t.Errorf("GET /orders?customerId=%%FF = %d %s, want 400 (and never the orders of customer \\ufffd)", r.Status, r.Body)
	}
	s.PutStock("\ufffd", "Replacement", 1, 1)
	if r := s.Do("GET", "/inventory/%FF", awsbox.AdminKey, nil); r.Status != http.StatusNotFound {
		t.Errorf("GET /inventory/%%FF = %d %s, want 404 (and never product \\ufffd)", r.Status, r.Body)
	}
}

// TestTheHealthRouteIsOpenToEveryMethodOnAWS: a probe needs no key for /healthz whatever its method, as
// locally. GET and HEAD are answered 200; another method is the function's 405 with the methods it takes,
// never API Gateway's 403 about a missing key. (Plain requests: HEAD and POST /healthz are not API
// operations, so they are not in the OpenAPI document that s.Do checks answers against.)
func TestTheHealthRouteIsOpenToEveryMethodOnAWS(t *testing.T) {
	s := sharedSystem(t)
	send := func(method string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, s.URL+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s /healthz: %v", method, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, body
	}
	for _, method := range []string{"GET", "HEAD"} {
		if res, body := send(method); res.StatusCode != http.StatusOK {
			t.Errorf("%s /healthz without a key = %d %s, want 200", method, res.StatusCode, body)
		}
	}
	res, body := send("POST")
	var e contracts.ErrorBody
	_ = json.Unmarshal(body, &e)
	if res.StatusCode != http.StatusMethodNotAllowed || e.Error.Code != contracts.CodeMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /healthz without a key = %d %s (Allow %q), want 405 METHOD_NOT_ALLOWED allowing GET, HEAD", res.StatusCode, body, res.Header.Get("Allow"))
	}
}
