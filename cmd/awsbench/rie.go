package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// logLine is a line of the emulator's output and when it was read.
type logLine struct {
	at   time.Time
	text string
}

// emulator is a Runtime Interface Emulator running one bootstrap in its own process group.
type emulator struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	log  []logLine
	done chan struct{} // closed when the output ends
}

// startEmulator runs bootstrap under the emulator rie on free loopback ports with exactly env, and waits
// until it accepts invocations. The bootstrap itself starts on the first invocation.
func startEmulator(rie, bootstrap string, env []string) (*emulator, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	e := &emulator{url: "http://" + addr + "/2015-03-31/functions/function/invocations", done: make(chan struct{})}
	e.cmd = exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	e.cmd.Env = env
	e.cmd.Dir = filepath.Dir(bootstrap)
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	e.cmd.Stdout, e.cmd.Stderr = pw, pw
	if err := e.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = e.cmd.Wait()
		_ = pw.Close()
	}()
	go func() {
		defer close(e.done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			e.mu.Lock()
			e.log = append(e.log, logLine{at: time.Now(), text: sc.Text()})
			e.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return e, nil
		}
		if time.Now().After(deadline) {
			e.stop()
			return nil, fmt.Errorf("the emulator does not listen on %s: %v", addr, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// invoke posts event and returns the emulator's status and answer, and how long the round trip took.
func (e *emulator) invoke(event []byte) (int, []byte, time.Duration, error) {
	client := &http.Client{Timeout: 2 * time.Minute}
	start := time.Now()
	res, err := client.Post(e.url, "application/json", bytes.NewReader(event))
	if err != nil {
		return 0, nil, 0, err
	}
	body, err := io.ReadAll(res.Body)
	took := time.Since(start)
	_ = res.Body.Close()
	return res.StatusCode, body, took, err
}

// waitLine waits up to 5 s for a line of the emulator's output that contains s, and returns it.
func (e *emulator) waitLine(s string) (logLine, bool) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.mu.Lock()
		for _, l := range e.log {
			if strings.Contains(l.text, s) {
				e.mu.Unlock()
				return l, true
			}
		}
		e.mu.Unlock()
		if time.Now().After(deadline) {
			return logLine{}, false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// output returns the emulator's output so far.
func (e *emulator) output() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, l := range e.log {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// stop kills the emulator and its runtime. The emulator starts the runtime in a process group of its
// own, so the groups of the emulator's children are killed first, then the emulator's group.
func (e *emulator) stop() {
	pid := e.cmd.Process.Pid
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(b)) {
			if child, err := strconv.Atoi(field); err == nil && child > 1 {
				_ = syscall.Kill(-child, syscall.SIGKILL)
				_ = syscall.Kill(child, syscall.SIGKILL)
			}
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

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
