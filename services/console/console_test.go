package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orderflow/orderflow/services/console"
	"github.com/orderflow/orderflow/services/order"
)

// apiStub stands for the REST API: it answers every request it gets with 299 and its method and path.
var apiStub = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Api", "yes")
	w.WriteHeader(299)
	io.WriteString(w, r.Method+" "+r.URL.Path)
})

func do(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServesPageAndAssets(t *testing.T) {
	t.Parallel()
	h := console.Handler(apiStub)
	tests := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script defer src="/assets/app.js">`},
		{"/assets/app.js", "text/javascript; charset=utf-8", "orderflow"},
		{"/assets/app.css", "text/css; charset=utf-8", ".uplot"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			res := do(t, h, http.MethodGet, tt.path, nil)
			b := body(t, res)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if !strings.Contains(b, tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
			for k, want := range map[string]string{
				"Content-Security-Policy": console.ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "no-cache",
			} {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			if res.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			if res.Header.Get("X-Api") != "" {
				t.Error("the request reached the API")
			}
		})
	}
}

func TestPolicyIsStrict(t *testing.T) {
	t.Parallel()
	for _, want := range []string{"default-src 'self'", "connect-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'"} {
		if !strings.Contains(console.ContentSecurityPolicy, want) {
			t.Errorf("policy lacks %q", want)
		}
	}
	if strings.Contains(console.ContentSecurityPolicy, "unsafe") {
		t.Error("policy allows something unsafe")
	}
}

func TestHeadAndRevalidation(t *testing.T) {
	t.Parallel()
	h := console.Handler(apiStub)
	get := do(t, h, http.MethodGet, "/assets/app.js", nil)
	full := body(t, get)

	head := do(t, h, http.MethodHead, "/assets/app.js", nil)
	if head.StatusCode != http.StatusOK || body(t, head) != "" {
		t.Errorf("HEAD: status %d with a body, want 200 without", head.StatusCode)
	}
	if got, want := head.Header.Get("Content-Length"), get.Header.Get("Content-Length"); got != want || want == "" {
		t.Errorf("HEAD Content-Length %q, GET %q", got, want)
	}
	if len(full) == 0 {
		t.Fatal("empty app.js")
	}

	again := do(t, h, http.MethodGet, "/assets/app.js", http.Header{"If-None-Match": {get.Header.Get("ETag")}})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: status %d, want 304", again.StatusCode)
	}
}

func TestOtherRequestsGoToTheAPI(t *testing.T) {
	t.Parallel()
	h := console.Handler(apiStub)
	tests := []struct{ method, path string }{
		{http.MethodGet, "/orders/abc"},
		{http.MethodPost, "/orders"},
		{http.MethodGet, "/admin/live/stream"},
		{http.MethodGet, "/healthz"},
		{http.MethodPost, "/"}, // only GET and HEAD are the page
		{http.MethodDelete, "/assets/app.js"},
		{http.MethodGet, "/index.html"}, // the page is at / only
		{http.MethodGet, "/assetsx"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			res := do(t, h, tt.method, tt.path, nil)
			if res.StatusCode != 299 || body(t, res) != tt.method+" "+tt.path {
				t.Errorf("status %d: not passed to the API unchanged", res.StatusCode)
			}
		})
	}
}

func TestUnknownAssetIsNotFound(t *testing.T) {
	t.Parallel()
	h := console.Handler(apiStub)
	for _, path := range []string{"/assets/nope.js", "/assets/", "/assets/index.html", "/assets/../go.mod"} {
		res := do(t, h, http.MethodGet, path, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, res.StatusCode)
		}
		if res.Header.Get("X-Api") != "" {
			t.Errorf("GET %s reached the API", path)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
	}
}

// TestBundleHasNoExternalURLs guards the rule that the console loads nothing from elsewhere: the only
// absolute URLs in the bundle may be XML namespace names, which are never fetched.
func TestBundleHasNoExternalURLs(t *testing.T) {
	t.Parallel()
	namespaces := []string{"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml", "http://www.w3.org/1998/Math/MathML", "http://www.w3.org/1999/xlink", "http://www.w3.org/XML/1998/namespace"}
	for _, name := range []string{"bundle/index.html", "bundle/app.js", "bundle/app.css"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, ns := range namespaces {
			s = strings.ReplaceAll(s, ns, "")
		}
		for _, scheme := range []string{"http://", "https://", "//fonts.", "//cdn"} {
			if i := strings.Index(s, scheme); i >= 0 {
				t.Errorf("%s has an external URL: %q", name, s[i:min(len(s), i+60)])
			}
		}
	}
}

// The console's lists of statuses are hand-written in TypeScript: they must say what the Go order does.
func TestTheConsolesStatusesAreTheOrdersStatuses(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("web", "src", "types.ts"))
	if err != nil {
		t.Fatal(err)
	}
	quoted := regexp.MustCompile(`"([A-Z_]+)"`)
	list := func(name string) []string {
		t.Helper()
		decl := regexp.MustCompile(`(?s)export const ` + name + `\b[^=]*=(.*?);`).FindSubmatch(src)
		if decl == nil {
			t.Fatalf("types.ts declares no %s", name)
		}
		var out []string
		for _, m := range quoted.FindAllSubmatch(decl[1], -1) {
			out = append(out, string(m[1]))
		}
		return out
	}
	var all, cancellable, final []string
	for _, s := range order.Statuses {
		all = append(all, string(s))
		if order.CanTransition(s, order.Cancelled) {
			cancellable = append(cancellable, string(s))
		}
		if s.Terminal() {
			final = append(final, string(s))
		}
	}
	for _, c := range []struct {
		name string
		want []string
	}{{"STATUSES", all}, {"CANCELLABLE", cancellable}, {"FINAL", final}} {
		if diff := cmp.Diff(c.want, list(c.name)); diff != "" {
			t.Errorf("%s in types.ts (-Go's +types.ts):\n%s", c.name, diff)
		}
	}
}
