package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/input"
	"github.com/orderflow/orderflow/services/input/inputtest"
)

// TestHostileBodiesWriteNothingToTheStore runs the hostile bodies against the real server over SQLite:
// each is a 400 naming its field, and none leaves an order behind.
func TestHostileBodiesWriteNothingToTheStore(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, tt := range inputtest.HostileOrders() {
		r := s.Do("POST", "/orders", clientKey, tt.Body)
		if r.Status != tt.Status {
			t.Errorf("%s: status %d %s, want %d", tt.Name, r.Status, r.Body, tt.Status)
			continue
		}
		var e contracts.ErrorBody
		r.Decode(t, &e)
		if e.Error.Code != tt.Code || !cmp.Equal(e.Error.Details, tt.Details) {
			t.Errorf("%s: error %+v, want %s with %+v", tt.Name, e.Error, tt.Code, tt.Details)
		}
	}
	for _, customer := range []string{inputtest.Customer, inputtest.Other} {
		var list contracts.OrderList
		s.Do("GET", "/orders?customerId="+customer, clientKey, nil).Decode(t, &list)
		if len(list.Orders) != 0 {
			t.Errorf("hostile bodies wrote %d orders of %s", len(list.Orders), customer)
		}
	}
}

// TestAnOrderAtEveryLimitReadsBackExactly: on SQLite, an order whose every string is as long as it may
// be, in several scripts, reads back byte for byte and is found by its customer id.
func TestAnOrderAtEveryLimitReadsBackExactly(t *testing.T) {
	t.Parallel()
	s := start(t)
	body := inputtest.AtEveryLimit("limit-")
	r := s.Do("POST", "/orders", clientKey, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var o contracts.Order
	r.Decode(t, &o)
	got := s.Get(o.OrderID)
	if diff := cmp.Diff(sent(t, body), fieldsOf(got)); diff != "" {
		t.Errorf("read back (-sent +got):\n%s", diff)
	}
	var list contracts.OrderList
	s.Do("GET", "/orders?customerId="+url.QueryEscape(o.CustomerID), clientKey, nil).Decode(t, &list)
	if len(list.Orders) != 1 || list.Orders[0].OrderID != o.OrderID {
		t.Errorf("the customer's list = %+v, want the order", list.Orders)
	}
}

// sent is the strings of a create request body, by path.
func sent(t *testing.T, body string) map[string]string {
	t.Helper()
	v, err := input.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(path+"."+k, x)
			}
		case []any:
			for i, x := range v {
				walk(path+"["+string(rune('0'+i))+"]", x)
			}
		case string:
			if path != ".paymentToken" { // not part of the order as the API shows it
				out[path] = v
			}
		}
	}
	walk("", v)
	return out
}

// fieldsOf is the strings of an order that a create request sets, by the request's paths.
func fieldsOf(o contracts.Order) map[string]string {
	out := map[string]string{
		".customerId": o.CustomerID, ".currency": o.Currency, ".customerEmail": o.CustomerEmail, ".customerPhone": o.CustomerPhone,
		".shippingAddress.street": o.ShippingAddress.Street, ".shippingAddress.city": o.ShippingAddress.City,
		".shippingAddress.state": o.ShippingAddress.State, ".shippingAddress.zipCode": o.ShippingAddress.ZipCode,
		".shippingAddress.country": o.ShippingAddress.Country,
	}
	for i, it := range o.Items {
		p := ".items[" + string(rune('0'+i)) + "]"
		out[p+".productId"], out[p+".name"] = it.ProductID, it.Name
	}
	return out
}
