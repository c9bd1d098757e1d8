// Package console serves the operations console of orderflow: a single-page web application, built from
// the TypeScript sources in web/ into bundle/ (committed, so that building orderflow needs no Node.js) and
// embedded in the binary. It talks to the REST API of the same origin with an admin key that the
// operator types in; the page and its assets hold no secrets and need no key.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// bundle is the built console: index.html and the files it loads from /assets/.
//
//go:embed bundle
var bundle embed.FS

// AssetsPrefix is the path under which the bundle's files are served.
const AssetsPrefix = "/assets/"

// ContentSecurityPolicy is sent with every page and asset: the console loads nothing from anywhere else,
// runs no inline script or style, and may not be framed.
const ContentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; " +
	"script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes are the types of the files a bundle holds, fixed here rather than read from the
// machine's MIME table, so that the console is served the same everywhere.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".json":  "application/json",
	".txt":   "text/plain; charset=utf-8",
	".woff2": "font/woff2",
}

// asset is one file of the bundle, ready to serve.
type asset struct {
	name        string
	body        []byte
	contentType string
	etag        string
}

// Handler returns the console in front of api: GET and HEAD of / serve the page, GET and HEAD of
// /assets/<file> the bundle's files, and every other request goes to api unchanged. Files are served
// with a strong ETag and Cache-Control: no-cache (their names are fixed, so a browser revalidates and
// gets 304 while they are unchanged), the Content-Security-Policy above and nosniff. An unknown asset
// is a plain 404.
func Handler(api http.Handler) http.Handler {
	index, assets, err := load(bundle)
	if err != nil {
		// The bundle is embedded at compile time: a broken one is a build mistake, caught by the tests.
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			api.ServeHTTP(w, r)
			return
		}
		switch p := r.URL.Path; {
		case p == "/":
			serve(w, r, index)
		case strings.HasPrefix(p, AssetsPrefix):
			a, ok := assets[strings.TrimPrefix(p, AssetsPrefix)]
			if !ok {
				securityHeaders(w.Header())
				http.Error(w, "404 asset not found", http.StatusNotFound)
				return
			}
			serve(w, r, a)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

// load reads the bundle: bundle/index.html, and every other file of bundle/ as an asset by its name.
func load(fsys fs.FS) (index *asset, assets map[string]*asset, err error) {
	root, err := fs.Sub(fsys, "bundle")
	if err != nil {
		return nil, nil, fmt.Errorf("console bundle: %w", err)
	}
	assets = map[string]*asset{}
	err = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			ct = "application/octet-stream"
		}
		a := &asset{name: name, body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		if name == "index.html" {
			index = a
		} else {
			assets[name] = a
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("console bundle: %w", err)
	}
	if index == nil {
		return nil, nil, fmt.Errorf("console bundle: no index.html")
	}
	return index, assets, nil
}

// serve writes a file with its headers; http.ServeContent answers HEAD, If-None-Match (304) and ranges.
func serve(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}

func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}
