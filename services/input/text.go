package input

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Identifier checks an identifier (a customer id, a product id, a session id) of at most max characters
// and returns "" or what is wrong with it, as the issue of a FieldIssue ("must be …").
//
// The alphabet is Unicode letters, marks, digits, punctuation and symbols, in any script, and the ASCII
// space between them (ids such as "John Smith" were always accepted); no space first or last, no other
// separator (a no-break or ideographic space looks like the space but is another id), no control characters (NUL, newline …), no format characters (the right-to-left
// override U+202E, zero-width spaces, the byte order mark …), no private-use or unassigned code points,
// and no combining mark first. An identifier must be in Unicode Normalization Form C: one written
// otherwise (e decomposed into e + U+0301) is refused rather than normalized, because a normalized id
// would be stored as another string than the one sent, and a client that keeps its own spelling could
// then never find it again. Two identifiers are the same exactly when their bytes are.
func Identifier(s string, max int) string {
	if strings.TrimSpace(s) == "" {
		return "is required"
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("must be at most %d characters (has %d)", max, n)
	}
	for i, r := range s {
		switch {
		case invalidAt(s, i, r):
			return badUTF8(i)
		case unicode.Is(unicode.Cc, r):
			return fmt.Sprintf("must not contain control characters (U+%04X at byte %d)", r, i)
		case unicode.Is(unicode.Cf, r):
			return fmt.Sprintf("must not contain format characters such as U+202E (U+%04X at byte %d)", r, i)
		case r == ' ' && (i == 0 || i == len(s)-1):
			return "must not start or end with a space"
		case r == ' ':
		case unicode.IsSpace(r) || unicode.In(r, unicode.Z):
			return fmt.Sprintf("must not contain spaces other than U+0020 (U+%04X at byte %d)", r, i)
		case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S):
			return fmt.Sprintf("must not contain private-use or unassigned code points (U+%04X at byte %d)", r, i)
		case i == 0 && unicode.In(r, unicode.M):
			return fmt.Sprintf("must not start with a combining mark (U+%04X)", r)
		}
	}
	if !norm.NFC.IsNormalString(s) {
		return "must be in Unicode Normalization Form C (NFC)"
	}
	return ""
}

// ASCIIIdentifier checks an identifier of 1 to max printable ASCII characters without spaces (0x21 to
// 0x7E), the alphabet of values sent in HTTP headers such as Idempotency-Key.
func ASCIIIdentifier(s string, max int) string {
	if s == "" {
		return "is required"
	}
	if len(s) > max {
		return fmt.Sprintf("must be at most %d characters (has %d)", max, utf8.RuneCountInString(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return fmt.Sprintf("must be printable ASCII without spaces (byte %d is not)", i)
		}
	}
	return ""
}

// Text checks free text of one line (a product name, an address line) of at most max characters and
// returns "" or what is wrong with it. Free text may be in any script and is stored exactly as sent
// (it is shown, never compared, so it is not normalized either). It refuses control characters
// (newline and tab included), line and paragraph separators, the bidirectional embedding, override and
// isolate controls (U+202A–U+202E, U+2066–U+2069), which make text display as something else in a console
// or a text message, and Unicode noncharacters. Other format characters stay allowed: scripts need them
// (the zero-width non-joiner in Persian, the joiner in emoji sequences).
func Text(s string, max int) string { return text(s, max, false) }

// MultilineText is Text that also allows newlines and tabs, for a message such as a chatbot question.
func MultilineText(s string, max int) string { return text(s, max, true) }

func text(s string, max int, multiline bool) string {
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("must be at most %d characters (has %d)", max, n)
	}
	for i, r := range s {
		switch {
		case invalidAt(s, i, r):
			return badUTF8(i)
		case multiline && (r == '\n' || r == '\t' || r == '\r'):
		case unicode.Is(unicode.Cc, r), r == '\u2028', r == '\u2029':
			return fmt.Sprintf("must not contain control characters or line breaks (U+%04X at byte %d)", r, i)
		case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			return fmt.Sprintf("must not contain bidirectional override or isolate controls (U+%04X at byte %d)", r, i)
		case unicode.Is(unicode.Noncharacter_Code_Point, r):
			return fmt.Sprintf("must not contain Unicode noncharacters (U+%04X at byte %d)", r, i)
		}
	}
	return ""
}

// invalidAt reports whether r, ranged over at byte i of s, stands for a byte that is not UTF-8 rather
// than for U+FFFD written as such. A body has been checked for UTF-8 by then, but an id taken from a URL
// path has not: ranging over it would read each bad byte as U+FFFD, a symbol, and the id would then be
// stored as bytes that no JSON reply can give back (and, on DynamoDB, as U+FFFD itself).
func invalidAt(s string, i int, r rune) bool {
	return r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD")
}

// NotUTF8 is the issue of an id that is not UTF-8, "" for one that is. It is for ids that are looked up,
// not stored (a query's customerId, a path's id): DynamoDB's SDK would send one with each bad byte
// replaced by U+FFFD, and the lookup would find what belongs to another id.
func NotUTF8(s string) string {
	if utf8.ValidString(s) {
		return ""
	}
	for i, r := range s {
		if invalidAt(s, i, r) {
			return badUTF8(i)
		}
	}
	return ""
}

func badUTF8(i int) string { return fmt.Sprintf("must be valid UTF-8 (byte %d is not)", i) }
