package contracts_test

import (
	"errors"
	"testing"

	"github.com/orderflow/orderflow/contracts"
)

func TestParseAmountDecimals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text     string
		decimals int
		want     contracts.Amount
		wantErr  error
	}{
		{"1299.99", 2, 129999, nil},
		{"5", 2, 500, nil},
		{"0.5", 2, 50, nil},
		{"0", 2, 0, nil},
		{"1300", 0, 130000, nil},
		{"1000000000000", 2, contracts.MaxAmount, nil},
		{"1000000000000.00", 2, contracts.MaxAmount, nil},
		{"1000000000000.01", 2, 0, contracts.ErrAmountRange},
		{"99999999999999999999999999", 2, 0, contracts.ErrAmountRange},
		{"1299.99", 0, 0, contracts.ErrAmountPrecision},
		{"1300.0", 0, 0, contracts.ErrAmountPrecision},
		{"1.001", 2, 0, contracts.ErrAmountPrecision},
		{"5.500", 2, 0, contracts.ErrAmountPrecision},
		{"-1", 2, 0, contracts.ErrAmountNegative},
		{"-0.01", 2, 0, contracts.ErrAmountNegative},
		{"-0", 2, 0, contracts.ErrAmountFormat},
		{"0.1e1", 2, 0, contracts.ErrAmountFormat},
		{"1e309", 2, 0, contracts.ErrAmountFormat},
		{"1E2", 2, 0, contracts.ErrAmountFormat},
		{"+1", 2, 0, contracts.ErrAmountFormat},
		{".5", 2, 0, contracts.ErrAmountFormat},
		{"5.", 2, 0, contracts.ErrAmountFormat},
		{"", 2, 0, contracts.ErrAmountFormat},
		{"1,5", 2, 0, contracts.ErrAmountFormat},
	}
	for _, tt := range tests {
		got, err := contracts.ParseAmountDecimals(tt.text, tt.decimals)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("ParseAmountDecimals(%q, %d) = %d, %v; want %d, %v", tt.text, tt.decimals, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCurrencyTable(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]int{"JPY": 0, "KRW": 0, "EUR": 2, "USD": 2, "GBP": 2, "BHD": 3, "KWD": 3, "CLF": 4} {
		if got, ok := contracts.CurrencyDecimals(code); !ok || got != want {
			t.Errorf("CurrencyDecimals(%s) = %d, %t; want %d", code, got, ok, want)
		}
	}
	for _, code := range []string{"XAU", "XXX", "eur", "EURO", ""} {
		if _, ok := contracts.CurrencyDecimals(code); ok {
			t.Errorf("CurrencyDecimals(%q) is known", code)
		}
	}
	for code, supported := range map[string]bool{"JPY": true, "EUR": true, "BHD": false, "CLF": false, "XAU": false} {
		if err := contracts.CheckCurrency(code); (err == nil) != supported {
			t.Errorf("CheckCurrency(%s) = %v", code, err)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a        contracts.Amount
		currency string
		want     string
	}{
		{130000, "JPY", "1300"},
		{130050, "JPY", "1300.50"}, // validation never lets it in; if it were there, it would not be hidden
		{129999, "EUR", "1299.99"},
		{500, "BHD", "5.00"},
		{500, "XYZ", "5.00"},
	}
	for _, tt := range tests {
		if got := contracts.FormatAmount(tt.a, tt.currency); got != tt.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", tt.a, tt.currency, got, tt.want)
		}
	}
}

func TestAmountIsWrittenWithTwoDecimals(t *testing.T) {
	t.Parallel()
	for a, want := range map[contracts.Amount]string{
		0: "0.00", 1: "0.01", 10: "0.10", 99: "0.99", 100: "1.00", 129999: "1299.99", -5: "-0.05", -129999: "-1299.99",
		contracts.MaxAmount: "1000000000000.00", -contracts.MaxAmount: "-1000000000000.00",
	} {
		b, err := a.MarshalJSON()
		if err != nil || string(b) != want || a.String() != want {
			t.Errorf("Amount(%d): JSON %s (%v), String %q; want %s", int64(a), b, err, a.String(), want)
			continue
		}
		if a < 0 {
			continue // written as they are, but never read: ParseAmount refuses a negative amount
		}
		var back contracts.Amount
		if err := back.UnmarshalJSON(b); err != nil || back != a {
			t.Errorf("Amount(%d) read back as %d (%v)", int64(a), int64(back), err)
		}
	}
}
