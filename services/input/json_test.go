package input_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/services/input"
)

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", input.MaxDepth+1) + strings.Repeat("]", input.MaxDepth+1)
	tests := []struct {
		name string
		body string
		want input.SyntaxError
	}{
		{"empty", "", input.SyntaxError{Path: "body", Problem: "is empty"}},
		{"only whitespace", "  \n", input.SyntaxError{Path: "body", Problem: "is empty"}},
		{"duplicate key", `{"customerId":"a","x":1,"customerId":"b"}`, input.SyntaxError{Path: "customerId", Problem: `duplicate key "customerId"`, Offset: 24}},
		{"duplicate key spelt with an escape", `{"a":1,"\u0061":2}`, input.SyntaxError{Path: "a", Problem: `duplicate key "a"`, Offset: 7}},
		{"duplicate key in a nested object", `{"items":[{"q":1},{"q":1,"q":2}]}`, input.SyntaxError{Path: "items[1].q", Problem: `duplicate key "q"`, Offset: 25}},
		{"invalid UTF-8", "{\"customerId\":\"a\xffb\"}", input.SyntaxError{Path: "body", Problem: "is not valid UTF-8", Offset: 16}},
		{"overlong UTF-8 encoding of /", "{\"a\":\"\xc0\xaf\"}", input.SyntaxError{Path: "body", Problem: "is not valid UTF-8", Offset: 6}},
		{"UTF-8 encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", input.SyntaxError{Path: "body", Problem: "is not valid UTF-8", Offset: 6}},
		{"escaped lone high surrogate", `{"a":"x\ud800"}`, input.SyntaxError{Path: "a", Problem: "escapes a lone UTF-16 surrogate, which is not a character", Offset: 7}},
		{"escaped lone low surrogate", `{"a":"\udc00\ud83d"}`, input.SyntaxError{Path: "a", Problem: "escapes a lone UTF-16 surrogate, which is not a character", Offset: 6}},
		{"escaped lone surrogate in a key", `{"\ud800":1}`, input.SyntaxError{Path: "\ufffd", Problem: "escapes a lone UTF-16 surrogate, which is not a character", Offset: 2}},
		{"two values", `{} {}`, input.SyntaxError{Path: "body", Problem: "must hold a single JSON value, but more follows", Offset: 3}},
		{"nested too deep", deep, input.SyntaxError{Path: strings.Repeat("[0]", input.MaxDepth), Problem: "nests deeper than 32 levels", Offset: input.MaxDepth}},
		{"truncated", `{"a":[1,`, input.SyntaxError{Path: "a[1]", Problem: "unexpected end of input", Offset: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := input.Decode([]byte(tt.body))
			var got *input.SyntaxError
			if !errors.As(err, &got) {
				t.Fatalf("Decode(%q) = %v, want a *SyntaxError", tt.body, err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeKeepsWhatWasSent(t *testing.T) {
	t.Parallel()
	body := `{"a":"x\ud83d\ude00y","n":[1299.99,-0,0.1e1,1e309,123456789012345678901234567890],"t":true,"z":null,"e":{},"s":"\u00e9\n"}`
	got, err := input.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": "x😀y",
		"n": []any{json.Number("1299.99"), json.Number("-0"), json.Number("0.1e1"), json.Number("1e309"), json.Number("123456789012345678901234567890")},
		"t": true, "z": nil, "e": map[string]any{}, "s": "é\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("value (-want +got):\n%s", diff)
	}
	nested := strings.Repeat("[", input.MaxDepth) + strings.Repeat("]", input.MaxDepth)
	if _, err := input.Decode([]byte(nested)); err != nil {
		t.Errorf("nesting of exactly %d levels: %v", input.MaxDepth, err)
	}
}
