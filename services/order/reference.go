package order

import (
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/orderflow/orderflow/services/fault"
)

// An order's reference is the short name a person reads, types and says: 8 symbols of Crockford's
// base32 (40 random bits), written in two groups of four, e.g. 7K3M-Q9TX. Unlike a prefix of the order
// id (a UUIDv7, whose first characters are its timestamp), it tells apart orders placed at the same
// moment. The stores keep it unique across all orders.
//
// ParseReference is the one place that reads a reference someone wrote. It accepts:
//   - lower or upper case;
//   - the separator or not: "7K3M-Q9TX" and "7k3mq9tx" are the same reference (one "-" between the
//     groups, nothing else);
//   - surrounding white space;
//   - the look-alikes Crockford's decoding maps: O is read as 0, I and L as 1. A reference never
//     contains O, I, L or U, so this cannot name another order, and a person who read a 0 as an O on
//     a phone still finds the order.
//
// It refuses U (Crockford leaves it out), every other character and any other length.
const (
	// ReferenceSymbols is how many base32 symbols a reference has (5 bits each).
	ReferenceSymbols = 8
	// ReferenceLength is the length of a reference in its canonical form, with its separator.
	ReferenceLength = ReferenceSymbols + 1
	// referenceBytes is the randomness of a reference: 40 bits.
	referenceBytes = ReferenceSymbols * 5 / 8
)

// referenceAlphabet is Crockford's base32: digits and upper-case letters without I, L, O and U.
const referenceAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ErrInvalidReference is returned (wrapped, kind fault.Invalid) by ParseReference for text that is not
// an order reference.
var ErrInvalidReference = fault.New(fault.Invalid, "INVALID_REFERENCE", "not an order reference")

// NewReference returns a fresh reference in its canonical form, from 40 bits of crypto/rand.
func NewReference() string {
	var b [referenceBytes]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand.Read crashes the program rather than return an error
	return encodeReference(b)
}

// encodeReference writes 40 bits as 8 symbols, the most significant first, with the separator.
func encodeReference(b [referenceBytes]byte) string {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	out := make([]byte, 0, ReferenceLength)
	for i := ReferenceSymbols - 1; i >= 0; i-- {
		out = append(out, referenceAlphabet[(v>>(5*uint(i)))&31])
		if i == ReferenceSymbols/2 {
			out = append(out, '-')
		}
	}
	return string(out)
}

// ParseReference reads a reference as a person may write it (see the rules above) and returns its
// canonical form, upper case with the separator: "7k3mq9tx" → "7K3M-Q9TX". Anything else is an error
// wrapping ErrInvalidReference (kind fault.Invalid).
func ParseReference(s string) (string, error) {
	t := strings.TrimSpace(s)
	if len(t) == ReferenceLength && t[ReferenceSymbols/2] == '-' {
		t = t[:ReferenceSymbols/2] + t[ReferenceSymbols/2+1:]
	}
	if len(t) != ReferenceSymbols {
		return "", fmt.Errorf("%q: must be %d letters and digits, optionally as two groups of four joined by -: %w", s, ReferenceSymbols, ErrInvalidReference)
	}
	out := make([]byte, 0, ReferenceLength)
	for i := 0; i < len(t); i++ {
		c := t[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch c {
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if strings.IndexByte(referenceAlphabet, c) < 0 {
			return "", fmt.Errorf("%q: %q is not a letter or digit of a reference: %w", s, t[i], ErrInvalidReference)
		}
		out = append(out, c)
		if i == ReferenceSymbols/2-1 {
			out = append(out, '-')
		}
	}
	return string(out), nil
}

// ReferenceOf returns the reference whose 40 bits are the low 40 bits of n: distinct numbers below 2^40
// give distinct references. It is for filling a store with many orders at once, where drawing references
// at random would collide; orders taken by the API draw theirs with NewReference.
func ReferenceOf(n uint64) string {
	var b [referenceBytes]byte
	for i := referenceBytes - 1; i >= 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return encodeReference(b)
}
