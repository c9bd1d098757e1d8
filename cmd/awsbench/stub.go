package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// stubAWS stands in for every AWS endpoint (AWS_ENDPOINT_URL): it answers DynamoDB Query with no items
// and everything else at once with a ValidationException, which the SDK does not retry, and records
// when each request came.
type stubAWS struct {
	*httptest.Server
	mu  sync.Mutex
	got []time.Time
}

func newStubAWS() *stubAWS {
	s := &stubAWS{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.got = append(s.got, time.Now())
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.Query" {
			_, _ = io.WriteString(w, `{"Count":0,"Items":[],"ScannedCount":0}`)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ValidationException","message":"awsbench stub endpoint"}`)
	}))
	return s
}

// before returns how many requests came before t, and forgets all of them.
func (s *stubAWS) before(t time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, at := range s.got {
		if at.Before(t) {
			n++
		}
	}
	s.got = nil
	return n
}
