package compat

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Kind names a kind of difference between two versions of a schema.
type Kind string

// The kinds of change. The breaking ones break a consumer written against the old schema.
const (
	// FieldRemoved: a field of the old schema is gone (removed, or renamed: the new name shows up as
	// FieldAdded). Breaking.
	FieldRemoved Kind = "field removed or renamed"
	// TypeChanged: a field's JSON type changed, including becoming nullable. Breaking.
	TypeChanged Kind = "type changed"
	// FormatChanged: a field's format (e.g. date-time) changed. Breaking.
	FormatChanged Kind = "format changed"
	// NewRequired: a new field is required, or an optional field became required. Breaking.
	NewRequired Kind = "new required field"
	// NoLongerRequired: a required field became optional, so consumers may no longer find it. Breaking.
	NoLongerRequired Kind = "field no longer required"
	// EnumNarrowed: a field lost allowed values, or gained an enum where any value was allowed. Breaking.
	EnumNarrowed Kind = "enum narrowed"
	// SchemaRemoved: an event is no longer published. Breaking.
	SchemaRemoved Kind = "event removed"
	// FieldAdded: a new optional field. Additive.
	FieldAdded Kind = "optional field added"
	// EnumWidened: a field gained allowed values or lost its enum. Additive.
	EnumWidened Kind = "enum widened"
	// SchemaAdded: a new event. Additive.
	SchemaAdded Kind = "event added"
)

// Breaking reports whether a change of kind k breaks consumers of the old schema.
func (k Kind) Breaking() bool {
	switch k {
	case FieldAdded, EnumWidened, SchemaAdded:
		return false
	}
	return true
}

// Change is one difference between an old and a new version of a schema.
type Change struct {
	// Schema is the schema's name, e.g. orderflow.orders@OrderCreated.
	Schema string
	// Path is the field, as in Field.Path; "" for a change of the whole schema.
	Path string
	Kind Kind
	// Detail says what changed, e.g. "string → integer".
	Detail string
}

// String formats the change as one line of a report.
func (c Change) String() string {
	sev := "additive"
	if c.Kind.Breaking() {
		sev = "BREAKING"
	}
	s := fmt.Sprintf("%s: %s: %s", sev, c.Schema, c.Kind)
	if c.Path != "" {
		s += " " + c.Path
	}
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

// Compare lists the differences between the fields of the old and the new version of the schema
// named name, breaking ones included. Descriptions, patterns and numeric bounds are not compared. A
// removed object is reported once, not field by field, and so is an added one.
func Compare(name string, old, new []Field) []Change {
	oldBy, newBy := index(old), index(new)
	var out []Change
	add := func(path string, k Kind, detail string) {
		out = append(out, Change{Schema: name, Path: path, Kind: k, Detail: detail})
	}
	for _, of := range old {
		if _, ok := newBy[of.Path]; !ok {
			if _, parentKept := newBy[parent(of.Path)]; parentKept || parent(of.Path) == "" {
				add(of.Path, FieldRemoved, "")
			}
		}
	}
	for _, nf := range new {
		of, ok := oldBy[nf.Path]
		if !ok {
			if _, parentExisted := oldBy[parent(nf.Path)]; !parentExisted && parent(nf.Path) != "" {
				continue // inside a new object: reported with it
			}
			if nf.Required {
				add(nf.Path, NewRequired, "")
			} else {
				add(nf.Path, FieldAdded, "")
			}
			continue
		}
		if !slices.Equal(of.Types, nf.Types) {
			add(nf.Path, TypeChanged, typeText(of.Types)+" → "+typeText(nf.Types))
		}
		if of.Format != nf.Format {
			add(nf.Path, FormatChanged, quoteOrNone(of.Format)+" → "+quoteOrNone(nf.Format))
		}
		switch {
		case !of.Required && nf.Required:
			add(nf.Path, NewRequired, "was optional")
		case of.Required && !nf.Required:
			add(nf.Path, NoLongerRequired, "")
		}
		switch {
		case of.Enum == nil && nf.Enum != nil:
			add(nf.Path, EnumNarrowed, "now only "+strings.Join(nf.Enum, ", "))
		case of.Enum != nil && nf.Enum == nil:
			add(nf.Path, EnumWidened, "any value now")
		case of.Enum != nil:
			if gone := minus(of.Enum, nf.Enum); len(gone) > 0 {
				add(nf.Path, EnumNarrowed, "removed "+strings.Join(gone, ", "))
			}
			if added := minus(nf.Enum, of.Enum); len(added) > 0 {
				add(nf.Path, EnumWidened, "added "+strings.Join(added, ", "))
			}
		}
	}
	return out
}

func index(fields []Field) map[string]Field {
	m := make(map[string]Field, len(fields))
	for _, f := range fields {
		m[f.Path] = f
	}
	return m
}

// parent is the path of the object or array that holds path: "a.b[]" → "a.b", "a.b" → "a".
func parent(path string) string {
	if p, ok := strings.CutSuffix(path, "[]"); ok {
		return p
	}
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i]
	}
	return ""
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func typeText(types []string) string {
	if len(types) == 0 {
		return "any"
	}
	return strings.Join(types, "|")
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return strconv.Quote(s)
}

// Version is a contract version, major.minor.
type Version struct{ Major, Minor int }

// ParseVersion reads "1.0". It returns an error for anything else than two non-negative integers
// joined by a dot.
func ParseVersion(s string) (Version, error) {
	maj, min, ok := strings.Cut(s, ".")
	a, errA := strconv.Atoi(maj)
	b, errB := strconv.Atoi(min)
	if !ok || errA != nil || errB != nil || a < 0 || b < 0 {
		return Version{}, fmt.Errorf("version %q is not major.minor", s)
	}
	return Version{a, b}, nil
}

// String formats the version as major.minor.
func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Less reports whether v comes before w.
func (v Version) Less(w Version) bool {
	return v.Major < w.Major || (v.Major == w.Major && v.Minor < w.Minor)
}

// Set is a set of event schemas published together under one contract version.
type Set struct {
	// Version is the contract version, major.minor.
	Version string
	// Schemas holds each schema's JSON by schema name.
	Schemas map[string][]byte
}

// Errors returned by Check.
var (
	// ErrBreakingChange: the new set breaks consumers of the released one without a major version bump.
	ErrBreakingChange = errors.New("breaking change without a major version bump")
	// ErrVersionNotBumped: the new set changes the released one without any version bump.
	ErrVersionNotBumped = errors.New("contract changed without a version bump")
	// ErrVersionBackwards: the new version is lower than the released one.
	ErrVersionBackwards = errors.New("version lower than the released one")
)

// Check compares the next set of schemas with the released one and returns every change, sorted by
// schema and path. A breaking change passes only if next's major version is above released's; an
// additive change needs at least a minor bump. Otherwise the error wraps ErrBreakingChange,
// ErrVersionNotBumped or ErrVersionBackwards and lists the offending changes.
func Check(released, next Set) ([]Change, error) {
	rv, err := ParseVersion(released.Version)
	if err != nil {
		return nil, fmt.Errorf("released set: %w", err)
	}
	nv, err := ParseVersion(next.Version)
	if err != nil {
		return nil, fmt.Errorf("new set: %w", err)
	}
	var changes []Change
	for _, name := range sortedKeys(released.Schemas, next.Schemas) {
		oldDoc, inOld := released.Schemas[name]
		newDoc, inNew := next.Schemas[name]
		switch {
		case !inNew:
			changes = append(changes, Change{Schema: name, Kind: SchemaRemoved})
		case !inOld:
			changes = append(changes, Change{Schema: name, Kind: SchemaAdded})
		default:
			of, err := Fields(oldDoc)
			if err != nil {
				return nil, fmt.Errorf("released schema %s: %w", name, err)
			}
			nf, err := Fields(newDoc)
			if err != nil {
				return nil, fmt.Errorf("new schema %s: %w", name, err)
			}
			changes = append(changes, Compare(name, of, nf)...)
		}
	}
	if nv.Less(rv) {
		return changes, fmt.Errorf("%w: %s < %s", ErrVersionBackwards, nv, rv)
	}
	var breaking []string
	for _, c := range changes {
		if c.Kind.Breaking() {
			breaking = append(breaking, c.String())
		}
	}
	if len(breaking) > 0 && nv.Major <= rv.Major {
		return changes, fmt.Errorf("%w (released %s, now %s; bump to %d.0 or undo):\n  %s",
			ErrBreakingChange, rv, nv, rv.Major+1, strings.Join(breaking, "\n  "))
	}
	if len(changes) > 0 && nv == rv {
		lines := make([]string, len(changes))
		for i, c := range changes {
			lines[i] = c.String()
		}
		return changes, fmt.Errorf("%w (released %s; bump to %d.%d):\n  %s",
			ErrVersionNotBumped, rv, rv.Major, rv.Minor+1, strings.Join(lines, "\n  "))
	}
	return changes, nil
}

func sortedKeys(a, b map[string][]byte) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string][]byte{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
