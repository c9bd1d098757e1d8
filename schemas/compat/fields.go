// Package compat judges whether a new version of an event schema is compatible with the released one.
// It reduces a JSON Schema to the flat list of its fields (Fields) and compares two such lists
// (Compare) and two released sets of schemas with their versions (Check): a breaking change needs a
// major version bump, an additive change a minor one.
package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
)

// Field is one field of the documents a schema describes, at any depth.
type Field struct {
	// Path locates the field: property names joined by dots, "[]" for the items of an array, e.g.
	// detail.items[].price.
	Path string
	// Types are the JSON types the field may have, sorted, e.g. [string] or [null string].
	Types []string
	// Format is the JSON Schema format, e.g. date-time, or "".
	Format string
	// Pattern is the regular expression a string must match, or "".
	Pattern string
	// Enum lists the allowed values; nil when any value of the types is allowed.
	Enum []string
	// Required reports whether the field must be present in its parent object. The items of an array
	// are always required.
	Required bool
	// Description is the schema's description of the field.
	Description string
	// Constraints lists the numeric and size bounds of the field in schema keyword form, e.g.
	// "minimum 0" or "multipleOf 0.01".
	Constraints []string
}

// maxDepth bounds the walk of recursive schemas.
const maxDepth = 32

// Fields flattens the JSON Schema in doc into the fields it describes, in the order the schema lists
// them, parents before children. It follows local $ref pointers (#/definitions/..., #/$defs/...) and
// treats a oneOf or anyOf of a schema and {"type":"null"} as a nullable field. It returns an error for
// a document that is not JSON or a $ref it cannot resolve.
func Fields(doc []byte) ([]Field, error) {
	root, err := decodeOrdered(doc)
	if err != nil {
		return nil, fmt.Errorf("decode schema: %w", err)
	}
	w := walker{root: root}
	if err := w.walk(root, "", true, 0); err != nil {
		return nil, err
	}
	return w.fields, nil
}

type walker struct {
	root   any
	fields []Field
}

func (w *walker) walk(node any, path string, required bool, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("field %s: schema nests deeper than %d levels", path, maxDepth)
	}
	s, desc, err := w.resolve(node)
	if err != nil {
		return fmt.Errorf("field %s: %w", path, err)
	}
	if s == nil { // true schema: anything goes, nothing to list below it
		if path != "" {
			w.fields = append(w.fields, Field{Path: path, Required: required, Description: desc})
		}
		return nil
	}
	types := typesOf(s)
	// A nullable field is written oneOf/anyOf [schema, {"type":"null"}]: describe the schema and add null.
	if alt := nullableAlternative(s); alt != nil {
		inner, innerDesc, err := w.resolve(alt)
		if err != nil {
			return fmt.Errorf("field %s: %w", path, err)
		}
		if desc == "" {
			desc = innerDesc
		}
		types = append(typesOf(inner), "null")
		s = inner
	}
	sort.Strings(types)
	if path != "" {
		f := Field{Path: path, Types: types, Required: required, Description: desc}
		f.Format, _ = s.get("format").(string)
		f.Pattern, _ = s.get("pattern").(string)
		if enum, ok := s.get("enum").([]any); ok {
			f.Enum = []string{}
			for _, v := range enum {
				f.Enum = append(f.Enum, scalarText(v))
			}
		}
		for _, k := range []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
			"minLength", "maxLength", "minItems", "maxItems"} {
			if v := s.get(k); v != nil {
				f.Constraints = append(f.Constraints, k+" "+scalarText(v))
			}
		}
		w.fields = append(w.fields, f)
	}
	if props, ok := s.get("properties").(*object); ok {
		req := map[string]bool{}
		if list, ok := s.get("required").([]any); ok {
			for _, r := range list {
				if name, ok := r.(string); ok {
					req[name] = true
				}
			}
		}
		for _, name := range props.keys {
			if err := w.walk(props.vals[name], join(path, name), req[name], depth+1); err != nil {
				return err
			}
		}
	}
	if items := s.get("items"); items != nil {
		if err := w.walk(items, path+"[]", true, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// resolve follows $ref chains to the schema object they point at. It returns a nil object for the
// true schema, and the first description met on the way, so that a property's own description wins
// over the one of the type it refers to.
func (w *walker) resolve(node any) (*object, string, error) {
	desc := ""
	for range maxDepth {
		switch n := node.(type) {
		case bool:
			if !n { // the false schema: no value at all, so no types
				return &object{vals: map[string]any{}}, desc, nil
			}
			return nil, desc, nil
		case *object:
			if desc == "" {
				desc, _ = n.get("description").(string)
			}
			ref, ok := n.get("$ref").(string)
			if !ok {
				return n, desc, nil
			}
			target, err := pointer(w.root, ref)
			if err != nil {
				return nil, "", err
			}
			node = target
		default:
			return nil, "", fmt.Errorf("schema is a %T, not an object", node)
		}
	}
	return nil, "", errors.New("$ref chain too long")
}

// pointer resolves a local reference, "#/definitions/Address", in root.
func pointer(root any, ref string) (any, error) {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("$ref %q: only local references are supported", ref)
	}
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return nil, fmt.Errorf("$ref %q: %w", ref, err)
	}
	node := root
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		o, ok := node.(*object)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside an object", ref, tok)
		}
		if node, ok = o.vals[tok]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, tok)
		}
	}
	return node, nil
}

// nullableAlternative returns S when s is oneOf/anyOf [S, {"type":"null"}] (in either order).
func nullableAlternative(s *object) any {
	for _, k := range []string{"oneOf", "anyOf"} {
		alts, ok := s.get(k).([]any)
		if !ok || len(alts) != 2 {
			continue
		}
		for i, a := range alts {
			if o, ok := a.(*object); ok && len(o.keys) == 1 && o.get("type") == "null" {
				return alts[1-i]
			}
		}
	}
	return nil
}

func typesOf(s *object) []string {
	switch t := s.get("type").(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, v := range t {
			if name, ok := v.(string); ok {
				out = append(out, name)
			}
		}
		return out
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func scalarText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// object is a JSON object that remembers the order of its keys.
type object struct {
	keys []string
	vals map[string]any
}

func (o *object) get(k string) any { return o.vals[k] }

// decodeOrdered decodes JSON keeping the order of object keys: objects become *object, numbers
// json.Number.
func decodeOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch d {
	case '{':
		o := &object{vals: map[string]any{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			if _, dup := o.vals[k]; !dup {
				o.keys = append(o.keys, k)
			}
			o.vals[k] = v
		}
		_, err := dec.Token() // }
		return o, err
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token() // ]
		return arr, err
	}
	return nil, fmt.Errorf("unexpected %v", d)
}
