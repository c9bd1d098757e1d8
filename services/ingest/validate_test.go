package ingest_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/ingest"
)

// validRequest is a correct order of two lines totalling 2 × 10.25 + 1 × 5.50 = 26.00.
func validRequest() contracts.CreateOrderRequest {
	return contracts.CreateOrderRequest{
		CustomerID: "cust-1",
		Items: []contracts.OrderItemInput{
			{ProductID: "BOOK001", Name: "Go book", Quantity: "2", Price: "10.25"},
			{ProductID: "PEN001", Name: "Pen", Quantity: "1", Price: "5.5"},
		},
		TotalAmount:   "26.00",
		CustomerEmail: "ada@example.com",
		CustomerPhone: "+4915112345678",
		ShippingAddress: contracts.Address{
			Street: "1 Main St", City: "Berlin", State: "BE", ZipCode: "10115", Country: "DE",
		},
	}
}

func issues(err error) []fault.FieldIssue {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return nil
	}
	return fe.Fields
}

func TestValidate(t *testing.T) {
	t.Parallel()
	manyItems := func(n int) []contracts.OrderItemInput {
		items := make([]contracts.OrderItemInput, n)
		for i := range items {
			items[i] = contracts.OrderItemInput{ProductID: "P", Name: "n", Quantity: "1", Price: "1"}
		}
		return items
	}
	tests := []struct {
		name   string
		change func(r *contracts.CreateOrderRequest)
		want   []fault.FieldIssue
	}{
		{name: "valid request", change: func(*contracts.CreateOrderRequest) {}},
		{name: "optional fields absent", change: func(r *contracts.CreateOrderRequest) {
			r.CustomerPhone, r.Currency, r.PaymentToken = "", "", ""
		}},
		{name: "explicit currency", change: func(r *contracts.CreateOrderRequest) { r.Currency = "USD" }},
		{name: "100 items is the maximum", change: func(r *contracts.CreateOrderRequest) {
			r.Items, r.TotalAmount = manyItems(100), "100"
		}},
		{name: "quantity 1000 is the maximum", change: func(r *contracts.CreateOrderRequest) {
			r.Items = r.Items[:1]
			r.Items[0].Quantity, r.TotalAmount = "1000", "10250"
		}},
		{name: "free item", change: func(r *contracts.CreateOrderRequest) {
			r.Items[1].Price, r.TotalAmount = "0", "20.50"
		}},
		{
			name: "empty request reports every required field",
			change: func(r *contracts.CreateOrderRequest) {
				*r = contracts.CreateOrderRequest{}
			},
			want: []fault.FieldIssue{
				{Field: "customerId", Issue: "is required"},
				{Field: "items", Issue: "must have at least 1 item"},
				{Field: "totalAmount", Issue: "is required"},
				{Field: "customerEmail", Issue: "is required"},
				{Field: "shippingAddress.street", Issue: "is required"},
				{Field: "shippingAddress.city", Issue: "is required"},
				{Field: "shippingAddress.state", Issue: "is required"},
				{Field: "shippingAddress.zipCode", Issue: "is required"},
				{Field: "shippingAddress.country", Issue: "is required"},
			},
		},
		{
			name:   "blank customer id",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerID = "   " },
			want:   []fault.FieldIssue{{Field: "customerId", Issue: "is required"}},
		},
		{
			name:   "more than 100 items",
			change: func(r *contracts.CreateOrderRequest) { r.Items, r.TotalAmount = manyItems(101), "101" },
			want:   []fault.FieldIssue{{Field: "items", Issue: "must have at most 100 items"}},
		},
		{
			name: "item fields missing",
			change: func(r *contracts.CreateOrderRequest) {
				r.Items[1] = contracts.OrderItemInput{}
			},
			want: []fault.FieldIssue{
				{Field: "items[1].productId", Issue: "is required"},
				{Field: "items[1].name", Issue: "is required"},
				{Field: "items[1].quantity", Issue: "is required"},
				{Field: "items[1].price", Issue: "is required"},
			},
		},
		{
			name:   "quantity zero",
			change: func(r *contracts.CreateOrderRequest) { r.Items[0].Quantity = "0" },
			want:   []fault.FieldIssue{{Field: "items[0].quantity", Issue: "must be an integer from 1 to 1000"}},
		},
		{
			name:   "quantity over 1000",
			change: func(r *contracts.CreateOrderRequest) { r.Items[0].Quantity = "1001" },
			want:   []fault.FieldIssue{{Field: "items[0].quantity", Issue: "must be an integer from 1 to 1000"}},
		},
		{
			name:   "quantity negative",
			change: func(r *contracts.CreateOrderRequest) { r.Items[0].Quantity = "-1" },
			want:   []fault.FieldIssue{{Field: "items[0].quantity", Issue: "must be an integer from 1 to 1000"}},
		},
		{
			name:   "quantity fractional",
			change: func(r *contracts.CreateOrderRequest) { r.Items[0].Quantity = "1.5" },
			want:   []fault.FieldIssue{{Field: "items[0].quantity", Issue: "must be an integer from 1 to 1000"}},
		},
		{
			name:   "quantity in exponent form",
			change: func(r *contracts.CreateOrderRequest) { r.Items[0].Quantity = "2e0" },
			want:   []fault.FieldIssue{{Field: "items[0].quantity", Issue: "must be an integer from 1 to 1000"}},
		},
		{
			name:   "negative price",
			change: func(r *contracts.CreateOrderRequest) { r.Items[1].Price = "-5.50" },
			want:   []fault.FieldIssue{{Field: "items[1].price", Issue: "must not be negative"}},
		},
		{
			name:   "price with three decimals",
			change: func(r *contracts.CreateOrderRequest) { r.Items[1].Price = "5.505" },
			want:   []fault.FieldIssue{{Field: "items[1].price", Issue: "must be an amount with at most 2 decimals"}},
		},
		{
			name:   "total with three decimals",
			change: func(r *contracts.CreateOrderRequest) { r.TotalAmount = "26.001" },
			want:   []fault.FieldIssue{{Field: "totalAmount", Issue: "must be an amount with at most 2 decimals"}},
		},
		{
			name:   "negative total",
			change: func(r *contracts.CreateOrderRequest) { r.TotalAmount = "-26" },
			want:   []fault.FieldIssue{{Field: "totalAmount", Issue: "must not be negative"}},
		},
		{
			name:   "total off by one cent",
			change: func(r *contracts.CreateOrderRequest) { r.TotalAmount = "25.99" },
			want:   []fault.FieldIssue{{Field: "totalAmount", Issue: "must equal the sum of quantity × price (26.00)"}},
		},
		{
			// 0.1 + 0.2 is not 0.3 in float arithmetic; in cents it is.
			name: "total that float arithmetic would get wrong",
			change: func(r *contracts.CreateOrderRequest) {
				r.Items[0].Quantity, r.Items[0].Price = "1", "0.1"
				r.Items[1].Quantity, r.Items[1].Price = "1", "0.2"
				r.TotalAmount = "0.3"
			},
		},
		{
			name: "total is not checked against items that are themselves wrong",
			change: func(r *contracts.CreateOrderRequest) {
				r.Items[0].Quantity = "0"
				r.TotalAmount = "1"
			},
			want: []fault.FieldIssue{{Field: "items[0].quantity", Issue: "must be an integer from 1 to 1000"}},
		},
		{
			name: "total too large to add up",
			change: func(r *contracts.CreateOrderRequest) {
				r.Items = manyItems(100)
				for i := range r.Items {
					r.Items[i].Quantity, r.Items[i].Price = "1000", "999999999999"
				}
			},
			want: []fault.FieldIssue{{Field: "totalAmount", Issue: "the sum of quantity × price is too large"}},
		},
		{
			name:   "malformed email",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerEmail = "ada-at-example.com" },
			want:   []fault.FieldIssue{{Field: "customerEmail", Issue: "must be a valid email address"}},
		},
		{
			name:   "email with a display name",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerEmail = "Ada <ada@example.com>" },
			want:   []fault.FieldIssue{{Field: "customerEmail", Issue: "must be a valid email address"}},
		},
		{
			name:   "email without a domain dot",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerEmail = "ada@localhost" },
			want:   []fault.FieldIssue{{Field: "customerEmail", Issue: "must be a valid email address"}},
		},
		{
			name:   "phone without plus",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerPhone = "015112345678" },
			want:   []fault.FieldIssue{{Field: "customerPhone", Issue: "must be an E.164 phone number, e.g. +4915112345678"}},
		},
		{
			name:   "phone with spaces",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerPhone = "+49 151 12345678" },
			want:   []fault.FieldIssue{{Field: "customerPhone", Issue: "must be an E.164 phone number, e.g. +4915112345678"}},
		},
		{
			name:   "phone too long",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerPhone = "+1234567890123456" },
			want:   []fault.FieldIssue{{Field: "customerPhone", Issue: "must be an E.164 phone number, e.g. +4915112345678"}},
		},
		{
			name:   "lower-case currency",
			change: func(r *contracts.CreateOrderRequest) { r.Currency = "eur" },
			want:   []fault.FieldIssue{{Field: "currency", Issue: "must be an ISO 4217 currency code, e.g. EUR"}},
		},
		{
			name:   "currency of four letters",
			change: func(r *contracts.CreateOrderRequest) { r.Currency = "EURO" },
			want:   []fault.FieldIssue{{Field: "currency", Issue: "must be an ISO 4217 currency code, e.g. EUR"}},
		},
		{
			name:   "one address field blank",
			change: func(r *contracts.CreateOrderRequest) { r.ShippingAddress.ZipCode = " " },
			want:   []fault.FieldIssue{{Field: "shippingAddress.zipCode", Issue: "is required"}},
		},
		{
			name:   "yen amounts without decimals",
			change: yen("650", "2", "1300"),
		},
		{
			name:   "yen amount with decimals",
			change: yen("1299.99", "5", "6504.99"),
			want: []fault.FieldIssue{
				{Field: "items[0].price", Issue: "must be an amount without decimals: JPY has no minor unit"},
				{Field: "totalAmount", Issue: "must be an amount without decimals: JPY has no minor unit"},
			},
		},
		{
			name:   "yen amount with a zero decimal",
			change: yen("650.0", "2", "1300"),
			want:   []fault.FieldIssue{{Field: "items[0].price", Issue: "must be an amount without decimals: JPY has no minor unit"}},
		},
		{
			name:   "a currency with 3 decimals cannot be carried in hundredths",
			change: func(r *contracts.CreateOrderRequest) { r.Currency = "BHD" },
			want:   []fault.FieldIssue{{Field: "currency", Issue: "is not supported: BHD has 3 decimals, and amounts are carried with at most 2"}},
		},
		{
			name:   "a code without a minor unit is no currency",
			change: func(r *contracts.CreateOrderRequest) { r.Currency = "XAU" },
			want:   []fault.FieldIssue{{Field: "currency", Issue: "must be an ISO 4217 currency code, e.g. EUR"}},
		},
		{
			name:   "amount written with an exponent",
			change: func(r *contracts.CreateOrderRequest) { r.TotalAmount = "0.26e2" },
			want:   []fault.FieldIssue{{Field: "totalAmount", Issue: "must be a plain decimal number such as 12.50 (no exponent, no sign)"}},
		},
		{
			name:   "amount above the maximum",
			change: func(r *contracts.CreateOrderRequest) { r.TotalAmount = "1000000000000.01" },
			want:   []fault.FieldIssue{{Field: "totalAmount", Issue: "must be at most 1000000000000.00"}},
		},
		{
			name:   "quantity written as a decimal",
			change: func(r *contracts.CreateOrderRequest) { r.Items[0].Quantity = "2.0" },
			want:   []fault.FieldIssue{{Field: "items[0].quantity", Issue: "must be an integer from 1 to 1000"}},
		},
		{
			name:   "customer id of 128 characters in any script",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerID = strings.Repeat("é", 127) + "猫" },
		},
		{
			name:   "customer id of 129 characters",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerID = strings.Repeat("c", 129) },
			want:   []fault.FieldIssue{{Field: "customerId", Issue: "must be at most 128 characters (has 129)"}},
		},
		{
			name:   "customer id with NUL",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerID = "c\x00" },
			want:   []fault.FieldIssue{{Field: "customerId", Issue: "must not contain control characters (U+0000 at byte 1)"}},
		},
		{
			name:   "customer id with a right-to-left override",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerID = "c\u202egpj.exe" },
			want:   []fault.FieldIssue{{Field: "customerId", Issue: "must not contain format characters such as U+202E (U+202E at byte 1)"}},
		},
		{
			name:   "customer id not in NFC",
			change: func(r *contracts.CreateOrderRequest) { r.CustomerID = "rene\u0301" },
			want:   []fault.FieldIssue{{Field: "customerId", Issue: "must be in Unicode Normalization Form C (NFC)"}},
		},
		{
			name:   "product id with a tab",
			change: func(r *contracts.CreateOrderRequest) { r.Items[0].ProductID = "BOOK\t001" },
			want:   []fault.FieldIssue{{Field: "items[0].productId", Issue: "must not contain control characters (U+0009 at byte 4)"}},
		},
		{
			name: "names and address lines keep any script",
			change: func(r *contracts.CreateOrderRequest) {
				r.Items[0].Name, r.ShippingAddress.City = "کتاب\u200cها", "東京"
			},
		},
		{
			name:   "item name with a newline",
			change: func(r *contracts.CreateOrderRequest) { r.Items[0].Name = "Go\nbook" },
			want:   []fault.FieldIssue{{Field: "items[0].name", Issue: "must not contain control characters or line breaks (U+000A at byte 2)"}},
		},
		{
			name:   "street with a bidirectional override",
			change: func(r *contracts.CreateOrderRequest) { r.ShippingAddress.Street = "1 Main St\u202e" },
			want:   []fault.FieldIssue{{Field: "shippingAddress.street", Issue: "must not contain bidirectional override or isolate controls (U+202E at byte 9)"}},
		},
		{
			name:   "item name of 201 characters",
			change: func(r *contracts.CreateOrderRequest) { r.Items[0].Name = strings.Repeat("n", 201) },
			want:   []fault.FieldIssue{{Field: "items[0].name", Issue: "must be at most 200 characters (has 201)"}},
		},
		{
			name:   "zip code of 21 characters",
			change: func(r *contracts.CreateOrderRequest) { r.ShippingAddress.ZipCode = strings.Repeat("1", 21) },
			want:   []fault.FieldIssue{{Field: "shippingAddress.zipCode", Issue: "must be at most 20 characters (has 21)"}},
		},
		{
			name:   "payment token with a control character",
			change: func(r *contracts.CreateOrderRequest) { r.PaymentToken = "tok\tvisa" },
			want:   []fault.FieldIssue{{Field: "paymentToken", Issue: "must not contain control characters (U+0009 at byte 3)"}},
		},
		{
			name: "several problems are reported together",
			change: func(r *contracts.CreateOrderRequest) {
				r.CustomerID = ""
				r.Items[0].Price = "1.001"
				r.CustomerEmail = "nope"
				r.ShippingAddress.Country = ""
			},
			want: []fault.FieldIssue{
				{Field: "customerId", Issue: "is required"},
				{Field: "items[0].price", Issue: "must be an amount with at most 2 decimals"},
				{Field: "customerEmail", Issue: "must be a valid email address"},
				{Field: "shippingAddress.country", Issue: "is required"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := validRequest()
			tt.change(&req)
			err := ingest.Validate(req)
			if diff := cmp.Diff(tt.want, issues(err)); diff != "" {
				t.Errorf("issues (-want +got):\n%s", diff)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !fault.Is(err, fault.Invalid) || fault.CodeOf(err) != contracts.CodeValidationFailed {
				t.Errorf("error kind %v code %q, want invalid %s", fault.KindOf(err), fault.CodeOf(err), contracts.CodeValidationFailed)
			}
		})
	}
}

func TestValidateDoesNotUseFloats(t *testing.T) {
	t.Parallel()
	// 3 × 19.99 is 59.97 exactly; float64 gives 59.968...
	req := validRequest()
	req.Items = []contracts.OrderItemInput{{ProductID: "A", Name: "a", Quantity: json.Number("3"), Price: json.Number("19.99")}}
	req.TotalAmount = "59.97"
	if err := ingest.Validate(req); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	req.TotalAmount = "59.96"
	if got := issues(ingest.Validate(req)); len(got) != 1 || !strings.HasPrefix(got[0].Issue, "must equal") {
		t.Fatalf("issues = %v, want a total mismatch", got)
	}
}

// yen returns a change to an order in JPY whose first line has the given price and quantity and whose
// second line is removed.
func yen(price, quantity, total string) func(*contracts.CreateOrderRequest) {
	return func(r *contracts.CreateOrderRequest) {
		r.Currency = "JPY"
		r.Items = r.Items[:1]
		r.Items[0].Price, r.Items[0].Quantity = json.Number(price), json.Number(quantity)
		r.TotalAmount = json.Number(total)
	}
}
