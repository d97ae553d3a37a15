// Package memtest measures the memory an operation costs in a process of
// its own, for tests of hostile input (endless answers, decompression
// bombs): the test re-executes its own binary as a child that runs one
// case, and the child reports its peak resident size before and after.
//
// The peak is the kernel's high-water mark of the process's own memory
// (VmHWM in /proc/self/status). The resource usage the parent could read
// at the child's end (ProcessState.SysUsage's Maxrss) is no good here:
// Linux carries over into it the resident size of the process that forked
// the child, this test, which is far larger than the child itself.
package memtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CaseEnv names the case a child runs; the child's test skips without it.
const CaseEnv = "MOLT_MEMTEST_CASE"

// Measured is what a child reports: its peak resident size, in bytes, when
// its case began (the test binary started, the fixtures made) and when it
// ended.
type Measured struct {
	Baseline, Peak int64
}

// Growth is how much the case added to the peak.
func (m Measured) Growth() int64 { return m.Peak - m.Baseline }

func (m Measured) String() string {
	return fmt.Sprintf("peak resident size %d MiB, %d MiB over the %d MiB baseline",
		m.Peak>>20, m.Growth()>>20, m.Baseline>>20)
}

// Supported reports whether PeakRSS can measure on this system.
func Supported() bool { return runtime.GOOS == "linux" }

// PeakRSS is this process's peak resident size so far, in bytes; 0 where
// it cannot be read (not Linux).
func PeakRSS() int64 { return PeakRSSOf("/proc/self/status") }

// PeakRSSOf reads the peak resident size (VmHWM) from a /proc status file
// such as /proc/PID/status, in bytes; 0 if it cannot (the process is gone,
// or this is not Linux). A parent samples a child's with it.
func PeakRSSOf(status string) int64 {
	data, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// Case returns the case this process is to run as a child, or skips t
// when it is not a child (the parent test runs it).
func Case(t testing.TB) string {
	t.Helper()
	c := os.Getenv(CaseEnv)
	if c == "" {
		t.Skip("a child of a memory test; its parent runs it")
	}
	return c
}

// reportPrefix starts the line a child writes its measures on.
const reportPrefix = "memtest: baseline="

// Report writes the child's measures on its standard output, for Run.
func Report(m Measured) {
	fmt.Printf("\n%s%d peak=%d\n", reportPrefix, m.Baseline, m.Peak)
}

// Run runs the test named test of this test binary in a child process,
// with CaseEnv set to name and env added, and returns what it reported.
// It fails t if the child fails or reports nothing.
func Run(t testing.TB, test, name string, env ...string) Measured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), CaseEnv+"="+name), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("memtest: the child for %s: %v\n%s", name, err, out)
	}
	for _, line := range bytes.Split(out, []byte("\n")) {
		var m Measured
		if _, err := fmt.Sscanf(string(line), reportPrefix+"%d peak=%d", &m.Baseline, &m.Peak); err == nil {
			return m
		}
	}
	t.Fatalf("memtest: the child for %s reported no measures:\n%s", name, out)
	return Measured{}
}
