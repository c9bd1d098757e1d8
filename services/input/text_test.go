package input_test

import (
	"strings"
	"testing"

	"github.com/orderflow/orderflow/services/input"
)

func TestIdentifier(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id, want string
	}{
		{"cust-1", ""},
		{"Zoë.Müller@shop", ""},
		{"顧客_42", ""},
		{"kunde-ß", ""},
		{strings.Repeat("é", 16), ""},
		{strings.Repeat("x", 17), "must be at most 16 characters (has 17)"},
		{"", "is required"},
		{"  ", "is required"},
		{"John Smith", ""},
		{"a ", "must not start or end with a space"},
		{" a", "must not start or end with a space"},
		{"a\u00a0b", "must not contain spaces other than U+0020 (U+00A0 at byte 1)"},
		{"a\u3000b", "must not contain spaces other than U+0020 (U+3000 at byte 1)"},
		{"a\x00", "must not contain control characters (U+0000 at byte 1)"},
		{"a\x7f", "must not contain control characters (U+007F at byte 1)"},
		{"a\u202eb", "must not contain format characters such as U+202E (U+202E at byte 1)"},
		{"a\u200bb", "must not contain format characters such as U+202E (U+200B at byte 1)"},
		{"\ufeffa", "must not contain format characters such as U+202E (U+FEFF at byte 0)"},
		{"a\ue000", "must not contain private-use or unassigned code points (U+E000 at byte 1)"},
		{"\u0301a", "must not start with a combining mark (U+0301)"},
		{"e\u0301", "must be in Unicode Normalization Form C (NFC)"},
		{"\u212b", "must be in Unicode Normalization Form C (NFC)"}, // ANGSTROM SIGN, whose NFC is Å
		{"a\ufffd", ""}, // the replacement character itself is a symbol
		{"a\xff", "must be valid UTF-8 (byte 1 is not)"},
		{"\xc3", "must be valid UTF-8 (byte 0 is not)"},
	}
	for _, tt := range tests {
		if got := input.Identifier(tt.id, 16); got != tt.want {
			t.Errorf("Identifier(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, want string
	}{
		{"1 Main St", ""},
		{"Straße 5, 2. OG", ""},
		{"می\u200cخواهم", ""}, // the zero-width non-joiner Persian needs
		{"👩\u200d💻", ""},      // an emoji joined by ZWJ
		{"e\u0301", ""},       // kept as sent, not normalized
		{"Go\nbook", "must not contain control characters or line breaks (U+000A at byte 2)"},
		{"a\tb", "must not contain control characters or line breaks (U+0009 at byte 1)"},
		{"a\u2028b", "must not contain control characters or line breaks (U+2028 at byte 1)"},
		{"abc\u202e", "must not contain bidirectional override or isolate controls (U+202E at byte 3)"},
		{"\u2066x", "must not contain bidirectional override or isolate controls (U+2066 at byte 0)"},
		{"x\ufffe", "must not contain Unicode noncharacters (U+FFFE at byte 1)"},
		{strings.Repeat("ü", 17), "must be at most 16 characters (has 17)"},
		{"caf\xe9", "must be valid UTF-8 (byte 3 is not)"}, // Latin-1, not UTF-8
	}
	for _, tt := range tests {
		if got := input.Text(tt.text, 16); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
	if got := input.MultilineText("line 1\nline 2\tend", 100); got != "" {
		t.Errorf("MultilineText with a newline and a tab = %q", got)
	}
	if got := input.MultilineText("a\x00", 100); got == "" {
		t.Errorf("MultilineText accepts NUL")
	}
}

func TestASCIIIdentifier(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"order-2024-0001":   "",
		"":                  "is required",
		"a b":               "must be printable ASCII without spaces (byte 1 is not)",
		"é":                 "must be printable ASCII without spaces (byte 0 is not)",
		"12345678901234567": "must be at most 16 characters (has 17)",
	} {
		if got := input.ASCIIIdentifier(key, 16); got != want {
			t.Errorf("ASCIIIdentifier(%q) = %q, want %q", key, got, want)
		}
	}
}
