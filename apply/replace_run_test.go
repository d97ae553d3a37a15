package apply

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/molt-go/update/internal/testbin"
)

// TestApplyOverRunningBinary installs a new build over a program that is
// running: the running program must go on undisturbed (still the old code),
// and the path must then run the new program.
func TestApplyOverRunningBinary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	build := t.TempDir()
	v1, err := testbin.Build(ctx, build, "v1", testbin.Hello("v1"))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := testbin.Build(ctx, build, "v2", testbin.Hello("v2"))
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), filepath.Base(v1)) // keeps ".exe" on windows
	copyExe(t, v1, target)

	running := exec.Command(target, "-serve")
	stdin, err := running.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := running.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	defer running.Process.Kill()
	lines := bufio.NewReader(stdout)
	if line, err := lines.ReadString('\n'); err != nil || line != "v1 -serve\n" {
		t.Fatalf("running program said %q, %v", line, err)
	}

	r := &Replace{}
	f, err := r.Stage(target)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(v2)
	if err != nil {
		t.Fatal(err)
	}
	// Written and closed with forks held off, as copyExe does: the path
	// runs this file once it is applied.
	syscall.ForkLock.RLock()
	_, err = io.Copy(f, src)
	src.Close()
	cerr := f.Close()
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	if cerr != nil {
		t.Fatal(cerr)
	}
	if err := r.Apply(ctx, Change{Target: target, Staged: f.Name(), Version: "2"}); err != nil {
		t.Fatal(err)
	}

	// The old process still answers, with the old code.
	if _, err := io.WriteString(stdin, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := lines.ReadString('\n'); err != nil || line != "v1 ping\n" {
		t.Fatalf("running program answered %q, %v after the update", line, err)
	}
	stdin.Close()
	if err := running.Wait(); err != nil {
		t.Fatalf("the old program did not end cleanly: %v", err)
	}

	if out, err := exec.Command(target, "now").Output(); err != nil || string(out) != "v2 now\n" {
		t.Fatalf("the path runs %q, %v; want the new program", out, err)
	}
	if err := r.Revert(ctx, target); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(target, "again").Output(); err != nil || string(out) != "v1 again\n" {
		t.Fatalf("after Revert the path runs %q, %v; want the old program", out, err)
	}
}

// copyExe copies the executable src to dst with syscall.ForkLock held for
// reading, so that no goroutine of this test binary forks while dst is
// open for writing. A child forked then inherits the write descriptor and
// holds it until its own exec, and running dst in that window fails with
// "text file busy" (ETXTBSY, golang/go#22315): the parallel tests of this
// package fork all the time, and on a loaded machine the window is long.
// ForkLock is what fork takes for writing, so holding it keeps the window
// shut.
func copyExe(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	syscall.ForkLock.RLock()
	err = os.WriteFile(dst, b, 0o755)
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
}
