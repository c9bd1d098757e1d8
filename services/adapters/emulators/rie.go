//go:build unix

package emulators

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LogLine is a line of the Runtime Interface Emulator's output and when it was read.
type LogLine struct {
	At   time.Time
	Text string
}

// RIE is the AWS Lambda Runtime Interface Emulator running one bootstrap, in a process group of its own.
type RIE struct {
	// URL is where invocations are posted.
	URL  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  []LogLine
	done chan struct{} // closed when the output ends
}

// StartRIE runs bootstrap under the emulator binary rie (built from the module's aws-lambda-rie tool) on
// free loopback ports with exactly env, and waits until it accepts invocations. The bootstrap itself
// starts on the first invocation, as on Lambda. Stop it with Stop.
func StartRIE(rie, bootstrap string, env []string) (*RIE, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	addr, apiAddr := "127.0.0.1:"+strconv.Itoa(port), "127.0.0.1:"+strconv.Itoa(apiPort)
	e := &RIE{URL: "http://" + addr + "/2015-03-31/functions/function/invocations", done: make(chan struct{})}
	e.cmd = exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	e.cmd.Env = env
	e.cmd.Dir = filepath.Dir(bootstrap)
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	e.cmd.Stdout, e.cmd.Stderr = pw, pw
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the Runtime Interface Emulator: %w", err)
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
			e.log = append(e.log, LogLine{At: time.Now(), Text: sc.Text()})
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
			e.Stop()
			return nil, fmt.Errorf("the Runtime Interface Emulator does not listen on %s: %v", addr, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Invoke posts event and returns the emulator's status and answer, and how long the round trip took.
func (e *RIE) Invoke(event []byte) (int, []byte, time.Duration, error) {
	client := &http.Client{Timeout: 2 * time.Minute}
	start := time.Now()
	res, err := client.Post(e.URL, "application/json", bytes.NewReader(event))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("invoke: %w", err)
	}
	body, err := io.ReadAll(res.Body)
	took := time.Since(start)
	_ = res.Body.Close()
	return res.StatusCode, body, took, err
}

// WaitLine waits up to timeout for a line of the emulator's output that contains s, and returns it.
func (e *RIE) WaitLine(s string, timeout time.Duration) (LogLine, bool) {
	deadline := time.Now().Add(timeout)
	for {
		e.mu.Lock()
		for _, l := range e.log {
			if strings.Contains(l.Text, s) {
				e.mu.Unlock()
				return l, true
			}
		}
		e.mu.Unlock()
		if time.Now().After(deadline) {
			return LogLine{}, false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Output returns the emulator's output so far, its own lines and the function's.
func (e *RIE) Output() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, l := range e.log {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// Stop kills the emulator and its runtime. The emulator starts the runtime in a process group of its
// own, so the groups of the emulator's children are killed first, then the emulator's group.
func (e *RIE) Stop() {
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
