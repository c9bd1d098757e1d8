//go:build unix

package emulators

import (
	"bufio"
	"bytes"
	"errors"
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
	URL string
	// RuntimeAPI is the address of the runtime API the emulator serves the bootstrap.
	RuntimeAPI string

	rie, bootstrap string
	env            []string

	cmd  *exec.Cmd
	mu   sync.Mutex
	log  []LogLine
	done chan struct{} // closed when the output ends
}

// StartRIE runs bootstrap under the emulator binary rie (built from the module's aws-lambda-rie tool) on
// free loopback ports with exactly env, and waits until it accepts invocations. The bootstrap itself
// starts on the first invocation, as on Lambda. Stop it with Stop.
//
// A port found free can be taken by another process before the emulator binds it; the emulator then
// dies saying so, and it is started again on other ports, up to three times in all.
func StartRIE(rie, bootstrap string, env []string) (*RIE, error) {
	e := &RIE{rie: rie, bootstrap: bootstrap, env: env}
	for attempt := 1; ; attempt++ {
		err := e.start()
		if err == nil {
			return e, nil
		}
		if attempt == 3 || !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
}

var errPortTaken = errors.New("a port was taken before the emulator bound it")

// pickPort chooses each of the emulator's two ports; tests replace it.
var pickPort = freePort

// start runs the emulator on two ports that were free a moment ago and waits until both its invocation
// API and the runtime API it serves the bootstrap accept connections.
func (e *RIE) start() error {
	port, err := pickPort()
	if err != nil {
		return err
	}
	apiPort, err := pickPort()
	for err == nil && apiPort == port {
		apiPort, err = pickPort()
	}
	if err != nil {
		return err
	}
	addr, apiAddr := "127.0.0.1:"+strconv.Itoa(port), "127.0.0.1:"+strconv.Itoa(apiPort)
	e.URL, e.RuntimeAPI = "http://"+addr+"/2015-03-31/functions/function/invocations", apiAddr
	e.done = make(chan struct{})
	e.mu.Lock()
	e.log = nil
	e.mu.Unlock()
	e.cmd = exec.Command(e.rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, e.bootstrap)
	e.cmd.Env = e.env
	e.cmd.Dir = filepath.Dir(e.bootstrap)
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	e.cmd.Stdout, e.cmd.Stderr = pw, pw
	if err := e.cmd.Start(); err != nil {
		return fmt.Errorf("start the Runtime Interface Emulator: %w", err)
	}
	cmd, done := e.cmd, e.done
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
	}()
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			e.mu.Lock()
			e.log = append(e.log, LogLine{At: time.Now(), Text: sc.Text()})
			e.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	// A connection that goes through proves only that something listens on the port; the emulator's own
	// socket listening on it is what proves the port is the emulator's. One that fails to bind a port
	// dies saying so.
	pid := e.cmd.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range []int{port, apiPort} {
		for !listensOn(pid, p) {
			select {
			case <-done:
				if strings.Contains(e.Output(), "bind: address already in use") {
					return fmt.Errorf("%w: %s", errPortTaken, e.Output())
				}
				return fmt.Errorf("the Runtime Interface Emulator exited before it listened on port %d:\n%s", p, e.Output())
			default:
			}
			if time.Now().After(deadline) {
				e.Stop()
				return fmt.Errorf("the Runtime Interface Emulator does not listen on port %d", p)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// listensOn reports whether process pid holds a socket listening on loopback TCP port, as the kernel's
// socket table (/proc/net/tcp) and the process's open files (/proc/<pid>/fd) say. Without /proc (the
// emulator is built for Linux, but may run elsewhere) it reports whether a connection to the port goes
// through.
func listensOn(pid, port int) bool {
	table, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	var inode string
	for _, line := range strings.Split(string(table), "\n")[1:] {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
		f := strings.Fields(line)
		if len(f) > 9 && f[1] == local && f[3] == "0A" { // 0A is LISTEN
			inode = f[9]
			break
		}
	}
	if inode == "" {
		return false
	}
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && target == "socket:["+inode+"]" {
			return true
		}
	}
	return false
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
