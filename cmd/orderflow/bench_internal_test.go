package main

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/orderflow/orderflow/contracts"
)

func TestParseProcIOReadsTheWriteCounters(t *testing.T) {
	text := "rchar: 6976\nwchar: 123456\nsyscr: 10\nsyscw: 42\nread_bytes: 0\nwrite_bytes: 4096\ncancelled_write_bytes: 0\n"
	got, ok := parseProcIO([]byte(text))
	if !ok || got != (ioCounters{calls: 42, bytes: 123456}) {
		t.Fatalf("parseProcIO = %+v, %v; want 42 calls, 123456 bytes", got, ok)
	}
	for _, bad := range []string{"", "rchar: 1\n", "wchar: 1\nsyscw: x\n"} {
		if got, ok := parseProcIO([]byte(bad)); ok {
			t.Errorf("parseProcIO(%q) = %+v, true; want false", bad, got)
		}
	}
}

func TestProcessIOCountsTheWritesOfAProcess(t *testing.T) {
	if _, ok := processIO(nil); ok {
		t.Error("processIO(nil) = true")
	}
	self, _ := os.FindProcess(os.Getpid())
	before, ok := processIO(self)
	if !ok {
		t.Fatal("processIO of the test process: not read")
	}
	f, err := os.Create(t.TempDir() + "/w")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range 10 {
		if _, err := f.Write(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := processIO(self)
	if calls, bytes := after.calls-before.calls, after.bytes-before.bytes; calls < 10 || bytes < 10000 {
		t.Errorf("after 10 writes of 1000 bytes: %d calls, %d bytes counted", calls, bytes)
	}
}

func TestTheSustainedPhaseOffersAShareOfTheMeasuredRate(t *testing.T) {
	for _, c := range []struct {
		rate, share float64
		want        int
	}{{2279, 0.9, 2050}, {2279, 0, 0}, {0, 0.9, 0}, {40, 0.9, 0}, {1000, 1, 1000}} {
		if got := sustainRate(c.rate, c.share); got != c.want {
			t.Errorf("sustainRate(%v, %v) = %d, want %d", c.rate, c.share, got, c.want)
		}
	}
	if !keptUp(2000, 1500) {
		t.Error("keptUp(2000, 1500) = false: 1500 orders in flight at 2000/s is under a second's worth")
	}
	if keptUp(2000, 2001) {
		t.Error("keptUp(2000, 2001) = true")
	}
}

func TestTheStepsOfCompletedOrdersAreTimedInTheirOrder(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var r e2eResult
	for _, ms := range [][2]int{{1, 10}, {3, 30}, {2, 20}} {
		r.addHops([]contracts.StatusChange{
			{Status: "PENDING", At: at},
			{Status: "VALIDATING", At: at.Add(time.Duration(ms[0]) * time.Millisecond)},
			{Status: "COMPLETED", At: at.Add(time.Duration(ms[0]+ms[1]) * time.Millisecond)},
		})
	}
	for _, h := range r.hops {
		slices.Sort(h)
	}
	want := "PENDING→VALIDATING 2ms / 3ms, VALIDATING→COMPLETED 20ms / 30ms"
	if got := r.hopsLine(); got != want {
		t.Errorf("hopsLine() = %q, want %q", got, want)
	}
}
