package emulatorstest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/orderflow/orderflow/services/adapters/emulators"
)

var (
	motoOnce sync.Once
	moto     *emulators.Moto
	motoErr  error
)

// Moto returns the test package's moto_server, starting it on first use; Main (through Stop) stops it
// when the package's tests are done. It fails the test (never skips it) when moto cannot start, saying what to install.
//
// Tests share the server: each creates its queues, topics, buses and rules under names of its own (see
// UniqueName) instead of resetting it.
func Moto(t testing.TB) *emulators.Moto {
	t.Helper()
	motoOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		moto, motoErr = emulators.StartMoto(ctx)
	})
	if motoErr != nil {
		t.Fatalf("moto is needed by this test: %v", motoErr)
	}
	return moto
}

// MotoConfig returns an AWS configuration for clients of the test package's moto_server (see Moto).
func MotoConfig(t testing.TB) aws.Config {
	t.Helper()
	return Moto(t).AWSConfig()
}

// StopMoto stops the moto_server that Moto started, if any. Stop calls it.
func StopMoto() {
	if moto == nil {
		return
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "moto_server answered %s after it was started\n", moto.Startup.Round(time.Millisecond))
	}
	if err := moto.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

var names struct {
	sync.Mutex
	n int
}

// UniqueName returns a name no other call in this test binary returned: prefix, the process id and a
// counter, plain enough for a queue, topic, bus or rule name (keep prefix under 60 characters).
func UniqueName(prefix string) string {
	names.Lock()
	defer names.Unlock()
	names.n++
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), names.n)
}
