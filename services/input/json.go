package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxDepth is how deeply arrays and objects may nest in a body. orderflow's requests nest 3 levels (an
// order, its items, an item) and an event pattern a few more; a bound keeps a hostile body from costing
// more than its size.
const MaxDepth = 32

// SyntaxError is a body that is not exactly one well-formed JSON value: what is wrong and where.
type SyntaxError struct {
	// Path is where in the value the problem is, in the API's field syntax (items[0].name), or "body"
	// for the body as a whole.
	Path string
	// Problem says what is wrong, e.g. `duplicate key "customerId"`.
	Problem string
	// Offset is the byte offset of the problem in the body.
	Offset int64
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: %s (at byte %d)", e.Path, e.Problem, e.Offset)
}

// Root is the Path of a SyntaxError about the body as a whole.
const Root = "body"

// Decode reads b as exactly one JSON value, strictly: a key twice in one object (also when spelt with
// different escapes), bytes that are not UTF-8, an escaped lone surrogate (\ud800, which other decoders
// turn into U+FFFD), nesting deeper than MaxDepth, an empty body and anything after the value are all
// *SyntaxError. Objects come back as map[string]any, arrays as []any, numbers as json.Number (their text
// as sent), strings, bools and nil, so that callers can check the shape field by field.
func Decode(b []byte) (any, error) {
	if v, ok := fast(b); ok {
		return v, nil
	}
	return strict(b)
}

// strict is Decode on encoding/json's tokens, which knows where and why a body is refused.
func strict(b []byte) (any, error) {
	if i := invalidUTF8(b); i >= 0 {
		return nil, &SyntaxError{Path: Root, Problem: "is not valid UTF-8", Offset: int64(i)}
	}
	d := &decoder{b: b, dec: json.NewDecoder(bytes.NewReader(b))}
	d.dec.UseNumber()
	v, err := d.value(Root, 0)
	if err != nil {
		return nil, err
	}
	end := d.dec.InputOffset()
	if _, err := d.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &SyntaxError{Path: Root, Problem: "must hold a single JSON value, but more follows", Offset: d.start(end)}
	}
	return v, nil
}

type decoder struct {
	b   []byte
	dec *json.Decoder
}

// token reads the next token, with the offset where it starts.
func (d *decoder) token(path string) (json.Token, int64, error) {
	before := d.dec.InputOffset()
	t, err := d.dec.Token()
	if err != nil {
		return nil, before, d.syntax(path, err, before)
	}
	return t, d.start(before), nil
}

// start skips the whitespace, colons and commas from off to where a token starts.
func (d *decoder) start(off int64) int64 {
	for off < int64(len(d.b)) {
		switch d.b[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
		default:
			return off
		}
	}
	return off
}

func (d *decoder) syntax(path string, err error, off int64) error {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF) && off == 0:
		return &SyntaxError{Path: Root, Problem: "is empty", Offset: 0}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &SyntaxError{Path: path, Problem: "unexpected end of input", Offset: int64(len(d.b))}
	case errors.As(err, &syn):
		return &SyntaxError{Path: path, Problem: "is not valid JSON: " + syn.Error(), Offset: syn.Offset}
	}
	return &SyntaxError{Path: path, Problem: "is not valid JSON: " + err.Error(), Offset: off}
}

func (d *decoder) value(path string, depth int) (any, error) {
	t, off, err := d.token(path)
	if err != nil {
		return nil, err
	}
	return d.rest(t, off, path, depth)
}

// rest finishes the value that starts with token t at off.
func (d *decoder) rest(t json.Token, off int64, path string, depth int) (any, error) {
	switch t := t.(type) {
	case json.Delim:
		if t != '{' && t != '[' {
			return nil, &SyntaxError{Path: path, Problem: fmt.Sprintf("unexpected %q", rune(t)), Offset: off}
		}
		if depth >= MaxDepth {
			return nil, &SyntaxError{Path: path, Problem: fmt.Sprintf("nests deeper than %d levels", MaxDepth), Offset: off}
		}
		if t == '{' {
			return d.object(path, depth+1)
		}
		return d.array(path, depth+1)
	case string:
		if err := d.surrogates(off, path); err != nil {
			return nil, err
		}
		return t, nil
	default: // json.Number, bool, nil
		return t, nil
	}
}

func (d *decoder) object(path string, depth int) (any, error) {
	m := map[string]any{}
	for {
		t, off, err := d.token(path)
		if err != nil {
			return nil, err
		}
		if t == json.Delim('}') {
			return m, nil
		}
		k := t.(string) // the decoder only gives a string or '}' here
		kp := join(path, k)
		if err := d.surrogates(off, kp); err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, &SyntaxError{Path: kp, Problem: fmt.Sprintf("duplicate key %s", strconv.Quote(k)), Offset: off}
		}
		v, err := d.value(kp, depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
}

func (d *decoder) array(path string, depth int) (any, error) {
	a := []any{}
	for i := 0; ; i++ {
		ip := fmt.Sprintf("%s[%d]", path, i)
		if path == Root {
			ip = fmt.Sprintf("[%d]", i)
		}
		t, off, err := d.token(ip)
		if err != nil {
			return nil, err
		}
		if t == json.Delim(']') {
			return a, nil
		}
		v, err := d.rest(t, off, ip, depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
}

// surrogates refuses the string literal at off if it escapes half of a UTF-16 surrogate pair without
// the other half: encoding/json would quietly turn it into U+FFFD, storing another string than the one
// sent.
func (d *decoder) surrogates(off int64, path string) error {
	s := d.b[off:]
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return nil
		case '\\':
			if s[i+1] != 'u' {
				i++
				continue
			}
			r := hex4(s[i+2 : i+6])
			if utf16.IsSurrogate(r) {
				if r < 0xdc00 && i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
					if r2 := hex4(s[i+8 : i+12]); r2 >= 0xdc00 && r2 <= 0xdfff {
						i += 11
						continue
					}
				}
				return &SyntaxError{Path: path, Problem: "escapes a lone UTF-16 surrogate, which is not a character", Offset: off + int64(i)}
			}
			i += 5
		}
	}
	return nil
}

func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b), 16, 32) // the decoder has checked the escape already
	return rune(n)
}

// invalidUTF8 returns the offset of the first byte of b that is not part of valid UTF-8, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// join is the path of key in the object at path, in the API's field syntax.
func join(path, key string) string {
	if path == Root {
		return key
	}
	return path + "." + key
}

// fast decodes b as Decode does, about four times faster, when b is a body Decode accepts and has no
// \u escape; otherwise it returns false, and strict decodes b (and says what is wrong with it). It reads
// b with jsontext, which refuses whatever strict refuses (bytes that are not UTF-8, anything after the
// value, bad grammar) but lets an escaped lone surrogate through, hence the escapes are left to strict;
// nesting is bounded here as there. jsontext's own check for a key twice is off (it keeps a set of the
// names of every object): a key met twice in an object's map is handed to strict too. Without \u
// escapes two spellings of one key are unquoted to the same string, so that check is jsontext's.
func fast(b []byte) (any, bool) {
	if bytes.Contains(b, []byte(`\u`)) {
		return nil, false
	}
	d := fastDecoders.Get().(*fastDecoder)
	defer fastDecoders.Put(d)
	// A bytes.Buffer is read in place, without a copy into the decoder's own buffer.
	d.buf = *bytes.NewBuffer(b)
	d.dec.Reset(&d.buf, jsontext.AllowDuplicateNames(true))
	defer func() { // let go of b
		d.dec.Reset(&emptyBuffer)
		d.buf = bytes.Buffer{}
	}()
	v, ok := fastValue(&d.dec, 0)
	if !ok {
		return nil, false
	}
	if _, err := d.dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return v, true
}

// fastDecoder is a decoder of fast and the buffer it reads, reused across bodies.
type fastDecoder struct {
	dec jsontext.Decoder
	buf bytes.Buffer
}

var (
	fastDecoders = sync.Pool{New: func() any { return new(fastDecoder) }}
	emptyBuffer  bytes.Buffer
)

// knownKeys are the keys of the API's bodies: a key among them is not allocated again for every body.
var knownKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"customerId", "customerEmail", "customerPhone", "items", "productId", "name", "quantity", "price",
		"totalAmount", "currency", "paymentToken", "shippingAddress", "street", "city", "state", "zipCode",
		"country", "reference", "status", "reason", "available", "message", "sessionId", "url", "pattern",
		"source", "detail-type", "detail",
	} {
		m[k] = k
	}
	return m
}()

// fastKey reads an object's key: one of knownKeys without an allocation, any other as Token.String.
func fastKey(dec *jsontext.Decoder) (string, bool) {
	raw, err := dec.ReadValue()
	if err != nil || len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		if k, ok := knownKeys[string(inner)]; ok {
			return k, true
		}
		return string(inner), true
	}
	unquoted, err := jsontext.AppendUnquote(nil, raw)
	if err != nil {
		return "", false
	}
	return string(unquoted), true
}

func fastValue(dec *jsontext.Decoder, depth int) (any, bool) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, false
	}
	switch tok.Kind() {
	case '{', '[':
		if depth >= MaxDepth {
			return nil, false
		}
		return fastComposite(dec, tok.Kind(), depth+1)
	case '"':
		return tok.String(), true
	case '0':
		return json.Number(tok.String()), true
	case 't':
		return true, true
	case 'f':
		return false, true
	case 'n':
		return nil, true
	}
	return nil, false
}

// fastComposite reads the rest of an object or array, whose opening token was kind.
func fastComposite(dec *jsontext.Decoder, kind jsontext.Kind, depth int) (any, bool) {
	var m map[string]any
	var a []any
	if kind == '{' {
		m = map[string]any{}
	} else {
		a = []any{}
	}
	for {
		switch dec.PeekKind() {
		case '}', ']':
			if _, err := dec.ReadToken(); err != nil {
				return nil, false
			}
			if m != nil {
				return m, true
			}
			return a, true
		case 0:
			return nil, false // what comes next is not JSON: strict says why
		}
		var key string
		if m != nil {
			k, ok := fastKey(dec)
			if !ok {
				return nil, false
			}
			if _, dup := m[k]; dup {
				return nil, false // strict says where
			}
			key = k
		}
		v, ok := fastValue(dec, depth)
		if !ok {
			return nil, false
		}
		if m != nil {
			m[key] = v
		} else {
			a = append(a, v)
		}
	}
}
