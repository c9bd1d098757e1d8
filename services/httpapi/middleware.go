package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/pipeline"
)

// correlate takes the request's X-Correlation-Id, or makes one when it is absent or unusable, puts it in
// the context (where ingest stamps it on new orders) and echoes it in the response.
func correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(headerCorrelationID)
		if !validCorrelationID(id) {
			id = newCorrelationID()
		}
		w.Header().Set(headerCorrelationID, id)
		next.ServeHTTP(w, r.WithContext(pipeline.WithCorrelationID(r.Context(), id)))
	})
}

// validCorrelationID accepts up to 128 letters, digits and -._: so that a client's id is safe to log.
func validCorrelationID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}

func newCorrelationID() string {
	if id, err := uuid.NewV7(); err == nil {
		return id.String()
	}
	return uuid.NewString()
}

func correlationID(ctx context.Context) string { return pipeline.CorrelationID(ctx) }

// observe writes the access log line and reports the request to the Observer, labelled with the route
// pattern it matched.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, route := s.mux.Handler(r)
		if route == "" {
			route = routeUnmatched
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			d := time.Since(start)
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			if route != routeAdminLiveStream || status != http.StatusOK {
				// A stream's lifetime is not a request's latency: it would swamp the histogram.
				s.deps.Observer.ObserveHTTP(route, status, d)
			}
			if s.log.Enabled(r.Context(), slog.LevelInfo) { // its arguments cost allocations even unlogged
				s.log.InfoContext(r.Context(), "http request", "method", r.Method, "route", route, "path", r.URL.Path,
					"status", status, "bytes", sw.bytes, "duration", d, "correlationId", correlationID(r.Context()))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// recoverPanics turns a panic into a 500 without internals in the body, logging the panic and stack.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // ErrAbortHandler is compared by identity, as net/http does
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path,
				"correlationId", correlationID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw.status != 0 {
				// Too late for an error response; make the client see a broken response, not a complete one.
				panic(http.ErrAbortHandler)
			}
			s.writeError(sw, r, fault.New(fault.Internal, "", "panic"))
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// principal is the authenticated caller.
type principal struct {
	admin bool
	// id identifies the API key without being it: it scopes idempotency keys and rate limits and can be
	// stored and logged.
	id string
}

type principalKey struct{}

func principalFrom(ctx context.Context) (principal, bool) {
	p, ok := ctx.Value(principalKey{}).(principal)
	return p, ok
}

// keyring holds the digests of the configured API keys.
type keyring struct {
	keys []keyEntry
}

type keyEntry struct {
	digest [sha256.Size]byte
	admin  bool
}

func newKeyring(client, admin []string) *keyring {
	k := &keyring{}
	for _, key := range client {
		if key != "" {
			k.keys = append(k.keys, keyEntry{digest: sha256.Sum256([]byte(key))})
		}
	}
	for _, key := range admin {
		if key != "" {
			k.keys = append(k.keys, keyEntry{digest: sha256.Sum256([]byte(key)), admin: true})
		}
	}
	return k
}

// lookup compares the key with every configured key in constant time (digests have one length, and the
// loop never stops early), so that response timing reveals nothing about the keys.
func (k *keyring) lookup(key string) (principal, bool) {
	d := sha256.Sum256([]byte(key))
	found, admin := 0, 0
	for _, e := range k.keys {
		eq := subtle.ConstantTimeCompare(d[:], e.digest[:])
		found |= eq
		if e.admin {
			admin |= eq
		}
	}
	if key == "" || found == 0 {
		return principal{}, false
	}
	return principal{admin: admin == 1, id: hex.EncodeToString(d[:16])}, true
}

// authenticate requires a known X-API-Key on every request but those to /healthz: 403 FORBIDDEN
// otherwise. The health route is open whatever the method, so that a probe using the wrong one learns
// 405 with the methods it takes, not a 403 about a key it does not need.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == healthPath {
			next.ServeHTTP(w, r)
			return
		}
		var p principal
		var ok bool
		if s.identify != nil {
			var c Caller
			if c, ok = s.identify(r); ok && c.ID != "" {
				p = principal{admin: c.Admin, id: c.ID}
			} else {
				ok = false
			}
		} else {
			p, ok = s.keys.lookup(r.Header.Get(headerAPIKey))
		}
		if !ok {
			s.writeError(w, r, errForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// adminOnly refuses callers without an admin key: 403 FORBIDDEN.
func (s *server) adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := principalFrom(r.Context()); !ok || !p.admin {
			s.writeError(w, r, errAdminOnly)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limiter keeps one token bucket per API key.
type limiter struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	// byKey only ever holds configured keys (callers are authenticated first), so it is bounded.
	byKey map[string]*rate.Limiter
}

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return &limiter{limit: rate.Limit(perSecond), burst: burst, byKey: map[string]*rate.Limiter{}}
}

// wait returns 0 if a request by key may go ahead now, or how long the client should wait.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	lim, ok := l.byKey[key]
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.byKey[key] = lim
	}
	l.mu.Unlock()
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Second
	}
	d := res.DelayFrom(now)
	if d > 0 {
		res.CancelAt(now) // the request is refused, so it must not use up the token
	}
	return d
}

// rateLimit refuses requests beyond the key's rate with 429 RATE_LIMITED and Retry-After in whole
// seconds, rounded up.
func (s *server) rateLimit(next http.Handler) http.Handler {
	if s.limits == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := principalFrom(r.Context())
		if !ok { // GET /healthz
			next.ServeHTTP(w, r)
			return
		}
		if d := s.limits.wait(p.id, time.Now()); d > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
			s.writeError(w, r, errRateLimited)
			return
		}
		next.ServeHTTP(w, r)
	})
}
