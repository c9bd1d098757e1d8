// Package validate checks documents against orderflow's published contracts with a real JSON Schema
// validator (santhosh-tekuri/jsonschema): events against their event schemas, API responses against the
// OpenAPI document. Tests use it; it is kept out of package schemas so that the runtime binaries, which
// embed the schema files, do not pay for compiling the validator's meta-schemas at init.
package validate

import (
	"github.com/orderflow/orderflow/schemas"

	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Errors of the validators, besides the validation errors themselves.
var (
	// ErrUnknownEvent: no schema for the event's source and detail type.
	ErrUnknownEvent = errors.New("no schema for this event")
	// ErrUndocumented: the OpenAPI document has no such operation, status or content.
	ErrUndocumented = errors.New("not in the OpenAPI document")
)

// base is the URL the schema files are loaded under; it is never fetched.
const base = "mem:///schemas/"

type eventValidators struct {
	byName map[string]*jsonschema.Schema
	err    error
}

var loadEvents = sync.OnceValue(func() eventValidators {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.AssertFormat()
	files, err := fs.Glob(schemas.FS, path.Join(schemas.EventsDir, "*.json"))
	if err != nil {
		return eventValidators{err: fmt.Errorf("list event schemas: %w", err)}
	}
	out := eventValidators{byName: map[string]*jsonschema.Schema{}}
	for _, f := range files {
		doc, err := readJSON(f)
		if err != nil {
			return eventValidators{err: err}
		}
		u := base + url.PathEscape(path.Base(f))
		if err := c.AddResource(u, doc); err != nil {
			return eventValidators{err: fmt.Errorf("load %s: %w", f, err)}
		}
		s, err := c.Compile(u)
		if err != nil {
			return eventValidators{err: fmt.Errorf("compile %s: %w", f, err)}
		}
		out.byName[strings.TrimSuffix(path.Base(f), ".json")] = s
	}
	return out
})

func readJSON(file string) (any, error) {
	b, err := fs.ReadFile(schemas.FS, file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", file, err)
	}
	return doc, nil
}

// Event checks an event, in the EventBridge envelope, against the schema of its source and
// detail type. It returns an error wrapping ErrUnknownEvent when there is no such schema, and a
// validation error listing every violation (a missing field, a field the schema does not know, a wrong
// type or value) otherwise.
func Event(event []byte) error {
	vs := loadEvents()
	if vs.err != nil {
		return vs.err
	}
	var head struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	if err := json.Unmarshal(event, &head); err != nil {
		return fmt.Errorf("event is not a JSON object: %w", err)
	}
	name := schemas.SchemaName(head.Source, head.DetailType)
	s, ok := vs.byName[name]
	if !ok {
		return fmt.Errorf("event %s: %w", name, ErrUnknownEvent)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return fmt.Errorf("event %s: %w", name, err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("event %s does not match its schema: %w", name, err)
	}
	return nil
}

// EventNames lists the names of the event schemas.
func EventNames() ([]string, error) {
	vs := loadEvents()
	if vs.err != nil {
		return nil, vs.err
	}
	names := make([]string, 0, len(vs.byName))
	for n := range vs.byName {
		names = append(names, n)
	}
	sortStrings(names)
	return names, nil
}

type apiValidators struct {
	doc      map[string]any // the OpenAPI document, decoded
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	compiled map[string]*jsonschema.Schema // by JSON pointer into the document
	err      error
}

var loadAPI = sync.OnceValue(func() *apiValidators {
	doc, err := readJSON(schemas.OpenAPIFile)
	if err != nil {
		return &apiValidators{err: err}
	}
	m, _ := doc.(map[string]any)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020) // the dialect of OpenAPI 3.1
	c.AssertFormat()
	if err := c.AddResource(base+schemas.OpenAPIFile, doc); err != nil {
		return &apiValidators{err: fmt.Errorf("load %s: %w", schemas.OpenAPIFile, err)}
	}
	return &apiValidators{doc: m, compiler: c, compiled: map[string]*jsonschema.Schema{}}
})

// Response checks a response body of the REST API against the OpenAPI document: the schema of
// the response with the given status (or the default response) of the operation method pathPattern,
// e.g. ("GET", "/orders/{orderId}", 200, body). A JSON body is validated against its schema, fields
// the schema does not know included; a text body must be non-empty. It returns an error wrapping
// ErrUndocumented for an operation or status the document does not describe, and a validation error
// listing every violation otherwise.
func Response(method, pathPattern string, status int, body []byte) error {
	api := loadAPI()
	if api.err != nil {
		return api.err
	}
	op := fmt.Sprintf("%s %s %d", strings.ToUpper(method), pathPattern, status)
	paths, _ := api.doc["paths"].(map[string]any)
	item, _ := paths[pathPattern].(map[string]any)
	operation, _ := item[strings.ToLower(method)].(map[string]any)
	if operation == nil {
		return fmt.Errorf("%s: operation %w", op, ErrUndocumented)
	}
	responses, _ := operation["responses"].(map[string]any)
	key := strconv.Itoa(status)
	resp, _ := responses[key].(map[string]any)
	if resp == nil {
		key = "default"
		if resp, _ = responses[key].(map[string]any); resp == nil {
			return fmt.Errorf("%s: status %w", op, ErrUndocumented)
		}
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(bytes.TrimSpace(body)) > 0 {
			return fmt.Errorf("%s: the document says no body, got %d bytes", op, len(body))
		}
		return nil
	}
	if _, ok := content["application/json"]; !ok {
		if len(body) == 0 {
			return fmt.Errorf("%s: empty body", op)
		}
		return nil
	}
	ptr := "/paths/" + escapePointer(pathPattern) + "/" + strings.ToLower(method) + "/responses/" + key +
		"/content/application~1json/schema"
	s, err := api.schema(ptr)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: body is not JSON: %w", op, err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%s: body does not match the OpenAPI document: %w", op, err)
	}
	return nil
}

func (a *apiValidators) schema(ptr string) (*jsonschema.Schema, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.compiled[ptr]; ok {
		return s, nil
	}
	s, err := a.compiler.Compile(base + schemas.OpenAPIFile + "#" + (&url.URL{Fragment: ptr}).EscapedFragment())
	if err != nil {
		return nil, fmt.Errorf("compile response schema: %w", err)
	}
	a.compiled[ptr] = s
	return s, nil
}

// escapePointer escapes a JSON pointer token.
func escapePointer(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
