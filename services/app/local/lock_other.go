//go:build !unix

package local

// lockDataDir is a no-op where flock is not available: run one server per data directory.
func lockDataDir(string) (func() error, error) { return func() error { return nil }, nil }
