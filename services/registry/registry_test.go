package registry_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/schemas"
	"github.com/orderflow/orderflow/schemas/generator"
	"github.com/orderflow/orderflow/schemas/validate"
	"github.com/orderflow/orderflow/services/registry"
)

func get(t *testing.T, h http.Handler, target string) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", target, ct)
	}
	return rec.Code, body
}

func newRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	r, err := registry.New(schemas.FS)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func TestListSchemasListsEveryEventWithItsVersions(t *testing.T) {
	t.Parallel()
	code, body := get(t, newRegistry(t), "/schemas")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	if err := validate.Response("GET", "/schemas", code, body); err != nil {
		t.Error(err)
	}
	var list registry.SchemaList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, e := range generator.Events {
		want[e.Name()] = true
	}
	got := map[string]bool{}
	for _, s := range list.Schemas {
		got[s.SchemaName] = true
		if s.VersionCount != int64(len(s.SchemaVersions)) || s.VersionCount < 1 {
			t.Errorf("%s: VersionCount %d, %d versions listed", s.SchemaName, s.VersionCount, len(s.SchemaVersions))
		}
		if want := "arn:aws:schemas:local:000000000000:schema/orderflow/" + s.SchemaName; s.SchemaArn != want {
			t.Errorf("SchemaArn = %q, want %q", s.SchemaArn, want)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("schemas (-want +got):\n%s", d)
	}
}

func TestListSchemasFiltersByPrefix(t *testing.T) {
	t.Parallel()
	_, body := get(t, newRegistry(t), "/schemas?schemaNamePrefix=orderflow.payment@")
	var list registry.SchemaList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Schemas {
		names = append(names, s.SchemaName)
	}
	want := []string{"orderflow.payment@OrderFailed", "orderflow.payment@PaymentAuthorized", "orderflow.payment@PaymentVoided"}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("names (-want +got):\n%s", d)
	}
}

func TestDescribeSchemaReturnsTheFileAsContent(t *testing.T) {
	t.Parallel()
	const name = "orderflow.orders@OrderCreated"
	current, err := schemas.FS.ReadFile("events/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	released, err := schemas.FS.ReadFile("released/1.0/events/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target, version string
		file            []byte
	}{
		{"/schemas/" + name, contracts.SchemaVersion, current},
		{"/schemas/" + name + "?version=" + contracts.SchemaVersion, contracts.SchemaVersion, current},
		{"/schemas/" + name + "?version=1.0", "1.0", released},
		{"/schemas/" + name + "?schemaVersion=1.0", "1.0", released},
	} {
		code, body := get(t, newRegistry(t), tc.target)
		if code != http.StatusOK {
			t.Fatalf("GET %s: status %d: %s", tc.target, code, body)
		}
		if err := validate.Response("GET", "/schemas/{name}", code, body); err != nil {
			t.Error(err)
		}
		var d registry.SchemaDescription
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatal(err)
		}
		if d.Content != string(tc.file) || d.SchemaName != name || d.SchemaVersion != tc.version || d.Type != "JSONSchemaDraft4" || d.Description == "" {
			t.Errorf("GET %s: got version %s, content of %d bytes (want %s, %d bytes)", tc.target, d.SchemaVersion, len(d.Content), tc.version, len(tc.file))
		}
	}
}

func TestDescribeSchemaNotFound(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"/schemas/orderflow.orders@OrderShipped", "/schemas/orderflow.orders@OrderCreated?version=9.9"} {
		code, body := get(t, newRegistry(t), target)
		if code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, code)
		}
		if err := validate.Response("GET", "/schemas/{name}", code, body); err != nil {
			t.Error(err)
		}
	}
}

func TestVersionsComeFromReleasesAndTheCurrentSchemas(t *testing.T) {
	t.Parallel()
	schema := func(version, desc string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(`{"description":"` + desc + `","x-orderflow-schema-version":"` + version + `"}`)}
	}
	fsys := fstest.MapFS{
		"released/1.0/events/a@X.json":  schema("1.0", "first"),
		"released/1.2/events/a@X.json":  schema("1.2", "second"),
		"released/1.10/events/a@X.json": schema("1.10", "third"),
		"events/a@X.json":               schema("2.0", "current"),
		"released/1.0/events/b@Y.json":  schema("1.0", "old b"),
		"events/b@Y.json":               schema("1.0", "current b"),
	}
	r, err := registry.New(fsys)
	if err != nil {
		t.Fatal(err)
	}
	_, body := get(t, r, "/schemas")
	var list registry.SchemaList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	versions := map[string][]string{}
	for _, s := range list.Schemas {
		for _, v := range s.SchemaVersions {
			versions[s.SchemaName] = append(versions[s.SchemaName], v.SchemaVersion)
		}
	}
	if d := cmp.Diff(map[string][]string{"a@X": {"1.0", "1.2", "1.10", "2.0"}, "b@Y": {"1.0"}}, versions); d != "" {
		t.Errorf("versions (-want +got):\n%s", d)
	}
	for target, wantDesc := range map[string]string{
		"/schemas/a@X": "current", "/schemas/a@X?version=1.2": "second", "/schemas/b@Y": "current b",
	} {
		_, body := get(t, r, target)
		var d registry.SchemaDescription
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatal(err)
		}
		if d.Description != wantDesc {
			t.Errorf("GET %s: description %q, want %q", target, d.Description, wantDesc)
		}
	}
}

func TestNewRefusesBadFileSystems(t *testing.T) {
	t.Parallel()
	for name, fsys := range map[string]fstest.MapFS{
		"empty":                          {},
		"schema that is not JSON":        {"events/a@X.json": {Data: []byte("{")}},
		"current schema without version": {"events/a@X.json": {Data: []byte(`{}`)}},
	} {
		if _, err := registry.New(fsys); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
