//go:build unix

package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrashDuringUpdate kills hello with SIGKILL at many moments while it
// applies a large update (download, verify, probe, stage, swap, restart).
// After every kill the target path must hold the complete old or the
// complete new binary, and it must run.
func TestCrashDuringUpdate(t *testing.T) {
	w := newWorld(t)
	// A large release: hello 1.1.0 with 48 MiB of padding behind it (an
	// executable runs with trailing bytes), so a kill lands mid-download or
	// mid-fsync as often as not.
	newBin := filepath.Join(w.releases, platformName("hello", "1.1.0"))
	data, err := os.ReadFile(program(t, helloPkg, "1.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	pad := make([]byte, 48<<20)
	rand.Read(pad)
	newBytes := append(data, pad...)
	if err := writeFile(newBin, newBytes, 0o755); err != nil {
		t.Fatal(err)
	}
	oldBytes, err := os.ReadFile(w.target)
	if err != nil {
		t.Fatal(err)
	}

	// One undisturbed run tells how long an update takes here.
	start := time.Now()
	out, _ := w.runHello("-q")
	full := time.Since(start)
	if strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("undisturbed run printed %q", out)
	}

	const runs = 60
	outcomes := map[string]int{}
	lastStep := map[string]int{}
	for i := range runs {
		reset(t, w, oldBytes)
		delay := time.Duration(float64(full) * float64(i+1) / runs)
		step, killed := killAfter(t, w, delay)
		lastStep[step]++
		got, err := os.ReadFile(w.target)
		if err != nil {
			t.Fatalf("run %d (killed=%v after %v): target unreadable: %v", i, killed, delay, err)
		}
		var want string
		switch {
		case bytes.Equal(got, oldBytes):
			want = "1.0.0"
		case bytes.Equal(got, newBytes):
			want = "1.1.0"
		default:
			t.Fatalf("run %d (killed after %v, last step %q): target is neither the old nor the new binary (%d bytes)", i, delay, step, len(got))
		}
		outcomes[want]++
		if v := versionOf(t, w.target); v != want {
			t.Fatalf("run %d: target says %s, bytes are %s", i, v, want)
		}
	}
	t.Logf("%d kills over %v: outcomes %v; last step finished before the kill %v", runs, full, outcomes, lastStep)
	// Whatever the kills left beside the target, the next update cleans up:
	// only the program and its backup remain.
	reset(t, w, oldBytes)
	for range 5 {
		if step, killed := killAfter(t, w, full/3); killed && step == "finished" {
			t.Fatal("inconsistent kill report")
		}
		if hasStaged(t, w.bin) {
			break
		}
	}
	if !hasStaged(t, w.bin) {
		t.Log("no kill left a staged file to clean up; checking the clean run anyway")
	}
	if out, _ := w.runHello("-q"); strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("run after kills printed %q", out)
	}
	if ents, _ := os.ReadDir(w.bin); len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("after a clean update the folder holds %v, want the program and its backup", names)
	}
	if outcomes["1.0.0"] == 0 || outcomes["1.1.0"] == 0 {
		t.Fatalf("kills did not spread over the update: outcomes %v", outcomes)
	}
	if len(lastStep) < 3 {
		t.Fatalf("kills landed in too few steps: %v", lastStep)
	}
}

func hasStaged(t *testing.T, dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, ".hello.new-*"))
	return len(m) > 0
}

// reset puts hello 1.0.0 back and forgets every earlier run.
func reset(t *testing.T, w *world, oldBytes []byte) {
	t.Helper()
	ents, _ := os.ReadDir(w.bin)
	for _, e := range ents {
		os.Remove(filepath.Join(w.bin, e.Name()))
	}
	if err := writeFile(w.target, oldBytes, 0o755); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(w.state)
}

// killAfter starts hello updating and SIGKILLs it after d. It returns the
// last step hello reported before it died, and whether it was still running.
func killAfter(t *testing.T, w *world, d time.Duration) (string, bool) {
	t.Helper()
	cmd := exec.Command(w.target, "-feed", w.feedURL(), "-key", w.pub, "-state", w.state)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	killed := false
	select {
	case <-done:
	case <-time.After(d):
		killed = cmd.Process.Signal(syscall.SIGKILL) == nil
		<-done
	}
	step := "start"
	for _, line := range strings.Split(errb.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(line, "  downloading") {
			step = f[0]
		}
	}
	if !killed {
		step = "finished"
	}
	return fmt.Sprint(step), killed
}
