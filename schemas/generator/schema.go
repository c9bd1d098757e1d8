package generator

import (
	"encoding/json"
	"fmt"
	"go/doc/comment"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/schemas/compat"
	"github.com/orderflow/orderflow/services/order"
)

// Draft4 is the $schema of the event schemas: JSON Schema Draft 4, the JSONSchemaDraft4 type of the
// EventBridge schema registry.
const Draft4 = "http://json-schema.org/draft-04/schema#"

// Extension keywords of the event schemas. The first two are the ones EventBridge puts in the schemas
// it discovers; the third says which contract version the schema belongs to.
const (
	KeySource        = "x-amazon-events-source"
	KeyDetailType    = "x-amazon-events-detail-type"
	KeySchemaVersion = "x-orderflow-schema-version"
)

// utcPattern makes date-time fields RFC 3339 in UTC, as Go writes a time.Time in UTC.
const utcPattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$`

var (
	amountType = reflect.TypeFor[contracts.Amount]()
	timeType   = reflect.TypeFor[time.Time]()
	numberType = reflect.TypeFor[json.Number]()
)

// mapType gives the schema of the Go types whose JSON is not what their kind says. contracts imports
// only the standard library, so Amount gets its schema here rather than from a JSONSchema method.
func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case amountType: // an int64 of cents written as a decimal number with 2 decimals
		return &jsonschema.Schema{Type: "number", Minimum: "0", MultipleOf: "0.01"}
	case timeType:
		return &jsonschema.Schema{Type: "string", Format: "date-time", Pattern: utcPattern}
	case numberType: // request numbers, kept as text by the API to report each bad one
		return &jsonschema.Schema{Type: "number"}
	}
	return nil
}

// generator holds what every document is made from.
type generator struct {
	comments map[string]string
	// rules are the enums of string fields whose values are Go constants rather than types, by
	// "<Go type>.<json name>".
	rules map[string][]string
	// used records the rules applied, so that a rule matching no field (after a rename) is an error.
	used map[string]bool
}

func newGenerator(contractsDir string) (*generator, error) {
	comments := map[string]string{}
	if contractsDir != "" {
		var err error
		if comments, err = readComments(contractsDir); err != nil {
			return nil, err
		}
	}
	return &generator{comments: comments, rules: enumRules(), used: map[string]bool{}}, nil
}

func (g *generator) reflector(expanded bool) *jsonschema.Reflector {
	return &jsonschema.Reflector{Anonymous: true, ExpandedStruct: expanded, CommentMap: g.comments, Mapper: mapType}
}

// readComments reads the doc comments of the contracts package in dir, keyed like
// jsonschema.Reflector.CommentMap, each flattened to one line.
func readComments(dir string) (map[string]string, error) {
	var r jsonschema.Reflector
	// AddGoComments keys comments by path.Join(base, dir); re-key them by the real import path so that
	// dir may be given relative to any working directory.
	if err := r.AddGoComments("x", dir, jsonschema.WithFullComment()); err != nil {
		return nil, fmt.Errorf("read doc comments in %s: %w", dir, err)
	}
	prefix := path.Join("x", filepath.ToSlash(dir)) + "."
	pkg := amountType.PkgPath() + "."
	out := map[string]string{}
	for k, v := range r.CommentMap {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[pkg+rest] = oneLine(v)
		}
	}
	if out[pkg+"Event"] == "" {
		return nil, fmt.Errorf("read doc comments in %s: no doc comment for contracts.Event: is it the contracts package?", dir)
	}
	return out, nil
}

// oneLine turns a doc comment into one line of plain text: doc links lose their brackets.
func oneLine(text string) string {
	var p comment.Parser
	var pr comment.Printer
	txt := string(pr.Text(p.Parse(text)))
	return strings.Join(strings.Fields(txt), " ")
}

// comment is the doc comment of a contracts type.
func (g *generator) comment(t reflect.Type) string { return g.comments[t.PkgPath()+"."+t.Name()] }

// emitted is the doc comment of a detail type as a sentence about the event: "OrderCreatedDetail is
// emitted by ..." becomes "Emitted by ...".
func (g *generator) emitted(t reflect.Type) string {
	c := g.comment(t)
	if rest, ok := strings.CutPrefix(c, t.Name()+" is e"); ok {
		return "E" + rest
	}
	return c
}

func enumRules() map[string][]string {
	var all, failable, cancellable []string
	for _, s := range order.Statuses {
		all = append(all, string(s))
		if order.CanTransition(s, order.Failed) {
			failable = append(failable, string(s))
		}
		if order.CanTransition(s, order.Cancelled) {
			cancellable = append(cancellable, string(s))
		}
	}
	var sources, detailTypes []string
	for _, e := range Events {
		sources = appendNew(sources, e.Source)
		detailTypes = appendNew(detailTypes, e.DetailType)
	}
	ended := []string{contracts.DetailOrderFailed, contracts.DetailOrderCancelled}
	return map[string][]string{
		"Order.status":                        all,
		"StatusChange.status":                 all,
		"Failure.stage":                       failable,
		"Failure.code":                        FailureCodes,
		"OrderCancelledDetail.previousStatus": cancellable,
		"InventoryReleasedDetail.reason":      ended,
		"PaymentVoidedDetail.reason":          ended,
		"Event.version":                       {"0"},
		"Event.source":                        sources,
		"Event.detail-type":                   detailTypes,
		"ChatResponse.source":                 {contracts.ChatSourceModel, contracts.ChatSourceFallback},
		"ErrorDetail.code": {contracts.CodeValidationFailed, contracts.CodeInvalidJSON,
			contracts.CodeUnsupportedMediaType, contracts.CodePayloadTooLarge, contracts.CodeForbidden,
			contracts.CodeNotFound, contracts.CodeConflict, contracts.CodeIdempotencyKeyReused,
			contracts.CodeMethodNotAllowed, contracts.CodePreconditionFailed,
			contracts.CodeRateLimited, contracts.CodeInternal, contracts.CodeUnavailable},
	}
}

// maxLengths are the maxLength of the string properties that carry the API's input, by property name,
// wherever they appear (requests, the Order body, events): the limits of contracts/limits.go, which the
// API enforces on every runtime. An order's reference is what ingest generates.
var maxLengths = map[string]int{
	"customerId":    contracts.MaxCustomerIDLength,
	"productId":     contracts.MaxProductIDLength,
	"sessionId":     contracts.MaxSessionIDLength,
	"paymentToken":  contracts.MaxPaymentTokenLength,
	"name":          contracts.MaxNameLength,
	"customerEmail": contracts.MaxEmailLength,
	"customerPhone": contracts.MaxPhoneLength,
	"currency":      3,
	"street":        contracts.MaxStreetLength,
	"city":          contracts.MaxAddressFieldLength,
	"state":         contracts.MaxAddressFieldLength,
	"country":       contracts.MaxAddressFieldLength,
	"zipCode":       contracts.MaxZipCodeLength,
	"query":         contracts.MaxChatQueryLength,
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// applyRules sets the enums of rules on the properties of the named object schemas in defs, the
// schemaVersion pattern on every detail, and the maxLength of every property named in maxLengths.
func (g *generator) applyRules(defs map[string]*jsonschema.Schema) {
	for name, def := range defs {
		if def.Properties == nil {
			continue
		}
		for prop, s := range def.Properties.FromOldest() {
			key := name + "." + prop
			if values, ok := g.rules[key]; ok {
				s.Enum = toAny(values)
				g.used[key] = true
			}
			if prop == "schemaVersion" {
				s.Pattern = versionPattern()
			}
			if n, ok := maxLengths[prop]; ok && s.Type == "string" {
				max := uint64(n)
				s.MaxLength = &max
			}
		}
	}
}

// unusedRules is an error naming the rules that matched no field.
func (g *generator) unusedRules() error {
	var unused []string
	for k := range g.rules {
		if !g.used[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) == 0 {
		return nil
	}
	sort.Strings(unused)
	return fmt.Errorf("enum rules match no field (renamed in contracts?): %s", strings.Join(unused, ", "))
}

// versionPattern accepts the schemaVersion values of the current major version.
func versionPattern() string {
	v, err := compat.ParseVersion(contracts.SchemaVersion)
	if err != nil {
		panic(fmt.Sprintf("contracts.SchemaVersion: %v", err)) // a constant: caught by every test
	}
	return fmt.Sprintf(`^%d\.[0-9]+$`, v.Major)
}

func toAny(values []string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// eventSchema is the Draft 4 schema of a whole event of kind e, envelope and typed detail, with example
// as its example.
func (g *generator) eventSchema(e Event, example any) (*jsonschema.Schema, error) {
	root := g.reflector(true).Reflect(contracts.Event{})
	detailType := reflect.TypeOf(e.Detail)
	det := g.reflector(false).Reflect(e.Detail)
	defs := det.Definitions
	g.applyRules(defs)
	g.applyRules(map[string]*jsonschema.Schema{"Event": root})
	if e.DetailType == contracts.DetailOrderFailed {
		stage, ok := failedStage[e.Source]
		f, hasFailure := defs["Failure"]
		if !ok || !hasFailure {
			return nil, fmt.Errorf("schema %s: no failure stage for source %s", e.Name(), e.Source)
		}
		f.Properties.Value("stage").Enum = []any{string(stage)}
	}
	props := root.Properties
	props.Value("source").Enum = []any{e.Source}
	props.Value("detail-type").Enum = []any{e.DetailType}
	old := props.Value("detail")
	props.Set("detail", &jsonschema.Schema{Ref: "#/$defs/" + detailType.Name(), Description: old.Description})

	root.Version = Draft4
	root.Title = e.DetailType
	root.Description = fmt.Sprintf("The %s event from %s, in the EventBridge envelope. %s",
		e.DetailType, e.Source, g.emitted(detailType))
	exampleJSON, err := json.Marshal(example)
	if err != nil {
		return nil, fmt.Errorf("schema %s: encode example: %w", e.Name(), err)
	}
	root.Examples = []any{json.RawMessage(exampleJSON)}
	root.Definitions = defs
	rewrite(root, "#/$defs/", "#/definitions/")
	root.Extras = map[string]any{
		"definitions":    root.Definitions,
		KeySource:        e.Source,
		KeyDetailType:    e.DetailType,
		KeySchemaVersion: contracts.SchemaVersion,
	}
	root.Definitions = nil
	return root, nil
}

// EventSchema makes the schema of the events of kind e the way Generate does, with example as its
// example and the doc comments of the contracts source in contractsDir as descriptions ("" for none).
// It lets tests make schemas of Go types other than the published ones, e.g. before/after pairs.
func EventSchema(contractsDir string, e Event, example any) ([]byte, error) {
	g, err := newGenerator(contractsDir)
	if err != nil {
		return nil, err
	}
	return g.encodedEventSchema(e, example)
}

// encodedEventSchema is eventSchema, encoded as the files hold it.
func (g *generator) encodedEventSchema(e Event, example any) ([]byte, error) {
	s, err := g.eventSchema(e, example)
	if err != nil {
		return nil, err
	}
	b, err := encode(s)
	if err != nil {
		return nil, fmt.Errorf("encode schema %s: %w", e.Name(), err)
	}
	return b, nil
}

// rewrite walks s, pointing $refs that start with from at to instead, and writing const, which Draft 4
// lacks, as a one-value enum.
func rewrite(s *jsonschema.Schema, from, to string) {
	if s == nil || s == jsonschema.TrueSchema || s == jsonschema.FalseSchema {
		return
	}
	if rest, ok := strings.CutPrefix(s.Ref, from); ok {
		s.Ref = to + rest
	}
	if s.Const != nil {
		s.Enum, s.Const = []any{s.Const}, nil
	}
	for _, d := range s.Definitions {
		rewrite(d, from, to)
	}
	if s.Properties != nil {
		for _, p := range s.Properties.FromOldest() {
			rewrite(p, from, to)
		}
	}
	for _, list := range [][]*jsonschema.Schema{s.AllOf, s.AnyOf, s.OneOf} {
		for _, sub := range list {
			rewrite(sub, from, to)
		}
	}
	rewrite(s.Items, from, to)
	rewrite(s.AdditionalProperties, from, to)
	rewrite(s.Not, from, to)
}

// encode writes v as indented JSON with a final newline, the form of every generated JSON file.
func encode(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// typeOf is the Go type of a detail value.
func typeOf(v any) reflect.Type { return reflect.TypeOf(v) }
