//go:build !windows

package apply

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash tests run Apply in a child process (the test binary,
// re-executed with symlinkRoleEnv set) and SIGKILL it part way.
const (
	symlinkRoleEnv    = "MOLT_SYMLINK_TEST_ROLE" // "apply" or "apply-paused"
	symlinkRootEnv    = "MOLT_SYMLINK_TEST_ROOT"
	symlinkVersionEnv = "MOLT_SYMLINK_TEST_VERSION"
)

func init() {
	role := os.Getenv(symlinkRoleEnv)
	if role == "" {
		return
	}
	time.AfterFunc(2*time.Minute, func() { os.Exit(4) }) // never outlive a failed test
	s := &Symlink{Root: os.Getenv(symlinkRootEnv)}
	if role == "apply-paused" {
		// Report each step and wait for the test to let it go on, so that
		// the test can kill it exactly there.
		s.hook = func(step string) {
			fmt.Printf("step %s\n", step)
			var b [1]byte
			if _, err := os.Stdin.Read(b[:]); err != nil {
				os.Exit(3)
			}
		}
	}
	v := os.Getenv(symlinkVersionEnv)
	fmt.Println("start")
	target := filepath.Join(s.Root, symlinkCurrent, symlinkTestExe)
	f, err := s.Stage(target)
	if err == nil {
		_, err = f.Write(symlinkTestContent(v))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = s.Apply(context.Background(), Change{Target: target, Staged: f.Name(), Version: v})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "apply:", err)
		os.Exit(2)
	}
	fmt.Println("done")
	os.Exit(0)
}

// symlinkChild is one child process applying a version.
type symlinkChild struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
	stdin interface{ Write([]byte) (int, error) }
}

func startSymlinkChild(t *testing.T, root, version, role string) *symlinkChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), symlinkRoleEnv+"="+role, symlinkRootEnv+"="+root, symlinkVersionEnv+"="+version)
	cmd.Stderr = os.Stderr
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
	c := &symlinkChild{cmd: cmd, lines: bufio.NewScanner(stdout), stdin: stdin}
	if !c.lines.Scan() || c.lines.Text() != "start" {
		t.Fatalf("child did not start: %q", c.lines.Text())
	}
	return c
}

// kill ends the child with SIGKILL and reaps it.
func (c *symlinkChild) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

func TestSymlinkCrashAtEachStep(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustSymlinkApply(t, &Symlink{Root: root}, "1")
	old := "1"
	var allSteps []string
	for k := 0; ; k++ {
		if k > 30 {
			t.Fatal("Apply never finished")
		}
		version := fmt.Sprintf("2.%d", k)
		c := startSymlinkChild(t, root, version, "apply-paused")
		var steps []string
		finished := false
		for {
			if !c.lines.Scan() {
				t.Fatalf("child applying %s stopped without finishing", version)
			}
			line := c.lines.Text()
			if line == "done" {
				finished = true
				break
			}
			step, ok := strings.CutPrefix(line, "step ")
			if !ok {
				t.Fatalf("child said %q", line)
			}
			steps = append(steps, step)
			if len(steps) == k+1 {
				break // the child waits inside this step
			}
			c.stdin.Write([]byte{1})
		}
		if finished {
			if err := c.cmd.Wait(); err != nil {
				t.Fatalf("child applying %s: %v", version, err)
			}
			allSteps = steps
		} else {
			c.kill()
		}
		want := old
		if finished || slices.Contains(steps, "current-flipped") {
			want = version
		}
		if got := checkSymlinkConsistent(t, root); got != want {
			t.Errorf("killed after %q: current is %s, want %s", steps, got, want)
		}
		old = want
		if finished {
			break
		}
	}
	// Every step of a full Apply was a kill point.
	for _, step := range []string{"moved", "built", "installed", "previous-linked", "previous-flipped", "current-linked", "current-flipped", "pruned"} {
		if !slices.Contains(allSteps, step) {
			t.Errorf("Apply has no step %q (steps: %q)", step, allSteps)
		}
	}
	// The next Apply clears what the crashes left.
	s := &Symlink{Root: root}
	mustSymlinkApply(t, s, "3")
	checkSymlinkNoLeftovers(t, root)
}

func TestSymlinkCrashAtRandomTimes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mustSymlinkApply(t, &Symlink{Root: root}, "1")
	prev := "1"
	switched := 0
	for i := range 40 {
		version := fmt.Sprintf("4.%d", i)
		c := startSymlinkChild(t, root, version, "apply")
		// From a few microseconds (still staging) to milliseconds (done).
		time.Sleep(time.Duration(rand.Int64N(int64(12 * time.Millisecond))))
		c.kill()
		got := checkSymlinkConsistent(t, root)
		if got != prev && got != version {
			t.Fatalf("run %d: current is %s, want %s or %s", i, got, prev, version)
		}
		if got == version {
			switched++
		}
		prev = got
	}
	t.Logf("%d of 40 killed Applies had switched current", switched)
	mustSymlinkApply(t, &Symlink{Root: root}, "5")
	checkSymlinkNoLeftovers(t, root)
}

// checkSymlinkNoLeftovers asserts that no build, trash or temporary link is
// left in root after a successful Apply.
func checkSymlinkNoLeftovers(t *testing.T, root string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(root, symlinkVersionsDir))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), symlinkBuilding) || strings.HasPrefix(e.Name(), symlinkTrash) {
			t.Errorf("left in versions/: %s", e.Name())
		}
	}
	links, _ := filepath.Glob(filepath.Join(root, "*"+symlinkLinkTemp+"*"))
	if len(links) > 0 {
		t.Errorf("temporary links left: %q", links)
	}
}
