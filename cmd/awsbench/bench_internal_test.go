package main

import "testing"

// TestPackageInitCountsTheBootstrapsTraceOnly: the emulator's own initializers come first in the output
// and are not the function's; the bootstrap's trace starts again near @0 ms.
func TestPackageInitCountsTheBootstrapsTraceOnly(t *testing.T) {
	out := `init internal/bytealg @0.003 ms, 0 ms clock, 0 bytes, 0 allocs
init github.com/santhosh-tekuri/jsonschema/v5 @1.2 ms, 2.5 ms clock, 900000 bytes, 9000 allocs
init net/http @4.0 ms, 0.4 ms clock, 100 bytes, 2 allocs
START RequestId: 1 Version: $LATEST
init internal/bytealg @0.004 ms, 0 ms clock, 0 bytes, 0 allocs
init github.com/aws/aws-sdk-go-v2/aws @0.9 ms, 0.3 ms clock, 10 bytes, 1 allocs
init net/http @1.5 ms, 0.5 ms clock, 100 bytes, 2 allocs
`
	total, slowest, slowestMs := packageInit(out)
	if total != 0.8 || slowest != "net/http" || slowestMs != 0.5 {
		t.Errorf("packageInit = %v, %s, %v; want 0.8 ms in all, net/http the slowest at 0.5 ms (the bootstrap's lines only)", total, slowest, slowestMs)
	}
}
