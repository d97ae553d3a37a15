//go:build windows

package apply

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/molt-go/update/internal/testbin"
)

// The windows decisions of Replace, run against real windows/amd64
// programs: a running executable cannot be removed or replaced but can be
// renamed, so install renames the current version aside to the backup and
// the staged file into its place; an old backup that is itself still
// running is moved aside to a ".<name>.del-*" file that a later Apply or
// Revert sweeps once no process runs it; Revert moves the (maybe running)
// current version aside the same way.

var (
	winBuildOnce sync.Once
	winBuilt     map[string]string // version -> executable
	winBuildErr  error
)

// winPrograms builds the Hello programs v1, v2 and v3 once for all tests.
func winPrograms(t *testing.T) map[string]string {
	t.Helper()
	winBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "molt-apply-win-")
		if err != nil {
			winBuildErr = err
			return
		}
		winBuilt = map[string]string{}
		for _, v := range []string{"v1", "v2", "v3"} {
			p, err := testbin.Build(context.Background(), dir, v, testbin.Hello(v))
			if err != nil {
				winBuildErr = err
				return
			}
			winBuilt[v] = p
		}
	})
	if winBuildErr != nil {
		t.Fatal(winBuildErr)
	}
	return winBuilt
}

// running is a Hello program started with -serve from a path.
type running struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Reader
}

func startServing(t *testing.T, path, want string) *running {
	t.Helper()
	cmd := exec.Command(path, "-serve")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &running{cmd: cmd, stdin: stdin, lines: bufio.NewReader(stdout)}
	t.Cleanup(r.stop)
	if line, err := r.lines.ReadString('\n'); err != nil || line != want+" -serve\n" {
		t.Fatalf("%s said %q, %v; want %s", filepath.Base(path), line, err, want)
	}
	return r
}

// answers checks that the running program is still the version want.
func (r *running) answers(t *testing.T, want string) {
	t.Helper()
	if _, err := io.WriteString(r.stdin, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := r.lines.ReadString('\n'); err != nil || line != want+" ping\n" {
		t.Fatalf("running program answered %q, %v; want %s", line, err, want)
	}
}

// stop ends the program and waits until windows has let go of its image.
func (r *running) stop() {
	r.stdin.Close()
	r.cmd.Wait()
}

// runs checks that path, started now, is the version want.
func runs(t *testing.T, path, want string) {
	t.Helper()
	out, err := exec.Command(path, "now").Output()
	if err != nil || string(out) != want+" now\n" {
		t.Fatalf("%s runs %q, %v; want %s", filepath.Base(path), out, err, want)
	}
}

// stageFile stages the file src for target.
func stageFile(t *testing.T, r *Replace, target, src string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return stage(t, r, target, string(b))
}

func delFiles(t *testing.T, dir string) []string {
	t.Helper()
	var del []string
	for _, n := range listDir(t, dir) {
		if strings.Contains(n, ".del-") {
			del = append(del, n)
		}
	}
	return del
}

// TestWindowsRunningExeCanBeRenamedNotRemoved checks the platform fact the
// design rests on, where these tests run: if it did not hold, the other
// tests here would prove less.
func TestWindowsRunningExeCanBeRenamedNotRemoved(t *testing.T) {
	t.Parallel()
	p := winPrograms(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "app.exe")
	copyExe(t, p["v1"], target)
	r := startServing(t, target, "v1")
	if err := os.Remove(target); err == nil {
		t.Fatal("removed a running executable; windows refuses that")
	}
	if err := os.Rename(p["v2"], target); err == nil {
		t.Fatal("renamed a file over a running executable; windows refuses that")
	}
	aside := filepath.Join(dir, "aside.exe")
	if err := os.Rename(target, aside); err != nil {
		t.Fatalf("renaming a running executable: %v", err)
	}
	r.answers(t, "v1")
	r.stop()
	if err := os.Remove(aside); err != nil {
		t.Fatalf("removing the executable after its process ended: %v", err)
	}
}

// TestWindowsApplyTwiceWhileTheFirstRuns: a program that installs two
// updates without restarting leaves its own image as the backup the second
// Apply must replace. That backup is moved aside, not removed, and the
// next Apply after the program ended sweeps it.
func TestWindowsApplyTwiceWhileTheFirstRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := winPrograms(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "app.exe")
	copyExe(t, p["v1"], target)
	v1 := startServing(t, target, "v1")

	r := &Replace{}
	if err := r.Apply(ctx, Change{Target: target, Staged: stageFile(t, r, target, p["v2"]), Version: "2"}); err != nil {
		t.Fatal(err)
	}
	bak := filepath.Join(dir, ".app.exe.old")
	runs(t, target, "v2")
	runs(t, bak, "v1")
	v1.answers(t, "v1")

	// The backup is v1's running image now.
	if err := r.Apply(ctx, Change{Target: target, Staged: stageFile(t, r, target, p["v3"]), Version: "3"}); err != nil {
		t.Fatalf("second Apply while the backup runs: %v", err)
	}
	runs(t, target, "v3")
	runs(t, bak, "v2")
	v1.answers(t, "v1")
	del := delFiles(t, dir)
	if len(del) != 1 {
		t.Fatalf("dir holds %q, want v1's image moved aside to one .del- file", listDir(t, dir))
	}
	runs(t, filepath.Join(dir, del[0]), "v1")

	v1.stop()
	if err := r.Apply(ctx, Change{Target: target, Staged: stageFile(t, r, target, p["v1"]), Version: "1"}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{".app.exe.old", "app.exe"}) {
		t.Errorf("dir holds %q after the next Apply, want the .del- file swept", got)
	}
	runs(t, target, "v1")
	runs(t, bak, "v3")
}

// TestWindowsRevertWhileTheNewVersionRuns: Revert moves the running new
// version aside, puts the backup back, and the next Revert or Apply sweeps
// what it moved aside once that process ended.
func TestWindowsRevertWhileTheNewVersionRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := winPrograms(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "app.exe")
	copyExe(t, p["v1"], target)
	r := &Replace{}
	if err := r.Apply(ctx, Change{Target: target, Staged: stageFile(t, r, target, p["v2"])}); err != nil {
		t.Fatal(err)
	}
	v2 := startServing(t, target, "v2")
	if err := r.Revert(ctx, target); err != nil {
		t.Fatalf("Revert while the new version runs: %v", err)
	}
	runs(t, target, "v1")
	v2.answers(t, "v2")
	if del := delFiles(t, dir); len(del) != 1 {
		t.Fatalf("dir holds %q, want the running v2 moved aside to one .del- file", listDir(t, dir))
	}
	if _, err := os.Stat(filepath.Join(dir, ".app.exe.old")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the backup is still there after Revert: %v", err)
	}
	v2.stop()
	if err := r.Apply(ctx, Change{Target: target, Staged: stageFile(t, r, target, p["v3"])}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{".app.exe.old", "app.exe"}) {
		t.Errorf("dir holds %q, want the .del- file swept", got)
	}
}

// TestWindowsFailedInstallRenamesTheBackupBack: when the staged file cannot
// take the target's name, the current version (already renamed to the
// backup) is renamed back: the very same file, and nothing else left.
func TestWindowsFailedInstallRenamesTheBackupBack(t *testing.T) {
	t.Parallel()
	target := newTarget(t, "v1", 0o755)
	before, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	staged := ""
	r := &Replace{rename: func(oldname, newname string) error {
		if oldname == staged && newname == target {
			return errInjected
		}
		return os.Rename(oldname, newname)
	}}
	staged = stage(t, r, target, "v2")
	err = r.Apply(context.Background(), Change{Target: target, Staged: staged})
	if !errors.Is(err, errInjected) {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	after, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the target is another file after a failed Apply")
	}
	wantContent(t, target, "v1")
	if got := listDir(t, filepath.Dir(target)); !slices.Equal(got, []string{"prog"}) {
		t.Errorf("dir holds %q after a failed Apply, want only prog", got)
	}
}

// TestWindowsFailedInstallAndFailedPutBack: if renaming the backup back
// fails too, the error says so and names both paths, and the old version
// is still at the backup path for a person (or the next Revert) to use.
func TestWindowsFailedInstallAndFailedPutBack(t *testing.T) {
	t.Parallel()
	target := newTarget(t, "v1", 0o755)
	bak := filepath.Join(filepath.Dir(target), ".prog.old")
	r := &Replace{rename: func(oldname, newname string) error {
		if newname == target {
			return errInjected
		}
		return os.Rename(oldname, newname)
	}}
	err := r.Apply(context.Background(), Change{Target: target, Staged: stage(t, r, target, "v2")})
	if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "also failed") ||
		!strings.Contains(err.Error(), bak) {
		t.Fatalf("err = %v, want the injected failure, saying the put-back failed too and naming %s", err, bak)
	}
	wantContent(t, bak, "v1")
	if err := (&Replace{}).Revert(context.Background(), target); err != nil {
		t.Fatalf("Revert after the failed put-back: %v", err)
	}
	wantContent(t, target, "v1")
}

// TestWindowsSyncDirFailureAfterSwapPutsOldBack: the directory sync after
// the swap failing means Apply fails, so the old version is renamed back
// over the new file (which runs nowhere yet).
func TestWindowsSyncDirFailureAfterSwapPutsOldBack(t *testing.T) {
	t.Parallel()
	p := winPrograms(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "app.exe")
	copyExe(t, p["v1"], target)
	v1 := startServing(t, target, "v1")
	r := &Replace{syncDir: func(string) error { return errInjected }}
	err := r.Apply(context.Background(), Change{Target: target, Staged: stageFile(t, r, target, p["v2"])})
	if !errors.Is(err, errInjected) {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	runs(t, target, "v1")
	v1.answers(t, "v1")
	if got := listDir(t, dir); !slices.Equal(got, []string{"app.exe"}) {
		t.Errorf("dir holds %q, want only app.exe", got)
	}
}
