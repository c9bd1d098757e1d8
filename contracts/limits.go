package contracts

// Limits of the API's input, the same on every runtime. Lengths are in characters (Unicode code points,
// what JSON Schema's maxLength counts); a character is at most 4 bytes of UTF-8, so every identifier that
// is part of a DynamoDB key fits its limits (2,048 bytes for a partition key, 1,024 for a sort key) with
// the key's prefix: CUSTOMER#<customerId> is at most 9 + 4 × 128 = 521 bytes, PRODUCT#<productId> 520,
// a chatbot session's key (length, customer id, session id) 1,028, an idempotency record's key (the API
// key's id, /, the Idempotency-Key) a few hundred. The schema generator writes them into the OpenAPI
// document and the event schemas as maxLength; services/input checks them.
const (
	// MaxCustomerIDLength bounds customerId (an identifier).
	MaxCustomerIDLength = 128
	// MaxOrderIDLength bounds the order id a path may name (order ids are UUIDv7s of 36 characters).
	MaxOrderIDLength = 128
	// MaxProductIDLength bounds a product id (an identifier).
	MaxProductIDLength = 128
	// MaxSessionIDLength bounds a chatbot sessionId (an identifier).
	MaxSessionIDLength = 128
	// MaxPaymentTokenLength bounds paymentToken (an identifier).
	MaxPaymentTokenLength = 128
	// MaxIdempotencyKeyLength bounds the Idempotency-Key header (printable ASCII).
	MaxIdempotencyKeyLength = 255
	// MaxNameLength bounds a product's name (free text).
	MaxNameLength = 200
	// MaxEmailLength bounds customerEmail, in bytes as RFC 5321 counts them.
	MaxEmailLength = 254
	// MaxPhoneLength bounds customerPhone: + and at most 15 digits (E.164).
	MaxPhoneLength = 16
	// MaxStreetLength bounds shippingAddress.street (free text).
	MaxStreetLength = 200
	// MaxAddressFieldLength bounds shippingAddress.city, state and country (free text).
	MaxAddressFieldLength = 100
	// MaxZipCodeLength bounds shippingAddress.zipCode (free text).
	MaxZipCodeLength = 20
	// MaxChatQueryLength bounds a chatbot query (free text, newlines allowed).
	MaxChatQueryLength = 2000
	// MaxStock is the most stock a product may have.
	MaxStock = 1_000_000_000
	// MaxInventoryPage is the largest limit of a page of GET /inventory.
	MaxInventoryPage = 1000
)
