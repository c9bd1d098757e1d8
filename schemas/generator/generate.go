package generator

import (
	"fmt"
	"path"
	"strings"

	"github.com/orderflow/orderflow/contracts"
)

// Paths of the generated files, relative to the module root.
const (
	// EventsDir holds one schema per event, <source>@<DetailType>.json.
	EventsDir = "schemas/events"
	// OpenAPIPath is the OpenAPI document of the REST API.
	OpenAPIPath = "schemas/openapi.json"
	// CatalogPath is the event catalog for subscribers.
	CatalogPath = "docs/events.md"
	// ReleasedDir holds the released schemas, <version>/events/<name>.json, that schemas-check compares
	// the current ones with.
	ReleasedDir = "schemas/released"
)

// EventPath is the path of the schema of the event named name.
func EventPath(name string) string { return path.Join(EventsDir, name+".json") }

// Files maps the path of each generated file, relative to the module root, to its content.
type Files map[string][]byte

// EventSchemas returns the event schemas among the files, by schema name.
func (f Files) EventSchemas() map[string][]byte {
	out := map[string][]byte{}
	for p, b := range f {
		if path.Dir(p) == EventsDir {
			out[strings.TrimSuffix(path.Base(p), ".json")] = b
		}
	}
	return out
}

// Generate makes every generated file: the event schemas, the OpenAPI document and the event catalog.
// contractsDir is the directory of the contracts package's source, whose doc comments become the
// descriptions. It fails when the source cannot be read, when an example event cannot be built, or
// when an enum rule no longer matches a field of the contracts.
func Generate(contractsDir string) (Files, error) {
	g, err := newGenerator(contractsDir)
	if err != nil {
		return nil, err
	}
	files := Files{}
	var entries []catalogEntry
	for _, e := range Events {
		example, err := Example(e)
		if err != nil {
			return nil, err
		}
		b, err := g.encodedEventSchema(e, example)
		if err != nil {
			return nil, err
		}
		files[EventPath(e.Name())] = b
		entries = append(entries, catalogEntry{event: e, schema: b, example: example})
	}
	api, err := g.openAPIDocument()
	if err != nil {
		return nil, err
	}
	if files[OpenAPIPath], err = encode(api); err != nil {
		return nil, fmt.Errorf("encode OpenAPI document: %w", err)
	}
	if err := g.unusedRules(); err != nil {
		return nil, err
	}
	if files[CatalogPath], err = g.catalog(entries); err != nil {
		return nil, err
	}
	return files, nil
}

// schemaVersion is the contract version the files are generated for.
func schemaVersion() string { return contracts.SchemaVersion }
