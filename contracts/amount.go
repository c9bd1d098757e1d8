package contracts

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Amount is a sum of money in minor units (hundredths: cents), so that money is never added up as float.
// It is written to JSON as a decimal number with two decimals, 1299.99, the form the API has always used.
type Amount int64

// ErrAmountFormat is returned by ParseAmount for text that is not a non-negative decimal with at most two
// decimals.
var ErrAmountFormat = errors.New("not a decimal amount with at most 2 decimals")

// maxAmountUnits bounds amounts far above any order total, so that arithmetic on them cannot overflow.
const maxAmountUnits = 1_000_000_000_000_00

// ParseAmount reads a JSON number such as "1299.99", "5" or "0.5" exactly, without going through float.
// Negative numbers, exponents, more than two decimals and absurdly large values return ErrAmountFormat.
func ParseAmount(s string) (Amount, error) {
	if s == "" || strings.ContainsAny(s, "eE+-") {
		return 0, ErrAmountFormat
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && (frac == "" || len(frac) > 2)) {
		return 0, ErrAmountFormat
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > maxAmountUnits/100 {
		return 0, ErrAmountFormat
	}
	var f int64
	if hasDot {
		for len(frac) < 2 {
			frac += "0"
		}
		if f, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return 0, ErrAmountFormat
		}
	}
	return Amount(w*100 + f), nil
}

// String formats the amount as a plain decimal with two decimals: 1299.99.
func (a Amount) String() string {
	sign := ""
	if a < 0 {
		sign, a = "-", -a
	}
	return fmt.Sprintf("%s%d.%02d", sign, int64(a)/100, int64(a)%100)
}

// MarshalJSON writes the amount as a JSON number with two decimals.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalJSON reads a JSON number exactly; see ParseAmount for what it refuses.
func (a *Amount) UnmarshalJSON(b []byte) error {
	v, err := ParseAmount(string(b))
	if err != nil {
		return fmt.Errorf("amount %s: %w", b, err)
	}
	*a = v
	return nil
}
