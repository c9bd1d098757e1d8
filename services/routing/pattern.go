package routing

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/orderflow/orderflow/contracts"
)

// Pattern is a compiled EventBridge event pattern. It implements the subset of the pattern language that
// orderflow's routes and subscribers use: exact values (strings, numbers, booleans, null), and the
// matchers "prefix", "suffix", "anything-but" (a value or a list) and "exists", at any depth of the event.
type Pattern struct {
	root        node
	needsDetail bool
}

type node struct {
	fields map[string]node // an object: every field must match
	values []matcher       // a leaf: any matcher may match
}

type matcher struct {
	kind  string // "equals", "prefix", "suffix", "anything-but", "exists"
	value any    // json value (string, float64, bool, nil) for equals
	list  []any  // anything-but values
	flag  bool   // exists
}

// ParsePattern compiles an EventBridge event pattern given as JSON.
func ParsePattern(src string) (Pattern, error) {
	var raw map[string]any
	if err := json.Unmarshal([]byte(src), &raw); err != nil {
		return Pattern{}, fmt.Errorf("event pattern is not a JSON object: %w", err)
	}
	root, err := compileObject(raw, "")
	if err != nil {
		return Pattern{}, err
	}
	_, detail := root.fields["detail"]
	for k := range root.fields {
		if k != "source" && k != "detail-type" {
			detail = true
		}
	}
	return Pattern{root: root, needsDetail: detail}, nil
}

func compileObject(raw map[string]any, path string) (node, error) {
	n := node{fields: map[string]node{}}
	for k, v := range raw {
		switch v := v.(type) {
		case map[string]any:
			child, err := compileObject(v, path+k+".")
			if err != nil {
				return node{}, err
			}
			n.fields[k] = child
		case []any:
			ms, err := compileValues(v, path+k)
			if err != nil {
				return node{}, err
			}
			n.fields[k] = node{values: ms}
		default:
			return node{}, fmt.Errorf("event pattern field %s%s must be an object or an array", path, k)
		}
	}
	return n, nil
}

func compileValues(vals []any, field string) ([]matcher, error) {
	var out []matcher
	for _, v := range vals {
		obj, ok := v.(map[string]any)
		if !ok {
			out = append(out, matcher{kind: "equals", value: v})
			continue
		}
		if len(obj) != 1 {
			return nil, fmt.Errorf("event pattern field %s: a matcher object has exactly one key", field)
		}
		for k, arg := range obj {
			switch k {
			case "prefix", "suffix":
				s, ok := arg.(string)
				if !ok {
					return nil, fmt.Errorf("event pattern field %s: %s takes a string", field, k)
				}
				out = append(out, matcher{kind: k, value: s})
			case "anything-but":
				list, ok := arg.([]any)
				if !ok {
					list = []any{arg}
				}
				out = append(out, matcher{kind: k, list: list})
			case "exists":
				b, ok := arg.(bool)
				if !ok {
					return nil, fmt.Errorf("event pattern field %s: exists takes true or false", field)
				}
				out = append(out, matcher{kind: k, flag: b})
			default:
				return nil, fmt.Errorf("event pattern field %s: matcher %q is not supported", field, k)
			}
		}
	}
	return out, nil
}

// Match reports whether the event matches the pattern.
func (p Pattern) Match(e contracts.Event) bool {
	var view map[string]any
	if p.needsDetail {
		view = eventView(e)
	}
	return p.match(e, view)
}

func (p Pattern) match(e contracts.Event, view map[string]any) bool {
	if view == nil {
		view = map[string]any{"source": e.Source, "detail-type": e.DetailType}
	}
	return p.root.matchObject(view)
}

func eventView(e contracts.Event) map[string]any {
	b, err := json.Marshal(e)
	if err != nil {
		return map[string]any{}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]any{}
	}
	return m
}

func (n node) matchObject(obj map[string]any) bool {
	for k, child := range n.fields {
		v, present := obj[k]
		if child.fields != nil {
			sub, ok := v.(map[string]any)
			if !ok || !child.matchObject(sub) {
				return false
			}
			continue
		}
		if !child.matchLeaf(v, present) {
			return false
		}
	}
	return true
}

// matchLeaf: an array in the event matches when any of its elements does, as on EventBridge.
func (n node) matchLeaf(v any, present bool) bool {
	if arr, ok := v.([]any); ok {
		for _, el := range arr {
			if n.matchLeaf(el, true) {
				return true
			}
		}
		return false
	}
	for _, m := range n.values {
		if m.match(v, present) {
			return true
		}
	}
	return false
}

func (m matcher) match(v any, present bool) bool {
	switch m.kind {
	case "exists":
		return present == m.flag
	case "equals":
		return present && v == m.value
	case "prefix":
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, m.value.(string))
	case "suffix":
		s, ok := v.(string)
		return ok && strings.HasSuffix(s, m.value.(string))
	case "anything-but":
		if !present {
			return false
		}
		for _, x := range m.list {
			if v == x {
				return false
			}
		}
		return true
	}
	return false
}
