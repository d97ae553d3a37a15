package delta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// applyChildEnv, when set, makes the test binary an applier and nothing
// else: "old|patch|out" paths. The child's peak RSS is Apply's whole cost:
// runtime, binary, buffers.
const applyChildEnv = "DELTA_TEST_APPLY_CHILD"

func TestMain(m *testing.M) {
	if args := os.Getenv(applyChildEnv); args != "" {
		if err := applyChild(strings.Split(args, "|")); err != nil {
			fmt.Fprintln(os.Stderr, "apply child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func applyChild(paths []string) error {
	old, err := os.Open(paths[0])
	if err != nil {
		return err
	}
	defer old.Close()
	patch, err := os.Open(paths[1])
	if err != nil {
		return err
	}
	defer patch.Close()
	out, err := os.Create(paths[2])
	if err != nil {
		return err
	}
	if _, err := Apply(context.Background(), old, patch, out, nil); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Println(line)
		}
	}
	return nil
}

// childPeakRSS is the child's own peak RSS in bytes, from the VmHWM line it
// prints. The rusage Maxrss that ProcessState reports cannot be used here:
// Go starts children with vfork semantics (CLONE_VM), and Linux carries the
// parent's peak over into the child's ru_maxrss at exec, so the child of a
// test that just diffed 64 MiB "peaks" at the parent's 800 MiB. VmHWM is
// the high-water mark of the address space the exec made, the child's own.
func childPeakRSS(out []byte) (int64, error) {
	for _, line := range strings.Split(string(out), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM line in the child's output %q", out)
}

// maxApplyRSS is the bound the package promises for Apply: the whole
// process, runtime included, whatever the file sizes.
const maxApplyRSS = 16 << 20

// TestApplyMemory applies, in a child process, a 64 MiB patch as Diff
// makes it and a 16 MiB one cut in blocks as large as the format allows
// (as Diff made them before, and patches in the field still are): Apply's
// pools hold four small blocks or two large ones, within the same bound.
func TestApplyMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: diffs a 64 MiB pair")
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory makes the RSS bound meaningless")
	}
	for _, c := range []struct {
		size      int
		blockSize int
	}{{64 << 20, diffBlockSize}, {16 << 20, BlockSize}} {
		t.Run(fmt.Sprintf("%d MiB in blocks of %d KiB", c.size>>20, c.blockSize>>10), func(t *testing.T) {
			applyMemory(t, c.size, layout{Version, c.blockSize})
		})
	}
}

func applyMemory(t *testing.T, size int, l layout) {
	rng := rand.NewChaCha8([32]byte{1})
	old := make([]byte, size)
	rng.Read(old)
	// Code-like changes all over, and 4 MiB of new bytes in the middle, so
	// the patch has every kind of record and long extra runs.
	new := edit(old, size/(64<<20/5000), 20)
	ins := make([]byte, 4<<20)
	rng.Read(ins)
	new = append(new[:size/2], append(ins, new[size/2:]...)...)

	dir := t.TempDir()
	oldPath, patchPath, outPath := filepath.Join(dir, "old"), filepath.Join(dir, "patch"), filepath.Join(dir, "new")
	var patch bytes.Buffer
	start := time.Now()
	if err := diff(context.Background(), old, new, &patch, nil, l); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("diffed %d -> %d bytes in %v: patch %d bytes", len(old), len(new), took, patch.Len())
	// Typically 30 s for 64 MiB on 2 busy cores. The bound is loose, to
	// catch a scan or a suffix sort gone quadratic, not to time a shared
	// machine.
	if took > 3*time.Minute {
		t.Errorf("Diff of %d MiB took %v", size>>20, took)
	}
	if err := os.WriteFile(oldPath, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(patchPath, patch.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), applyChildEnv+"="+strings.Join([]string{oldPath, patchPath, outPath}, "|"))
	start = time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("apply child: %v\n%s", err, out)
	}
	took = time.Since(start)
	got, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(new) {
		t.Fatal("the child's output differs from new")
	}
	rss, err := childPeakRSS(out)
	if err != nil {
		t.Fatal(err)
	}
	maxrss := int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) << 10 // KiB on Linux
	t.Logf("applied %d bytes in %v, peak RSS %.1f MiB (rusage says %.1f MiB, the parent's peak carried over)", len(new), took, float64(rss)/(1<<20), float64(maxrss)/(1<<20))
	if rss > maxApplyRSS {
		t.Errorf("Apply's peak RSS was %.1f MiB, want at most %d MiB", float64(rss)/(1<<20), maxApplyRSS>>20)
	}
}
