// Package inputtest holds the hostile request bodies every runtime's API must refuse the same way, and
// an order at every limit that it must accept and read back exactly. The HTTP API's tests run them in
// process and through API Gateway proxy events; the end-to-end tests run them against the real stores
// (SQLite locally, DynamoDB Local for the AWS functions) to show that a refused body writes nothing.
package inputtest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/orderflow/orderflow/contracts"
)

// Customer is the customer of every hostile body (but those about the customer id itself), and Other
// the second value of the duplicated customerId: neither may have an order once the table has run.
const (
	Customer = "hostile-1"
	Other    = "hostile-2"
)

// Case is one body for POST /orders and how it must be answered.
type Case struct {
	Name string
	Body string
	// Status and Code are the answer: 400 INVALID_JSON or VALIDATION_FAILED.
	Status int
	Code   string
	// Details are the error's details, exactly.
	Details []contracts.FieldIssue
}

// OrderBody is a valid order of Customer, compact, in a fixed key order: 2 × 10.25 = 20.50 EUR.
const OrderBody = `{"customerId":"` + Customer + `","items":[{"productId":"BOOK001","name":"Go book","quantity":2,"price":10.25}],` +
	`"totalAmount":20.50,"currency":"EUR","customerEmail":"ada@example.com","customerPhone":"+4915112345678","paymentToken":"tok_visa",` +
	`"shippingAddress":{"street":"1 Main St","city":"Berlin","state":"BE","zipCode":"10115","country":"DE"}}`

// Set returns body with the value of key (which occurs once in it, and whose value is a string, a
// number or a whole object or array without nested ones) replaced by raw JSON.
func Set(body, key, raw string) string {
	i := strings.Index(body, `"`+key+`":`)
	if i < 0 {
		panic("inputtest: no key " + key)
	}
	start := i + len(key) + 3
	end := start
	switch body[start] {
	case '[':
		end = strings.Index(body[start:], "]") + start + 1
	case '{':
		end = strings.Index(body[start:], "}") + start + 1
	case '"':
		end = strings.Index(body[start+1:], `"`) + start + 2
	default:
		end = start + strings.IndexAny(body[start:], ",}")
	}
	return body[:start] + raw + body[end:]
}

func str(s string) string { return `"` + s + `"` }

func invalid(field, issue string) []contracts.FieldIssue {
	return []contracts.FieldIssue{{Field: field, Issue: issue}}
}

// at is the offset of the n-th (from 1) occurrence of sub in s.
func at(s, sub string, n int) int {
	off := 0
	for ; n > 1; n-- {
		off += strings.Index(s[off:], sub) + len(sub)
	}
	return off + strings.Index(s[off:], sub)
}

// HostileOrders are the bodies POST /orders must refuse with a 400 that names the field, writing nothing.
func HostileOrders() []Case {
	const invalidJSON, failed = contracts.CodeInvalidJSON, contracts.CodeValidationFailed
	var cases []Case
	syntax := func(name, body, field, issue string, off int) {
		cases = append(cases, Case{Name: name, Body: body, Status: http.StatusBadRequest, Code: invalidJSON,
			Details: invalid(field, fmt.Sprintf("%s (at byte %d)", issue, off))})
	}
	rule := func(name, body string, details ...contracts.FieldIssue) {
		cases = append(cases, Case{Name: name, Body: body, Status: http.StatusBadRequest, Code: failed, Details: details})
	}
	issue := func(field, text string) contracts.FieldIssue { return contracts.FieldIssue{Field: field, Issue: text} }

	// The body as JSON.
	dup := strings.TrimSuffix(OrderBody, "}") + `,"customerId":"` + Other + `"}`
	syntax("duplicate key: the last one would win", dup, "customerId", `duplicate key "customerId"`, at(dup, `"customerId"`, 2))
	dupEscaped := strings.TrimSuffix(OrderBody, "}") + `,"customer\u0049d":"` + Other + `"}`
	syntax("duplicate key spelt with an escape", dupEscaped, "customerId", `duplicate key "customerId"`, at(dupEscaped, `"customer\u0049d"`, 1))
	dupItem := strings.Replace(OrderBody, `"quantity":2,`, `"quantity":2,"quantity":200,`, 1)
	syntax("duplicate key in an item", dupItem, "items[0].quantity", `duplicate key "quantity"`, at(dupItem, `"quantity"`, 2))
	badUTF8 := Set(OrderBody, "customerId", "\"hostile-\xff1\"")
	syntax("invalid UTF-8 in a string", badUTF8, "body", "is not valid UTF-8", at(badUTF8, "\xff", 1))
	latin1 := Set(OrderBody, "city", "\"K\xf6ln\"")
	syntax("Latin-1 instead of UTF-8", latin1, "body", "is not valid UTF-8", at(latin1, "\xf6", 1))
	surrogate := Set(OrderBody, "customerId", `"hostile-\ud800"`)
	syntax("escaped lone surrogate", surrogate, "customerId", "escapes a lone UTF-16 surrogate, which is not a character", at(surrogate, `\ud800`, 1))
	syntax("two JSON values", OrderBody+OrderBody, "body", "must hold a single JSON value, but more follows", len(OrderBody))
	syntax("trailing garbage", OrderBody+"x", "body", "must hold a single JSON value, but more follows", len(OrderBody))
	deep := strings.TrimSuffix(OrderBody, "}") + `,"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "}"
	syntax("deeply nested JSON", deep, "x"+strings.Repeat("[0]", 31), "nests deeper than 32 levels", at(deep, "[", 33))
	syntax("empty body", "", "body", "is empty", 0)

	// Identifiers.
	rule("NUL in the customer id", Set(OrderBody, "customerId", `"hostile\u0000"`), issue("customerId", "must not contain control characters (U+0000 at byte 7)"))
	rule("newline in the customer id", Set(OrderBody, "customerId", `"hostile\n1"`), issue("customerId", "must not contain control characters (U+000A at byte 7)"))
	rule("right-to-left override in the customer id", Set(OrderBody, "customerId", `"hostile\u202e1-"`), issue("customerId", "must not contain format characters such as U+202E (U+202E at byte 7)"))
	rule("zero-width space in the product id", Set(OrderBody, "productId", `"BOOK\u200b001"`), issue("items[0].productId", "must not contain format characters such as U+202E (U+200B at byte 4)"))
	rule("customer id not in NFC", Set(OrderBody, "customerId", `"hostile-e\u0301"`), issue("customerId", "must be in Unicode Normalization Form C (NFC)"))
	rule("customer id ending with a space", Set(OrderBody, "customerId", `"hostile-1 "`), issue("customerId", "must not start or end with a space"))
	rule("no-break space in the customer id", Set(OrderBody, "customerId", `"hostile\u00a01"`), issue("customerId", "must not contain spaces other than U+0020 (U+00A0 at byte 7)"))
	rule("customer id of 5,000 characters", Set(OrderBody, "customerId", str(strings.Repeat("c", 5000))), issue("customerId", "must be at most 128 characters (has 5000)"))
	rule("payment token with a tab", Set(OrderBody, "paymentToken", `"tok\tvisa"`), issue("paymentToken", "must not contain control characters (U+0009 at byte 3)"))

	// Strings one past every limit.
	over := func(field, key string, max int) {
		rule(fmt.Sprintf("%s of %d characters", field, max+1), Set(OrderBody, key, str(strings.Repeat("é", max+1))),
			issue(field, fmt.Sprintf("must be at most %d characters (has %d)", max, max+1)))
	}
	over("customerId", "customerId", contracts.MaxCustomerIDLength)
	over("items[0].productId", "productId", contracts.MaxProductIDLength)
	over("items[0].name", "name", contracts.MaxNameLength)
	over("paymentToken", "paymentToken", contracts.MaxPaymentTokenLength)
	over("shippingAddress.street", "street", contracts.MaxStreetLength)
	over("shippingAddress.city", "city", contracts.MaxAddressFieldLength)
	over("shippingAddress.state", "state", contracts.MaxAddressFieldLength)
	over("shippingAddress.zipCode", "zipCode", contracts.MaxZipCodeLength)
	over("shippingAddress.country", "country", contracts.MaxAddressFieldLength)
	rule("email of 255 bytes", Set(OrderBody, "customerEmail", str(LongEmail(255))), issue("customerEmail", "must be a valid email address"))
	rule("phone of 17 characters", Set(OrderBody, "customerPhone", `"+1234567890123456"`), issue("customerPhone", "must be an E.164 phone number, e.g. +4915112345678"))
	rule("currency of 4 letters", Set(OrderBody, "currency", `"EURO"`), issue("currency", "must be an ISO 4217 currency code, e.g. EUR"))

	// Free text.
	rule("newline in an item name", Set(OrderBody, "name", `"Go\nbook"`), issue("items[0].name", "must not contain control characters or line breaks (U+000A at byte 2)"))
	rule("right-to-left override in a street", Set(OrderBody, "street", `"1 Main St\u202e"`), issue("shippingAddress.street", "must not contain bidirectional override or isolate controls (U+202E at byte 9)"))

	// Money and numbers.
	yen := Set(Set(Set(OrderBody, "currency", `"JPY"`), "price", "1299.99"), "totalAmount", "2599.98")
	noMinor := "must be an amount without decimals: JPY has no minor unit"
	rule("yen with decimals", yen, issue("items[0].price", noMinor), issue("totalAmount", noMinor))
	rule("a currency with 3 decimals", Set(OrderBody, "currency", `"BHD"`), issue("currency", "is not supported: BHD has 3 decimals, and amounts are carried with at most 2"))
	rule("price with 3 decimals", Set(OrderBody, "price", "10.250"), issue("items[0].price", "must be an amount with at most 2 decimals"))
	plain := "must be a plain decimal number such as 12.50 (no exponent, no sign)"
	rule("total of 1e309", Set(OrderBody, "totalAmount", "1e309"), issue("totalAmount", plain))
	rule("total of 0.205e2", Set(OrderBody, "totalAmount", "0.205e2"), issue("totalAmount", plain))
	rule("price of -0", Set(OrderBody, "price", "-0"), issue("items[0].price", plain))
	rule("negative price", Set(OrderBody, "price", "-10.25"), issue("items[0].price", "must not be negative"))
	rule("huge total", Set(OrderBody, "totalAmount", "123456789012345678901234567890"), issue("totalAmount", "must be at most 1000000000000.00"))
	rule("total one cent past the maximum", Set(OrderBody, "totalAmount", "1000000000000.01"), issue("totalAmount", "must be at most 1000000000000.00"))
	quantity := "must be an integer from 1 to 1000"
	for _, q := range []string{"0.2e1", "2.0", "-0", "1e309", "1001", "18446744073709551617", "-2"} {
		rule("quantity of "+q, Set(OrderBody, "quantity", q), issue("items[0].quantity", quantity))
	}

	// Every field's wrong type.
	wrong := func(field, key, raw, want string) {
		rule(field+" of the wrong type", Set(OrderBody, key, raw), issue(field, want))
	}
	wrong("customerId", "customerId", "1", "must be a string")
	wrong("items", "items", `{}`, "must be an array")
	wrong("items[0]", "items", `["BOOK001"]`, "must be an object")
	wrong("items[0].productId", "productId", "true", "must be a string")
	wrong("items[0].name", "name", "[]", "must be a string")
	wrong("items[0].quantity", "quantity", `"2"`, "must be a number")
	wrong("items[0].price", "price", `"10.25"`, "must be a number")
	wrong("totalAmount", "totalAmount", `"20.50"`, "must be a number")
	wrong("currency", "currency", "978", "must be a string")
	wrong("customerEmail", "customerEmail", `{}`, "must be a string")
	wrong("customerPhone", "customerPhone", "4915112345678", "must be a string")
	wrong("paymentToken", "paymentToken", "false", "must be a string")
	wrong("shippingAddress", "shippingAddress", `"1 Main St, Berlin"`, "must be an object")
	wrong("shippingAddress.street", "street", "1", "must be a string")
	wrong("shippingAddress.city", "city", "1", "must be a string")
	wrong("shippingAddress.state", "state", "1", "must be a string")
	wrong("shippingAddress.zipCode", "zipCode", "10115", "must be a string")
	wrong("shippingAddress.country", "country", "49", "must be a string")
	rule("body of the wrong type", `[`+OrderBody+`]`, issue("body", "must be a JSON object"))
	return cases
}

// LongEmail is a valid-looking address of n bytes (n at least 70).
func LongEmail(n int) string {
	local := strings.Repeat("a", 64)
	domain := ".example.com"
	rest := n - len(local) - 1 - len(domain)
	var labels []string
	for rest > 0 {
		l := min(rest, 63)
		if rest-l == 1 { // a label of 0 characters is not one
			l--
		}
		labels = append(labels, strings.Repeat("b", l))
		rest -= l + 1
	}
	return local + "@" + strings.Join(labels, ".") + domain
}

// AtEveryLimit is a valid order of customer whose every string is as long as it may be, in several
// scripts (and as many bytes as the limits allow), and whose numbers are at their maximum: the API must
// accept it and give every field back exactly as sent.
func AtEveryLimit(customer string) string {
	pad := func(prefix, fill string, n int) string {
		return prefix + strings.Repeat(fill, n-len([]rune(prefix)))
	}
	b := OrderBody
	b = Set(b, "customerId", str(pad(customer, "猫", contracts.MaxCustomerIDLength)))
	b = Set(b, "productId", str(pad("BOOK", "é", contracts.MaxProductIDLength)))
	b = Set(b, "name", str(pad("کتاب\u200cها ", "ü", contracts.MaxNameLength)))
	b = Set(b, "quantity", "1000")
	b = Set(b, "price", "999999999.99")
	b = Set(b, "totalAmount", "999999999990.00")
	b = Set(b, "customerEmail", str(LongEmail(contracts.MaxEmailLength)))
	b = Set(b, "customerPhone", `"+123456789012345"`)
	b = Set(b, "paymentToken", str(pad("tok_", "x", contracts.MaxPaymentTokenLength)))
	b = Set(b, "street", str(pad("1 Main St ", "ß", contracts.MaxStreetLength)))
	b = Set(b, "city", str(pad("東京", "都", contracts.MaxAddressFieldLength)))
	b = Set(b, "state", str(pad("BE", "e", contracts.MaxAddressFieldLength)))
	b = Set(b, "zipCode", str(pad("10115", "0", contracts.MaxZipCodeLength)))
	b = Set(b, "country", str(pad("DE", "😀", contracts.MaxAddressFieldLength)))
	return b
}
