package contracts

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Amount is a sum of money in hundredths of the currency's major unit (cents for EUR and USD), so that
// money is never added up as float. Every currency an order can use has at most AmountDecimals decimals
// (CheckCurrency); a yen amount, whose currency has none, is a multiple of 100. It is written to JSON as
// a decimal number with two decimals, 1299.99, the form the API has always used.
type Amount int64

// AmountDecimals is how many decimals an Amount holds.
const AmountDecimals = 2

// MaxAmount is the largest amount anything accepts: 1,000,000,000,000.00 (10^14 hundredths). It keeps
// sums of up to 100 lines of 1,000 units far from overflowing an int64, and every amount below it is exact
// as a JSON number read into an IEEE double (below 2^53 hundredths), as JavaScript consumers of the events
// read it.
const MaxAmount Amount = 100_000_000_000_000

// Errors of ParseAmount, to be told apart with errors.Is.
var (
	// ErrAmountFormat is text that is not a plain decimal number: an exponent (1e2, 0.1e1), a sign (-0,
	// +1), no digits before or after the point.
	ErrAmountFormat = errors.New("not a plain decimal number")
	// ErrAmountNegative is a negative amount.
	ErrAmountNegative = errors.New("negative")
	// ErrAmountPrecision is an amount with more decimals than allowed.
	ErrAmountPrecision = errors.New("too many decimals")
	// ErrAmountRange is an amount above MaxAmount.
	ErrAmountRange = errors.New("too large")
)

// ParseAmount reads a JSON number such as "1299.99", "5" or "0.5" exactly, without going through float,
// allowing up to AmountDecimals decimals. See ParseAmountDecimals for what it refuses.
func ParseAmount(s string) (Amount, error) { return ParseAmountDecimals(s, AmountDecimals) }

// ParseAmountDecimals reads a JSON number exactly, allowing at most decimals decimals (at most
// AmountDecimals; CurrencyDecimals says how many a currency has). Text that is not a plain decimal
// returns ErrAmountFormat, a negative number ErrAmountNegative, more decimals than allowed (trailing zeros
// count: 5.500 is not an amount in EUR) ErrAmountPrecision, more than MaxAmount ErrAmountRange. Nothing is
// rounded.
func ParseAmountDecimals(s string, decimals int) (Amount, error) {
	decimals = min(max(decimals, 0), AmountDecimals)
	if strings.HasPrefix(s, "-") && len(s) > 1 && strings.Trim(s[1:], "0.") != "" && !strings.ContainsAny(s, "eE+") {
		return 0, ErrAmountNegative
	}
	if s == "" || strings.ContainsAny(s, "eE+-") {
		return 0, ErrAmountFormat
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || strings.Trim(whole, "0123456789") != "" || (hasDot && (frac == "" || strings.Trim(frac, "0123456789") != "")) {
		return 0, ErrAmountFormat
	}
	if len(frac) > decimals {
		return 0, ErrAmountPrecision
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 13 { // more than MaxAmount has, and too long for ParseInt to be relied on
		return 0, ErrAmountRange
	}
	w, _ := strconv.ParseInt("0"+whole, 10, 64)
	frac += strings.Repeat("0", AmountDecimals-len(frac))
	f, _ := strconv.ParseInt(frac, 10, 64)
	a := Amount(w*100 + f)
	if a > MaxAmount {
		return 0, ErrAmountRange
	}
	return a, nil
}

// String formats the amount as a plain decimal with two decimals: 1299.99.
func (a Amount) String() string { return string(a.appendTo(make([]byte, 0, 24))) }

// appendTo appends the amount with two decimals to b. It is what String and MarshalJSON write, without
// fmt: every event and order snapshot holds several amounts.
func (a Amount) appendTo(b []byte) []byte {
	u := uint64(a)
	if a < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/100, 10)
	cents := u % 100
	return append(b, '.', byte('0'+cents/10), byte('0'+cents%10))
}

// MarshalJSON writes the amount as a JSON number with two decimals.
func (a Amount) MarshalJSON() ([]byte, error) { return a.appendTo(make([]byte, 0, 24)), nil }

// UnmarshalJSON reads a JSON number exactly; see ParseAmount for what it refuses.
func (a *Amount) UnmarshalJSON(b []byte) error {
	v, err := ParseAmount(string(b))
	if err != nil {
		return fmt.Errorf("amount %s: %w", b, err)
	}
	*a = v
	return nil
}
