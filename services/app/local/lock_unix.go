//go:build unix

package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on the data directory, so that two servers never deliver the same
// messages at once. The operating system releases it when the process ends, kill -9 included. The dlq
// command does not take it: it may run beside the server.
func lockDataDir(dir string) (release func() error, err error) {
	f, err := os.OpenFile(filepath.Join(dir, "orderflow.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another orderflow server", dir)
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	return f.Close, nil
}
