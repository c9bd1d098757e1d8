package generator_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/orderflow/orderflow/schemas/compat"
	"github.com/orderflow/orderflow/schemas/generator"
	"github.com/orderflow/orderflow/services/routing"
)

// root is the module root seen from this package's directory.
const root = "../.."

func generate(t *testing.T) generator.Files {
	t.Helper()
	files, err := generator.Generate(root + "/contracts")
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return files
}

func TestCommittedFilesAreFresh(t *testing.T) {
	stale, err := generator.Stale(root, generate(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stale {
		t.Errorf("%s", s)
	}
	if len(stale) > 0 {
		t.Log("the generated files differ from the committed ones: run make schemas and commit the result")
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := generate(t), generate(t)
	for p := range a {
		if d := generator.LineDiff(string(a[p]), string(b[p])); d != "" {
			t.Errorf("%s differs between two runs:\n%s", p, d)
		}
	}
}

func TestEventSchemasAreDraft4WithExamplesAndDescriptions(t *testing.T) {
	files := generate(t)
	schemas := files.EventSchemas()
	if len(schemas) != len(generator.Events) {
		t.Fatalf("got %d event schemas, want one per event (%d)", len(schemas), len(generator.Events))
	}
	for _, e := range generator.Events {
		t.Run(e.Name(), func(t *testing.T) {
			b := schemas[e.Name()]
			var s map[string]any
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]any{"$schema": generator.Draft4, generator.KeySource: e.Source,
				generator.KeyDetailType: e.DetailType, "title": e.DetailType} {
				if s[k] != want {
					t.Errorf("%s = %v, want %v", k, s[k], want)
				}
			}
			for _, kw := range []string{`"$defs"`, `"const"`, `"$id"`, `#/$defs/`} {
				if bytes.Contains(b, []byte(kw)) {
					t.Errorf("schema uses %s, which Draft 4 lacks", kw)
				}
			}
			if ex, _ := s["examples"].([]any); len(ex) != 1 {
				t.Errorf("schema has %d examples, want 1", len(ex))
			}
			// Compiling checks the schema against the Draft 4 metaschema.
			c := jsonschema.NewCompiler()
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.AddResource("mem:///s.json", doc); err != nil {
				t.Fatal(err)
			}
			sch, err := c.Compile("mem:///s.json")
			if err != nil {
				t.Fatalf("not a valid Draft 4 schema: %v", err)
			}
			if sch.DraftVersion != 4 {
				t.Errorf("compiled as draft %d", sch.DraftVersion)
			}
			fields, err := compat.Fields(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fields {
				if f.Description == "" && !strings.HasSuffix(f.Path, "[]") {
					t.Errorf("field %s has no description: add a doc comment to its Go field", f.Path)
				}
			}
		})
	}
}

func TestRulePatternsMatchExactlyTheirEvent(t *testing.T) {
	md := string(generate(t)[generator.CatalogPath])
	for _, e := range generator.Events {
		ev, err := generator.Example(e)
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range generator.Events {
			r, err := routing.NewRouter([]routing.Route{{Name: "r", Target: "t", Pattern: ruleOf(t, md, other)}})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(r.Targets(ev)) == 1, other.Name() == e.Name(); got != want {
				t.Errorf("pattern of %s matches %s: %v, want %v", other.Name(), e.Name(), got, want)
			}
		}
	}
}

// ruleOf extracts the rule pattern of e from the catalog, so the test checks what subscribers copy.
func ruleOf(t *testing.T, md string, e generator.Event) string {
	t.Helper()
	_, sec, ok := strings.Cut(md, "\n## "+e.Name()+"\n")
	if !ok {
		t.Fatalf("catalog has no section for %s", e.Name())
	}
	_, after, _ := strings.Cut(sec, "### Rule pattern\n\n```json\n")
	pattern, _, _ := strings.Cut(after, "\n```")
	return pattern
}

func TestCatalogNamesConsumersFromTheRoutingTable(t *testing.T) {
	md := string(generate(t)[generator.CatalogPath])
	_, sec, _ := strings.Cut(md, "\n## orderflow.orders@OrderCreated\n")
	sec, _, _ = strings.Cut(sec, "### Fields")
	for _, want := range []string{"`validation`", "`notifier`", "`metrics`"} {
		if !strings.Contains(sec, want) {
			t.Errorf("OrderCreated section does not name consumer %s:\n%s", want, sec)
		}
	}
	if strings.Contains(sec, "`payment-void`") {
		t.Errorf("OrderCreated section names payment-void, which does not consume it")
	}
}

func TestOpenAPIDocumentsEveryEndpoint(t *testing.T) {
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Security  *[]any                     `json:"security"`
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(generate(t)[generator.OpenAPIPath], &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	for _, tc := range []struct {
		method, path string
		statuses     []string
	}{
		{"post", "/orders", []string{"201", "400", "403", "413", "415", "422", "429", "500"}},
		{"get", "/orders", []string{"200", "400", "403", "429"}},
		{"get", "/orders/{orderId}", []string{"200", "404"}},
		{"post", "/orders/{orderId}/cancel", []string{"200", "404", "409"}},
		{"get", "/orders/{orderId}/events", []string{"200", "404"}},
		{"get", "/inventory", []string{"200", "403"}},
		{"get", "/inventory/{productId}", []string{"200", "404"}},
		{"put", "/inventory/{productId}", []string{"200", "400", "412"}},
		{"get", "/admin/orders", []string{"200", "400", "403"}},
		{"get", "/admin/orders/{orderId}/texts", []string{"200", "403", "404"}},
		{"get", "/admin/dead-letters", []string{"200", "400", "403"}},
		{"post", "/admin/dead-letters/redrive", []string{"200", "400", "403"}},
		{"get", "/admin/live", []string{"200", "403"}},
		{"get", "/admin/live/stream", []string{"200", "403"}},
		{"post", "/admin/chatbot", []string{"200", "400", "403"}},
		{"get", "/admin/subscriptions", []string{"200", "403"}},
		{"get", "/healthz", []string{"200"}},
		{"get", "/metrics", []string{"200"}},
		{"post", "/chatbot", []string{"200", "400"}},
		{"get", "/schemas", []string{"200"}},
		{"get", "/schemas/{name}", []string{"200", "404"}},
	} {
		op, ok := doc.Paths[tc.path][tc.method]
		if !ok {
			t.Errorf("%s %s is not documented", tc.method, tc.path)
			continue
		}
		for _, s := range tc.statuses {
			if _, ok := op.Responses[s]; !ok {
				t.Errorf("%s %s: status %s is not documented", tc.method, tc.path, s)
			}
		}
	}
	if sec := doc.Paths["/healthz"]["get"].Security; sec == nil || len(*sec) != 0 {
		t.Errorf("GET /healthz must need no API key, security = %v", sec)
	}
}

func TestGenerateFailsWithoutContractsSource(t *testing.T) {
	if _, err := generator.Generate(t.TempDir()); err == nil {
		t.Fatal("Generate of an empty directory succeeded, want an error")
	}
}

func TestLineDiff(t *testing.T) {
	if d := generator.LineDiff("a\nb\nc\n", "a\nb\nc\n"); d != "" {
		t.Errorf("diff of equal texts = %q, want empty", d)
	}
	d := generator.LineDiff("a\nb\nc\nd\n", "a\nB\nc\nd\n")
	for _, want := range []string{"- b\n", "+ B\n", "  a\n", "  c\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
}

func TestReleaseOfCurrentVersionIsCompatible(t *testing.T) {
	released, err := generator.LatestRelease(osDirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := compat.Check(released, compat.Set{Version: currentVersion(), Schemas: generate(t).EventSchemas()})
	if err != nil {
		t.Fatalf("current schemas against release %s: %v", released.Version, err)
	}
	for _, c := range changes {
		t.Log(c)
	}
	if errors.Is(err, compat.ErrBreakingChange) {
		t.Fatal("unreachable")
	}
}
