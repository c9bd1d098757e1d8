//go:build unix

package emulators

// MotoPID exposes the process id of m's server (the leader of its process group) to the tests.
func MotoPID(m *Moto) int { return m.cmd.Process.Pid }

// MotoPatchDir exposes the folder of m's sitecustomize.py to the tests.
func MotoPatchDir(m *Moto) string { return m.patch }
