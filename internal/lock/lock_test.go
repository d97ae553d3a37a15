package lock

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// holderEnv, when set to a path, makes the test binary a lock holder: it takes
// the lock, says "locked" on stdout and waits until stdin closes or it is
// killed.
const holderEnv = "MOLT_LOCK_TEST_HOLDER"

func TestMain(m *testing.M) {
	if path := os.Getenv(holderEnv); path != "" {
		l, err := TryLock(path)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		fmt.Println("locked")
		bufio.NewReader(os.Stdin).ReadString('\n')
		l.Unlock()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("lock file holds %q, not a PID: %v", b, err)
	}
	return pid
}

// TestDeadHolderReleases takes the lock in a second process, checks that it
// excludes us, kills the holder with SIGKILL (no chance to clean up) and
// checks that the lock is ours then.
func TestDeadHolderReleases(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "update.lock")

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("holder said %q, %v", line, err)
	}

	if _, err := TryLock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock while held elsewhere: err = %v, want ErrLocked", err)
	}
	if pid := readPID(t, path); pid != cmd.Process.Pid {
		t.Errorf("lock file names PID %d, want the holder's %d", pid, cmd.Process.Pid)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() // reports the kill; the process is gone once it returns

	l, err := TryLock(path)
	if err != nil {
		t.Fatalf("TryLock after the holder died: %v", err)
	}
	if pid := readPID(t, path); pid != os.Getpid() {
		t.Errorf("lock file names PID %d, want ours %d", pid, os.Getpid())
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestExcludesWithinProcessAndUnlock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "update.lock")
	l, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLock: err = %v, want ErrLocked", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Unlock: err = %v, want os.ErrClosed", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Unlock removed the lock file: %v", err)
	}
	l2, err := TryLock(path)
	if err != nil {
		t.Fatalf("TryLock after Unlock: %v", err)
	}
	if err := l2.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestMissingDir(t *testing.T) {
	t.Parallel()
	_, err := TryLock(filepath.Join(t.TempDir(), "missing", "update.lock"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
	if errors.Is(err, ErrLocked) {
		t.Fatal("a missing directory reported as ErrLocked")
	}
}

// TestTryLockTempRemovesItsFile: the file goes with the lock, and a second
// locker after the first let go gets a lock of its own on a new file.
func TestTryLockTempRemovesItsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	l, err := TryLockTemp(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLockTemp(p); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLockTemp while held = %v, want ErrLocked", err)
	}
	l.Unlock()
	if _, err := os.Stat(p); canRemoveOpen && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the lock file is still there after Unlock: %v", err)
	}
	l2, err := TryLockTemp(p)
	if err != nil {
		t.Fatalf("TryLockTemp after Unlock = %v", err)
	}
	l2.Unlock()
}
