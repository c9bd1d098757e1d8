package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/schemas/compat"
)

// ErrStale is returned by Check when a generated file differs from the committed one.
var ErrStale = errors.New("generated files are stale: run make schemas")

// contractsDir is where the contracts package's source is, under the module root.
func contractsDir(root string) string { return filepath.Join(root, "contracts") }

// Write generates every file under the module root, replacing the old ones and removing the schemas of
// events that are no longer published. It reports each file it changed to out.
func Write(out io.Writer, root string) error {
	files, err := Generate(contractsDir(root))
	if err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(EventsDir), "*.json"))
	if err != nil {
		return fmt.Errorf("list old schemas: %w", err)
	}
	for _, p := range old {
		rel := path.Join(EventsDir, filepath.Base(p))
		if _, ok := files[rel]; !ok {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("remove schema of an event no longer published: %w", err)
			}
			fmt.Fprintln(out, "removed", rel)
		}
	}
	for _, rel := range sortedPaths(files) {
		if err := writeIfChanged(out, filepath.Join(root, filepath.FromSlash(rel)), rel, files[rel]); err != nil {
			return err
		}
	}
	return nil
}

func writeIfChanged(out io.Writer, file, rel string, content []byte) error {
	if old, err := os.ReadFile(file); err == nil && bytes.Equal(old, content) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	if err := os.WriteFile(file, content, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	fmt.Fprintln(out, "wrote", rel)
	return nil
}

// Stale compares freshly generated files with the files under root and returns a readable diff for
// each that differs, is missing, or is an event schema no longer generated; nil when all are fresh.
func Stale(root string, files Files) ([]string, error) {
	var problems []string
	for _, rel := range sortedPaths(files) {
		have, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			problems = append(problems, rel+": missing")
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", rel, err)
		}
		if d := LineDiff(string(have), string(files[rel])); d != "" {
			problems = append(problems, rel+" (-committed +generated):\n"+d)
		}
	}
	old, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(EventsDir), "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list schemas: %w", err)
	}
	for _, p := range old {
		if rel := path.Join(EventsDir, filepath.Base(p)); files[rel] == nil {
			problems = append(problems, rel+": no longer generated")
		}
	}
	return problems, nil
}

// Check fails with ErrStale when the generated files differ from the committed ones, and with a
// compat error when the event schemas break the last release without the version bump it needs. It
// reports the changes since the last release to out.
func Check(out io.Writer, root string) error {
	files, err := Generate(contractsDir(root))
	if err != nil {
		return err
	}
	stale, err := Stale(root, files)
	if err != nil {
		return err
	}
	if len(stale) > 0 {
		return fmt.Errorf("%w:\n%s", ErrStale, strings.Join(stale, "\n"))
	}
	released, err := LatestRelease(os.DirFS(root))
	if err != nil {
		return err
	}
	changes, err := compat.Check(released, compat.Set{Version: contracts.SchemaVersion, Schemas: files.EventSchemas()})
	for _, c := range changes {
		fmt.Fprintln(out, c)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "schemas are fresh; version %s is compatible with release %s (%d changes)\n",
		contracts.SchemaVersion, released.Version, len(changes))
	return nil
}

// LatestRelease reads the highest released version of the event schemas from fsys, rooted at the
// module root: ReleasedDir/<version>/events/*.json.
func LatestRelease(fsys fs.FS) (compat.Set, error) {
	dirs, err := fs.ReadDir(fsys, ReleasedDir)
	if err != nil {
		return compat.Set{}, fmt.Errorf("list released schemas: %w", err)
	}
	var latest *compat.Version
	for _, d := range dirs {
		v, err := compat.ParseVersion(d.Name())
		if !d.IsDir() || err != nil {
			continue
		}
		if latest == nil || latest.Less(v) {
			latest = &v
		}
	}
	if latest == nil {
		return compat.Set{}, fmt.Errorf("no released version in %s", ReleasedDir)
	}
	set := compat.Set{Version: latest.String(), Schemas: map[string][]byte{}}
	dir := path.Join(ReleasedDir, set.Version, "events")
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return compat.Set{}, fmt.Errorf("list %s: %w", dir, err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return compat.Set{}, fmt.Errorf("read released schema: %w", err)
		}
		set.Schemas[strings.TrimSuffix(path.Base(n), ".json")] = b
	}
	return set, nil
}

// Release copies the current event schemas to ReleasedDir/<contracts.SchemaVersion>/events after
// checking them like Check. A released version is never rewritten: if it exists with other content,
// Release fails and asks for a version bump.
func Release(out io.Writer, root string) error {
	files, err := Generate(contractsDir(root))
	if err != nil {
		return err
	}
	if released, err := LatestRelease(os.DirFS(root)); err == nil {
		if _, err := compat.Check(released, compat.Set{Version: contracts.SchemaVersion, Schemas: files.EventSchemas()}); err != nil {
			return err
		}
	}
	dir := path.Join(ReleasedDir, contracts.SchemaVersion, "events")
	existing, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(dir), "*.json"))
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	schemas := files.EventSchemas()
	if len(existing) > 0 {
		for _, p := range existing {
			b, err := os.ReadFile(p)
			name := strings.TrimSuffix(filepath.Base(p), ".json")
			if err != nil || !bytes.Equal(b, schemas[name]) {
				return fmt.Errorf("version %s is already released with other schemas (%s): bump contracts.SchemaVersion", contracts.SchemaVersion, name)
			}
		}
		if len(existing) != len(schemas) {
			return fmt.Errorf("version %s is already released with other events: bump contracts.SchemaVersion", contracts.SchemaVersion)
		}
		fmt.Fprintf(out, "version %s is already released with these schemas\n", contracts.SchemaVersion)
		return nil
	}
	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rel := path.Join(dir, n+".json")
		if err := writeIfChanged(out, filepath.Join(root, filepath.FromSlash(rel)), rel, schemas[n]); err != nil {
			return err
		}
	}
	return nil
}

func sortedPaths(files Files) []string {
	out := make([]string, 0, len(files))
	for p := range files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
