package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orderflow/orderflow/contracts"
	"github.com/orderflow/orderflow/services/adapters/webhook"
	"github.com/orderflow/orderflow/services/fault"
)

func TestHandlerMapsAnswersToRetryOrDeadLetter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   fault.Kind
		ok     bool
	}{
		{200, 0, true}, {204, 0, true}, {408, fault.Unavailable, false}, {429, fault.Unavailable, false}, {503, fault.Unavailable, false}, {404, fault.Invalid, false},
	}
	for _, tt := range tests {
		var gotID string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotID = r.Header.Get("X-Orderflow-Event-Id")
			w.WriteHeader(tt.status)
		}))
		err := webhook.Handler(srv.Client(), webhook.Subscription{Name: "t", Endpoint: srv.URL}, nil)(context.Background(), contracts.Event{ID: "ev1", Detail: []byte(`{}`)})
		srv.Close()
		if tt.ok != (err == nil) || (!tt.ok && fault.KindOf(err) != tt.want) {
			t.Errorf("status %d: err %v, want kind %v", tt.status, err, tt.want)
		}
		if gotID != "ev1" {
			t.Errorf("status %d: event id header %q", tt.status, gotID)
		}
	}
}

func TestLoadRefusesBadSubscriptions(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"bad name":                        `[{"name":"a b","eventPattern":{},"endpoint":"http://x"}]`,
		"bad pattern":                     `[{"name":"a","eventPattern":{"source":"x"},"endpoint":"http://x"}]`,
		"bad url":                         `[{"name":"a","eventPattern":{},"endpoint":"ftp://x"}]`,
		"duplicate":                       `[{"name":"a","eventPattern":{},"endpoint":"http://x"},{"name":"a","eventPattern":{},"endpoint":"http://y"}]`,
		"not json":                        `{`,
		"duplicate key":                   `[{"name":"a","eventPattern":{},"endpoint":"http://x","endpoint":"http://evil"}]`,
		"duplicate key in the pattern":    `[{"name":"a","eventPattern":{"source":["x"],"source":["y"]},"endpoint":"http://x"}]`,
		"invalid UTF-8":                   "[{\"name\":\"a\",\"eventPattern\":{},\"endpoint\":\"http://x/\xff\"}]",
		"unknown field":                   `[{"name":"a","eventPattern":{},"endpoint":"http://x","secrett":"s"}]`,
		"wrong type":                      `[{"name":"a","eventPattern":{},"endpoint":7}]`,
		"two values":                      `[] []`,
		"long endpoint":                   `[{"name":"a","eventPattern":{},"endpoint":"http://x/` + strings.Repeat("p", 2048) + `"}]`,
		"secret with a control character": `[{"name":"a","eventPattern":{},"endpoint":"http://x","secret":"s\u0000"}]`,
	} {
		path := filepath.Join(t.TempDir(), "subs.json")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := webhook.Load(path); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestCallsAreSignedWhenTheSubscriptionHasASecret(t *testing.T) {
	t.Parallel()
	var sig, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sig, body = r.Header.Get(webhook.SignatureHeader), string(b)
	}))
	defer srv.Close()
	h := webhook.Handler(srv.Client(), webhook.Subscription{Name: "t", Endpoint: srv.URL, Secret: "s3cret"}, nil)
	if err := h(context.Background(), contracts.Event{ID: "ev1", Detail: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(body))
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); sig != want {
		t.Errorf("signature = %q, want %q (HMAC-SHA256 of the body)", sig, want)
	}
}

func TestARedirectIsNotADelivery(t *testing.T) {
	t.Parallel()
	// An endpoint that moved answers 301/302/303; following it would turn the POST into a GET without
	// the event, and that GET's 200 would acknowledge an event nobody received.
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect} {
		var posts, gets int
		mux := http.NewServeMux()
		mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/moved", status)
		})
		mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				posts++
			} else {
				gets++
			}
		})
		srv := httptest.NewServer(mux)
		err := webhook.Handler(srv.Client(), webhook.Subscription{Name: "t", Endpoint: srv.URL + "/hook"}, nil)(context.Background(), contracts.Event{ID: "ev1", Detail: []byte(`{}`)})
		srv.Close()
		if err == nil {
			t.Errorf("status %d: delivered (posts %d, gets %d at the redirect's target), want a failure that dead-letters the event", status, posts, gets)
		} else if fault.KindOf(err) != fault.Invalid {
			t.Errorf("status %d: err %v, want kind %v (a redirect is a wrong endpoint, not an outage)", status, err, fault.Invalid)
		}
		if posts+gets != 0 {
			t.Errorf("status %d: the redirect was followed (posts %d, gets %d)", status, posts, gets)
		}
	}
}
