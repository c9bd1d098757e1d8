package ingest

import (
	"errors"
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"strconv"
	"strings"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/input"
	"github.com/orderflow/orderflow/services/order"
)

// Defaults applied to the optional fields of a create request.
const (
	DefaultCurrency     = "EUR"
	DefaultPaymentToken = "tok_visa"
)

// MaxIdempotencyKeyLength bounds the Idempotency-Key a client may send.
const MaxIdempotencyKeyLength = contracts.MaxIdempotencyKeyLength

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// Validate checks a create request in one pass and returns nil or a fault.Invalid error with code
// VALIDATION_FAILED carrying one FieldIssue per problem. It is what Create checks before storing
// anything; the HTTP API also calls it to report decoding problems and rule violations together.
func Validate(req contracts.CreateOrderRequest) error {
	_, err := draft(req)
	return err
}

// draft validates req and turns it into an order draft without id or correlation id, defaults applied.
func draft(req contracts.CreateOrderRequest) (order.Draft, error) {
	var v validator
	d := order.Draft{
		CustomerID:      req.CustomerID,
		CustomerEmail:   req.CustomerEmail,
		CustomerPhone:   req.CustomerPhone,
		Currency:        req.Currency,
		PaymentToken:    req.PaymentToken,
		ShippingAddress: req.ShippingAddress,
	}
	// One spelling per customer: the id scopes order lists and the chatbot exactly as stored.
	v.identifier(at("customerId"), req.CustomerID, contracts.MaxCustomerIDLength)

	// The currency comes first: it says how many decimals the amounts may have.
	decimals := contracts.AmountDecimals
	if d.Currency == "" {
		d.Currency = DefaultCurrency
	}
	if _, known := contracts.CurrencyDecimals(d.Currency); !known {
		v.bad(at("currency"), "must be an ISO 4217 currency code, e.g. EUR")
	} else if err := contracts.CheckCurrency(d.Currency); err != nil {
		v.bad(at("currency"), "is not supported: "+err.Error())
	} else {
		decimals, _ = contracts.CurrencyDecimals(d.Currency)
	}

	// itemsOK says whether every item has a usable quantity and price, so that the total can be checked.
	itemsOK := false
	switch {
	case len(req.Items) == 0:
		v.bad(at("items"), "must have at least 1 item")
	case len(req.Items) > order.MaxItems:
		v.bad(at("items"), fmt.Sprintf("must have at most %d items", order.MaxItems))
	default:
		itemsOK = true
	}
	var sum contracts.Amount
	overflow := false
	d.Items = make([]order.Item, 0, min(len(req.Items), order.MaxItems)) // a refused request of 20,000 items reserves no room for them
	for i, in := range req.Items {
		v.identifier(item(i, "productId"), in.ProductID, contracts.MaxProductIDLength)
		v.text(item(i, "name"), in.Name, contracts.MaxNameLength)
		q, qOK := v.quantity(item(i, "quantity"), in.Quantity)
		p, pOK := v.amount(item(i, "price"), in.Price, d.Currency, decimals)
		if !qOK || !pOK {
			itemsOK = false
			continue
		}
		line := contracts.Amount(q) * p // q ≤ 1000 and p ≤ 10^14, so this cannot overflow
		if sum > math.MaxInt64-line {
			overflow = true
		} else {
			sum += line
		}
		d.Items = append(d.Items, order.Item{ProductID: in.ProductID, Name: in.Name, Quantity: q, Price: p})
	}

	total, totalOK := v.amount(at("totalAmount"), req.TotalAmount, d.Currency, decimals)
	switch {
	case totalOK && overflow:
		v.bad(at("totalAmount"), "the sum of quantity × price is too large")
	case totalOK && itemsOK && total != sum:
		v.bad(at("totalAmount"), fmt.Sprintf("must equal the sum of quantity × price (%s)", contracts.FormatAmount(sum, d.Currency)))
	}
	d.Total = total

	if v.required(at("customerEmail"), req.CustomerEmail) && !validEmail(req.CustomerEmail) {
		v.bad(at("customerEmail"), "must be a valid email address")
	}
	if req.CustomerPhone != "" && !e164.MatchString(req.CustomerPhone) {
		v.bad(at("customerPhone"), "must be an E.164 phone number, e.g. +4915112345678")
	}
	if d.PaymentToken == "" {
		d.PaymentToken = DefaultPaymentToken
	} else {
		v.identifier(at("paymentToken"), d.PaymentToken, contracts.MaxPaymentTokenLength)
	}
	a := req.ShippingAddress
	v.text(at("shippingAddress.street"), a.Street, contracts.MaxStreetLength)
	v.text(at("shippingAddress.city"), a.City, contracts.MaxAddressFieldLength)
	v.text(at("shippingAddress.state"), a.State, contracts.MaxAddressFieldLength)
	v.text(at("shippingAddress.zipCode"), a.ZipCode, contracts.MaxZipCodeLength)
	v.text(at("shippingAddress.country"), a.Country, contracts.MaxAddressFieldLength)

	if err := v.err(); err != nil {
		return order.Draft{}, err
	}
	return d, nil
}

// validator collects the problems of one request.
type validator struct {
	issues []fault.FieldIssue
}

// field names a field of the request, spelt out only when it has a problem: most requests have none.
type field struct {
	item int    // the index of the item whose field it is, or -1 for a field of the request
	name string // the field's name, or its path in the request (shippingAddress.city)
}

// at is the request's field name.
func at(name string) field { return field{item: -1, name: name} }

// item is the field name of the i-th item.
func item(i int, name string) field { return field{item: i, name: name} }

// String is the field's path, as a FieldIssue reports it: customerId, items[0].price.
func (f field) String() string {
	if f.item < 0 {
		return f.name
	}
	return "items[" + strconv.Itoa(f.item) + "]." + f.name
}

func (v *validator) bad(f field, issue string) {
	v.issues = append(v.issues, fault.FieldIssue{Field: f.String(), Issue: issue})
}

// required reports whether s has content, recording an issue if not.
func (v *validator) required(f field, s string) bool {
	if strings.TrimSpace(s) == "" {
		v.bad(f, "is required")
		return false
	}
	return true
}

// identifier records what is wrong with a required identifier (see input.Identifier).
func (v *validator) identifier(f field, s string, max int) {
	if issue := input.Identifier(s, max); issue != "" {
		v.bad(f, issue)
	}
}

// text records what is wrong with required free text of one line (see input.Text).
func (v *validator) text(f field, s string, max int) {
	if !v.required(f, s) {
		return
	}
	if issue := input.Text(s, max); issue != "" {
		v.bad(f, issue)
	}
}

// quantity reads an order line's quantity: an integer written as one (not 1.0, 1e0 or -0), from 1 to
// order.MaxQuantity.
func (v *validator) quantity(f field, n fmt.Stringer) (int, bool) {
	s := n.String()
	if s == "" {
		v.bad(f, "is required")
		return 0, false
	}
	q, err := strconv.Atoi(s)
	if err != nil || s != strconv.Itoa(q) || q < 1 || q > order.MaxQuantity {
		v.bad(f, fmt.Sprintf("must be an integer from 1 to %d", order.MaxQuantity))
		return 0, false
	}
	return q, true
}

// amount reads a sum of money in currency, which has the given number of decimals.
func (v *validator) amount(f field, n fmt.Stringer, currency string, decimals int) (contracts.Amount, bool) {
	s := n.String()
	if s == "" {
		v.bad(f, "is required")
		return 0, false
	}
	a, err := contracts.ParseAmountDecimals(s, decimals)
	if err != nil {
		v.bad(f, AmountIssue(err, currency, decimals))
		return 0, false
	}
	return a, true
}

// AmountIssue says what is wrong with an amount that contracts.ParseAmountDecimals refused with err, in
// a currency with the given number of decimals (currency may be "" when there is none, as for the
// catalog's prices).
func AmountIssue(err error, currency string, decimals int) string {
	switch {
	case errors.Is(err, contracts.ErrAmountNegative):
		return "must not be negative"
	case errors.Is(err, contracts.ErrAmountPrecision) && decimals == 0:
		return fmt.Sprintf("must be an amount without decimals: %s has no minor unit", currency)
	case errors.Is(err, contracts.ErrAmountPrecision):
		return fmt.Sprintf("must be an amount with at most %d decimals", decimals)
	case errors.Is(err, contracts.ErrAmountRange):
		return "must be at most " + contracts.MaxAmount.String()
	}
	return "must be a plain decimal number such as 12.50 (no exponent, no sign)"
}

func (v *validator) err() error {
	if len(v.issues) == 0 {
		return nil
	}
	return &fault.Error{Kind: fault.Invalid, Code: contracts.CodeValidationFailed, Message: "the order request is invalid", Fields: v.issues}
}

// validEmail accepts a bare addr-spec (no display name, no angle brackets) whose domain has a dot.
func validEmail(s string) bool {
	if len(s) > contracts.MaxEmailLength || input.Text(s, contracts.MaxEmailLength) != "" {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	domain := s[strings.LastIndexByte(s, '@')+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// validIdempotencyKey accepts 1 to MaxIdempotencyKeyLength printable ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) > MaxIdempotencyKeyLength {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
