package contracts

import (
	"fmt"
	"strings"
)

// currencyDecimals is ISO 4217's list of active currency codes with the number of decimals of each
// currency's minor unit (the standard's "minor unit" column). It is the one place where orderflow learns
// how many decimals an amount may have and how texts write it; codes without a minor unit (gold, special
// drawing rights, the test code XTS, XXX …) are left out, so they are not currencies an order can use.
var currencyDecimals = func() map[string]int {
	m := map[string]int{}
	add := func(decimals int, codes string) {
		for _, c := range strings.Fields(codes) {
			m[c] = decimals
		}
	}
	add(0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF")
	add(2, "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD "+
		"CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP "+
		"GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL "+
		"MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN "+
		"QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD "+
		"TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG")
	add(3, "BHD IQD JOD KWD LYD OMR TND")
	add(4, "CLF UYW")
	return m
}()

// CurrencyDecimals returns how many decimals the currency's minor unit has according to ISO 4217: 0 for
// JPY and KRW, 2 for EUR and USD, 3 for BHD and KWD. ok is false for a code that is not an active ISO 4217
// currency with a minor unit.
func CurrencyDecimals(code string) (decimals int, ok bool) {
	decimals, ok = currencyDecimals[code]
	return decimals, ok
}

// CheckCurrency returns nil for a currency an order can be placed in: an active ISO 4217 code whose minor
// unit has at most AmountDecimals decimals. Amounts are carried in hundredths in every contract of
// release 1, so BHD, KWD and the other currencies with 3 or 4 decimals cannot be carried exactly and are
// refused rather than rounded.
func CheckCurrency(code string) error {
	d, ok := CurrencyDecimals(code)
	switch {
	case !ok:
		return fmt.Errorf("%q is not an ISO 4217 currency code", code)
	case d > AmountDecimals:
		return fmt.Errorf("%s has %d decimals, and amounts are carried with at most %d", code, d, AmountDecimals)
	}
	return nil
}

// FormatAmount writes a in the currency's own decimals, without grouping: "1300" for JPY, "1299.99" for
// EUR. A currency unknown to the table, or one with more decimals than an Amount holds, gets the
// Amount's 2 decimals; so does an amount with more decimals than its currency has (which validation
// never lets in), so that no digit of money is ever hidden.
func FormatAmount(a Amount, currency string) string {
	s := a.String() // AmountDecimals decimals
	d, ok := CurrencyDecimals(currency)
	if !ok || d >= AmountDecimals {
		return s
	}
	cut := s[len(s)-(AmountDecimals-d):]
	if strings.Trim(cut, "0") != "" {
		return s
	}
	return strings.TrimSuffix(s[:len(s)-len(cut)], ".")
}
