//go:build linux

package emulators

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// buildRIE builds the emulator's binary and a bootstrap that only waits, so that the emulator runs
// without a function to invoke.
func buildRIE(t *testing.T) (rie, bootstrap string) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the tests build the emulator with the go command: %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(goCmd, "build", "-o", dir+string(filepath.Separator),
		"github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bootstrap = filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(bootstrap, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "aws-lambda-rie"), bootstrap
}

// takePort listens on a free loopback port for the rest of the test and returns it.
func takePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// pickTaken makes the emulator's next picks of a port return taken for the calls that want reports.
func pickTaken(t *testing.T, taken int, want func(call int) bool) {
	var mu sync.Mutex
	calls := 0
	pickPort = func() (int, error) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if want(n) {
			return taken, nil
		}
		return freePort()
	}
	t.Cleanup(func() { pickPort = freePort })
}

// TestRIEStartsAgainWhenItsPortWasTaken: a port found free and taken by another process before the
// emulator bound it makes the emulator die; StartRIE starts it again on other ports.
func TestRIEStartsAgainWhenItsPortWasTaken(t *testing.T) {
	rie, bootstrap := buildRIE(t)
	taken := takePort(t)
	pickTaken(t, taken, func(call int) bool { return call == 2 }) // the first start's runtime API
	e, err := StartRIE(rie, bootstrap, []string{"PATH=" + os.Getenv("PATH")})
	if err != nil {
		t.Fatalf("StartRIE: %v", err)
	}
	defer e.Stop()
	if e.RuntimeAPI == "127.0.0.1:"+strconv.Itoa(taken) {
		t.Fatalf("the runtime API is on the taken port %d", taken)
	}
	c, err := net.Dial("tcp", e.RuntimeAPI)
	if err != nil {
		t.Fatalf("the runtime API does not listen: %v", err)
	}
	_ = c.Close()
	if strings.Contains(e.Output(), "address already in use") {
		t.Errorf("the output is the dead emulator's as well:\n%s", e.Output())
	}
}

// TestRIEGivesUpOnPortsAlwaysTaken: after three starts whose ports were all taken, StartRIE says why.
func TestRIEGivesUpOnPortsAlwaysTaken(t *testing.T) {
	rie, bootstrap := buildRIE(t)
	taken := takePort(t)
	pickTaken(t, taken, func(call int) bool { return call%2 == 0 })
	e, err := StartRIE(rie, bootstrap, []string{"PATH=" + os.Getenv("PATH")})
	if err == nil {
		e.Stop()
		t.Fatal("StartRIE started on a taken port")
	}
	if !strings.Contains(err.Error(), "taken") {
		t.Errorf("StartRIE: %v; want it to say a port was taken", err)
	}
}
