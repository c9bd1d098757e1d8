package ingest

import (
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"strconv"
	"strings"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/order"
)

// Defaults applied to the optional fields of a create request.
const (
	DefaultCurrency     = "EUR"
	DefaultPaymentToken = "tok_visa"
)

// MaxIdempotencyKeyLength bounds the Idempotency-Key a client may send.
const MaxIdempotencyKeyLength = 255

var (
	e164     = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	currency = regexp.MustCompile(`^[A-Z]{3}$`)
)

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
	if v.required("customerId", req.CustomerID) && strings.TrimSpace(req.CustomerID) != req.CustomerID {
		// One spelling per customer: the id scopes order lists and the chatbot exactly as stored.
		v.bad("customerId", "must not start or end with whitespace")
	}

	// itemsOK says whether every item has a usable quantity and price, so that the total can be checked.
	itemsOK := false
	switch {
	case len(req.Items) == 0:
		v.bad("items", "must have at least 1 item")
	case len(req.Items) > order.MaxItems:
		v.bad("items", fmt.Sprintf("must have at most %d items", order.MaxItems))
	default:
		itemsOK = true
	}
	var sum contracts.Amount
	overflow := false
	for i, in := range req.Items {
		path := fmt.Sprintf("items[%d]", i)
		v.required(path+".productId", in.ProductID)
		v.required(path+".name", in.Name)
		q, qOK := v.quantity(path+".quantity", in.Quantity)
		p, pOK := v.amount(path+".price", in.Price)
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

	total, totalOK := v.amount("totalAmount", req.TotalAmount)
	switch {
	case totalOK && overflow:
		v.bad("totalAmount", "the sum of quantity × price is too large")
	case totalOK && itemsOK && total != sum:
		v.bad("totalAmount", fmt.Sprintf("must equal the sum of quantity × price (%s)", sum))
	}
	d.Total = total

	if d.Currency == "" {
		d.Currency = DefaultCurrency
	} else if !currency.MatchString(d.Currency) {
		v.bad("currency", "must be an ISO 4217 code of 3 upper-case letters, e.g. EUR")
	}
	if v.required("customerEmail", req.CustomerEmail) && !validEmail(req.CustomerEmail) {
		v.bad("customerEmail", "must be a valid email address")
	}
	if req.CustomerPhone != "" && !e164.MatchString(req.CustomerPhone) {
		v.bad("customerPhone", "must be an E.164 phone number, e.g. +4915112345678")
	}
	if d.PaymentToken == "" {
		d.PaymentToken = DefaultPaymentToken
	}
	a := req.ShippingAddress
	v.required("shippingAddress.street", a.Street)
	v.required("shippingAddress.city", a.City)
	v.required("shippingAddress.state", a.State)
	v.required("shippingAddress.zipCode", a.ZipCode)
	v.required("shippingAddress.country", a.Country)

	if err := v.err(); err != nil {
		return order.Draft{}, err
	}
	return d, nil
}

// validator collects the problems of one request.
type validator struct {
	issues []fault.FieldIssue
}

func (v *validator) bad(field, issue string) {
	v.issues = append(v.issues, fault.FieldIssue{Field: field, Issue: issue})
}

// required reports whether s has content, recording an issue if not.
func (v *validator) required(field, s string) bool {
	if strings.TrimSpace(s) == "" {
		v.bad(field, "is required")
		return false
	}
	return true
}

func (v *validator) quantity(field string, n fmt.Stringer) (int, bool) {
	s := n.String()
	if s == "" {
		v.bad(field, "is required")
		return 0, false
	}
	q, err := strconv.Atoi(s)
	if err != nil || q < 1 || q > order.MaxQuantity {
		v.bad(field, fmt.Sprintf("must be an integer from 1 to %d", order.MaxQuantity))
		return 0, false
	}
	return q, true
}

func (v *validator) amount(field string, n fmt.Stringer) (contracts.Amount, bool) {
	s := n.String()
	if s == "" {
		v.bad(field, "is required")
		return 0, false
	}
	a, err := contracts.ParseAmount(s)
	switch {
	case err != nil && strings.HasPrefix(s, "-"):
		v.bad(field, "must not be negative")
		return 0, false
	case err != nil:
		v.bad(field, "must be an amount with at most 2 decimals")
		return 0, false
	}
	return a, true
}

func (v *validator) err() error {
	if len(v.issues) == 0 {
		return nil
	}
	return &fault.Error{Kind: fault.Invalid, Code: contracts.CodeValidationFailed, Message: "the order request is invalid", Fields: v.issues}
}

// validEmail accepts a bare addr-spec (no display name, no angle brackets) whose domain has a dot.
func validEmail(s string) bool {
	if len(s) > 254 {
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
