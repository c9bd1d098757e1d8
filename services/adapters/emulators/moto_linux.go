package emulators

import (
	"os"
	"syscall"
)

// motoProcAttr puts the server in its own process group, so that Stop can end the launcher and the Python
// process it runs together, and has the kernel kill it should the test binary die without calling Stop
// (a test timeout, for one).
func motoProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process group led by p.
func killGroup(p *os.Process) error {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return err
	}
	return nil
}
