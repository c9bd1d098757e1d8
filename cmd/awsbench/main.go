// Command awsbench measures orderflow's Lambda functions against two goals: the size of each linux/arm64
// bootstrap (dist/lambda/<function>/bootstrap, as make lambdas builds it; at most 12 MiB) and its cold
// init under the AWS Lambda Runtime Interface Emulator (at most 30 ms).
//
// The emulator runs a bootstrap natively, so the init figures come from bootstraps built the same way for
// this machine's architecture. Every cold start is a fresh emulator; the init time is the emulator's
// "INIT REPORT(durationMs: …)" line, which is what Lambda reports as Init Duration (from the start of the
// runtime's init, before the bootstrap is started, to its first request for an invocation). The
// emulator's REPORT line has an "Init Duration" too, but that one only times the hand-off of the init
// request, which is asynchronous, so it is shown for reference only; the first invocation's time minus a
// warm one's is shown as a cross-check. Every AWS endpoint is a local stub: nothing leaves the machine.
//
// Usage: go run ./cmd/awsbench [-runs 5] [-dist dist/lambda]
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	runs := flag.Int("runs", 5, "cold starts per function (the median is reported)")
	dist := flag.String("dist", "dist/lambda", "folder of the arm64 bootstraps built by make lambdas")
	flag.Parse()
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "awsbench: -runs must be at least 1")
		os.Exit(2)
	}
	if err := bench(os.Stdout, *dist, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "awsbench:", err)
		os.Exit(1)
	}
}
