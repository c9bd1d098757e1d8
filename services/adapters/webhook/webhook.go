// Package webhook delivers bus events to other teams' HTTP endpoints: the local counterpart of an
// EventBridge rule with an API destination. A subscription is an EventBridge event pattern and a URL;
// matching events are POSTed as the JSON envelope, at least once, with the local bus's retries and
// dead-letter table behind every delivery.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"time"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/fault"
	"github.com/orderflow/orderflow/services/input"
	"github.com/orderflow/orderflow/services/pipeline"
	"github.com/orderflow/orderflow/services/routing"
)

// Subscription is one team's subscription, as written in the subscriptions file.
type Subscription struct {
	// Name identifies the subscription (letters, digits, '-' and '_'); it names the routing target
	// "webhook:<name>" in logs, metrics and the dead-letter table.
	Name string `json:"name"`
	// EventPattern is an EventBridge event pattern.
	EventPattern json.RawMessage `json:"eventPattern"`
	// Endpoint is the URL events are POSTed to.
	Endpoint string `json:"endpoint"`
	// Secret, when set, signs every call: header X-Orderflow-Signature is "sha256=" and the hex
	// HMAC-SHA256 of the body under this secret, so the receiver can check the call came from orderflow.
	Secret string `json:"secret,omitempty"`
}

// SignatureHeader carries a call's signature when the subscription has a secret.
const SignatureHeader = "X-Orderflow-Signature"

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Target is the routing target of a subscription.
func (s Subscription) Target() string { return "webhook:" + s.Name }

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Limits of a subscription's fields.
const (
	// MaxEndpointLength bounds an endpoint URL.
	MaxEndpointLength = 2048
	// MaxSecretLength bounds a secret (printable ASCII).
	MaxSecretLength = 256
)

// Load reads a subscriptions file: a JSON array of Subscription, decoded as strictly as the API's bodies
// (input.Decode: no duplicate keys, valid UTF-8, bounded nesting) and without unknown fields, so that a
// misspelt field is an error rather than a subscription that silently lacks it. It checks every name,
// pattern, URL and secret.
func Load(path string) ([]Subscription, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read subscriptions: %w", err)
	}
	if _, err := input.Decode(b); err != nil {
		return nil, fmt.Errorf("subscriptions file %s: %w", path, err)
	}
	var subs []Subscription
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&subs); err != nil {
		return nil, fmt.Errorf("subscriptions file %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, s := range subs {
		if !validName.MatchString(s.Name) || seen[s.Name] {
			return nil, fmt.Errorf("subscription %d: name %q must be unique letters, digits, '-' or '_'", i, s.Name)
		}
		seen[s.Name] = true
		if _, err := routing.ParsePattern(string(s.EventPattern)); err != nil {
			return nil, fmt.Errorf("subscription %s: %w", s.Name, err)
		}
		if u, err := url.Parse(s.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s.Endpoint) > MaxEndpointLength {
			return nil, fmt.Errorf("subscription %s: endpoint %q is not an http(s) URL of at most %d bytes", s.Name, s.Endpoint, MaxEndpointLength)
		}
		if issue := input.ASCIIIdentifier(s.Secret, MaxSecretLength); s.Secret != "" && issue != "" {
			return nil, fmt.Errorf("subscription %s: secret %s", s.Name, issue)
		}
	}
	return subs, nil
}

// Routes turns subscriptions into routes for the routing table.
func Routes(subs []Subscription) []routing.Route {
	out := make([]routing.Route, len(subs))
	for i, s := range subs {
		out[i] = routing.Route{Name: "webhook-" + s.Name, Target: s.Target(), Description: "deliver to " + s.Endpoint, Pattern: string(s.EventPattern)}
	}
	return out
}

// Handler returns the bus consumer that POSTs events to the subscription's endpoint. A 2xx answer
// acknowledges the event; 408, 429, 5xx and network errors are retried; any other answer dead-letters it,
// as EventBridge API destinations do. A redirect is such an answer: it is not followed, since following a
// 301, 302 or 303 turns the POST into a GET without the event, whose 2xx would acknowledge an event the
// endpoint never received (and a redirect could send the call, signed, anywhere). Every attempt is
// recorded in log, unless log is nil.
func Handler(client *http.Client, s Subscription, log *Log) pipeline.Handler {
	rec := log.subscription(s)
	// A copy, so that the caller's client (shared by every subscription) is left as it was.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client = &c
	return func(ctx context.Context, e contracts.Event) error {
		start := time.Now()
		status, answer, err := deliver(ctx, client, s, e)
		if rec != nil {
			d := contracts.Delivery{
				EventID: e.ID, DetailType: e.DetailType, OrderID: pipeline.EventOrderID(e), At: start.UTC(),
				StatusCode: status, OK: err == nil, DurationMs: float64(time.Since(start)) / float64(time.Millisecond),
			}
			if err != nil {
				d.Error = err.Error()
				if answer != "" {
					d.Error += ": " + answer
				}
			}
			rec.record(d)
		}
		return err
	}
}

// deliver makes one attempt. It returns the endpoint's status (0 when there was no answer), the start
// of its answer's body, and why the attempt failed.
func deliver(ctx context.Context, client *http.Client, s Subscription, e contracts.Event) (status int, answer string, err error) {
	body, err := json.Marshal(e)
	if err != nil {
		return 0, "", fault.Wrap(fault.Invalid, err, "encode event")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, "", fault.Wrap(fault.Invalid, err, "build webhook request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Orderflow-Event-Id", e.ID)
	req.Header.Set("X-Orderflow-Subscription", s.Name)
	if s.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(s.Secret, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fault.Wrap(fault.Unavailable, err, "webhook "+s.Name)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Read only so that the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return resp.StatusCode, "", nil
	}
	// The start of a refusal often says why.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorLength))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return resp.StatusCode, string(head), fault.Unavailablef("webhook %s answered %s", s.Name, resp.Status)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, string(head), fault.Invalidf("webhook %s answered %s to %q: redirects are not followed, update the endpoint",
			s.Name, resp.Status, shorten(resp.Header.Get("Location")))
	}
	return resp.StatusCode, string(head), fault.Invalidf("webhook %s answered %s", s.Name, resp.Status)
}
