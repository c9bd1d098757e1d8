// Package registry is the local schema registry: an http.Handler answering GET /schemas and
// GET /schemas/{name} with the event schemas of orderflow, shaped like the ListSchemas and
// DescribeSchema responses of the EventBridge Schemas API, so that a tool written against one works
// against the other.
//
// It serves the files of a schemas file system (schemas.FS): the current schemas in events/ and the
// released ones in released/<version>/events/. A schema's versions are the contract versions
// (major.minor) it was released in, plus the current one; EventBridge numbers versions 1, 2, 3 instead.
package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/schemas/compat"
)

// Where schemas live in the file system given to New.
const (
	eventsDir   = "events"
	releasedDir = "released"
)

// Identity of the local registry, used to make ARNs in the form EventBridge uses.
const (
	// Name is the registry's name.
	Name = "orderflow"
	// Region and Account stand for the AWS region and account, like the local bus's envelope.
	Region  = "local"
	Account = "000000000000"
	// SchemaType is the type of every schema: JSON Schema Draft 4.
	SchemaType = "JSONSchemaDraft4"
)

// schemaVersionKey is the keyword of a schema file that names its contract version.
const schemaVersionKey = "x-orderflow-schema-version"

// SchemaList is the body of GET /schemas: the ListSchemas response of the EventBridge Schemas API, with
// each schema's versions added (ListSchemaVersions on EventBridge).
type SchemaList struct {
	// Schemas are the registry's schemas, by name.
	Schemas []SchemaSummary `json:"Schemas"`
}

// SchemaSummary describes one schema, as in ListSchemas.
type SchemaSummary struct {
	// LastModified is when the latest version was loaded.
	LastModified time.Time `json:"LastModified"`
	// SchemaArn is the schema's ARN, arn:aws:schemas:<region>:<account>:schema/<registry>/<name>.
	SchemaArn string `json:"SchemaArn"`
	// SchemaName is <source>@<DetailType>, e.g. orderflow.orders@OrderCreated.
	SchemaName string `json:"SchemaName"`
	// Tags are the schema's tags; always empty locally.
	Tags map[string]string `json:"Tags"`
	// VersionCount is the number of versions of the schema.
	VersionCount int64 `json:"VersionCount"`
	// SchemaVersions lists the versions, oldest first, as ListSchemaVersions does.
	SchemaVersions []SchemaVersionSummary `json:"SchemaVersions"`
}

// SchemaVersionSummary is one version of a schema, as in ListSchemaVersions.
type SchemaVersionSummary struct {
	// SchemaArn is the schema's ARN.
	SchemaArn string `json:"SchemaArn"`
	// SchemaName is the schema's name.
	SchemaName string `json:"SchemaName"`
	// SchemaVersion is the contract version, major.minor.
	SchemaVersion string `json:"SchemaVersion"`
	// Type is JSONSchemaDraft4.
	Type string `json:"Type"`
}

// SchemaDescription is the body of GET /schemas/{name}: the DescribeSchema response of the
// EventBridge Schemas API.
type SchemaDescription struct {
	// Content is the schema itself, a JSON Schema Draft 4 document, as a string.
	Content string `json:"Content"`
	// Description says what the event is and when it is emitted.
	Description string `json:"Description"`
	// LastModified is when the schema was loaded.
	LastModified time.Time `json:"LastModified"`
	// SchemaArn is the schema's ARN.
	SchemaArn string `json:"SchemaArn"`
	// SchemaName is the schema's name.
	SchemaName string `json:"SchemaName"`
	// SchemaVersion is the version described, major.minor.
	SchemaVersion string `json:"SchemaVersion"`
	// Tags are the schema's tags; always empty locally.
	Tags map[string]string `json:"Tags"`
	// Type is JSONSchemaDraft4.
	Type string `json:"Type"`
	// VersionCreatedDate is when the version was loaded.
	VersionCreatedDate time.Time `json:"VersionCreatedDate"`
}

// Registry serves the schemas it was built from. It is safe for concurrent use.
type Registry struct {
	names    []string
	versions map[string][]version // by schema name, oldest first
	loaded   time.Time
	mux      *http.ServeMux
}

type version struct {
	v           string
	content     []byte
	description string
}

// New reads the schemas of fsys: events/*.json, the current ones, and released/<version>/events/*.json.
// It returns an error when a file cannot be read or is not a JSON object, when a current schema does
// not say its version, or when there is no schema at all.
func New(fsys fs.FS) (*Registry, error) {
	r := &Registry{versions: map[string][]version{}, loaded: time.Now().UTC().Truncate(time.Second)}
	releases, err := fs.ReadDir(fsys, releasedDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list released schemas: %w", err)
	}
	for _, rel := range releases {
		if !rel.IsDir() {
			continue
		}
		if err := r.load(fsys, path.Join(releasedDir, rel.Name(), eventsDir), rel.Name()); err != nil {
			return nil, err
		}
	}
	if err := r.load(fsys, eventsDir, ""); err != nil {
		return nil, err
	}
	if len(r.versions) == 0 {
		return nil, errors.New("no schemas in " + eventsDir)
	}
	for name, vs := range r.versions {
		r.names = append(r.names, name)
		sort.SliceStable(vs, func(i, j int) bool { return lessVersion(vs[i].v, vs[j].v) })
	}
	sort.Strings(r.names)
	r.mux = http.NewServeMux()
	r.mux.HandleFunc("GET /schemas", r.list)
	r.mux.HandleFunc("GET /schemas/{name}", r.describe)
	return r, nil
}

// load adds the schemas in dir. release is their version, or "" for the current ones, which name their
// version in the file. A current schema identical to a release of the same version is not added twice.
func (r *Registry) load(fsys fs.FS, dir, release string) error {
	files, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return fmt.Errorf("list schemas in %s: %w", dir, err)
	}
	for _, file := range files {
		b, err := fs.ReadFile(fsys, file)
		if err != nil {
			return fmt.Errorf("read schema: %w", err)
		}
		var head struct {
			Description string `json:"description"`
			Version     string `json:"x-orderflow-schema-version"`
		}
		if err := json.Unmarshal(b, &head); err != nil {
			return fmt.Errorf("schema %s: %w", file, err)
		}
		v := release
		if v == "" {
			if v = head.Version; v == "" {
				return fmt.Errorf("schema %s: no %s", file, schemaVersionKey)
			}
		}
		name := strings.TrimSuffix(path.Base(file), ".json")
		vs := r.versions[name]
		replaced := false
		for i := range vs {
			if vs[i].v == v { // the current schema of a released version wins: same contract, newer text
				vs[i] = version{v: v, content: b, description: head.Description}
				replaced = true
			}
		}
		if !replaced {
			vs = append(vs, version{v: v, content: b, description: head.Description})
		}
		r.versions[name] = vs
	}
	return nil
}

// ServeHTTP answers GET /schemas and GET /schemas/{name}?version=. An unknown schema or version is a
// 404 with the API's error body.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.mux.ServeHTTP(w, req) }

// Names lists the schema names, sorted.
func (r *Registry) Names() []string { return append([]string(nil), r.names...) }

func (r *Registry) arn(name string) string {
	return fmt.Sprintf("arn:aws:schemas:%s:%s:schema/%s/%s", Region, Account, Name, name)
}

func (r *Registry) list(w http.ResponseWriter, req *http.Request) {
	prefix := req.URL.Query().Get("schemaNamePrefix")
	out := SchemaList{Schemas: []SchemaSummary{}}
	for _, name := range r.names {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		vs := r.versions[name]
		s := SchemaSummary{LastModified: r.loaded, SchemaArn: r.arn(name), SchemaName: name,
			Tags: map[string]string{}, VersionCount: int64(len(vs))}
		for _, v := range vs {
			s.SchemaVersions = append(s.SchemaVersions, SchemaVersionSummary{SchemaArn: s.SchemaArn,
				SchemaName: name, SchemaVersion: v.v, Type: SchemaType})
		}
		out.Schemas = append(out.Schemas, s)
	}
	writeJSON(w, http.StatusOK, out)
}

func (r *Registry) describe(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	vs, ok := r.versions[name]
	if !ok {
		notFound(w, fmt.Sprintf("no schema named %q", name))
		return
	}
	q := req.URL.Query()
	want := q.Get("version")
	if want == "" {
		want = q.Get("schemaVersion") // the DescribeSchema query parameter
	}
	v := vs[len(vs)-1]
	if want != "" {
		found := false
		for _, c := range vs {
			if c.v == want {
				v, found = c, true
			}
		}
		if !found {
			notFound(w, fmt.Sprintf("schema %q has no version %q", name, want))
			return
		}
	}
	writeJSON(w, http.StatusOK, SchemaDescription{Content: string(v.content), Description: v.description,
		LastModified: r.loaded, SchemaArn: r.arn(name), SchemaName: name, SchemaVersion: v.v,
		Tags: map[string]string{}, Type: SchemaType, VersionCreatedDate: r.loaded})
}

func notFound(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusNotFound, contracts.ErrorBody{Error: contracts.ErrorDetail{Code: contracts.CodeNotFound, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status line is written: an encoding error could only be a broken connection.
	_ = json.NewEncoder(w).Encode(v)
}

// lessVersion orders major.minor versions numerically, 1.9 before 1.10, and anything else as text after.
func lessVersion(a, b string) bool {
	va, errA := compat.ParseVersion(a)
	vb, errB := compat.ParseVersion(b)
	if errA != nil || errB != nil {
		return errA == nil || (errB != nil && a < b)
	}
	return va.Less(vb)
}
