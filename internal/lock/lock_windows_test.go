//go:build windows

package lock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestWindowsLockLeavesThePIDReadable: windows locks are mandatory, so the
// lock is one byte far past the end of the file (lockHigh), not the file:
// while another process holds it, the PID it wrote can be read, and the
// ErrLocked that TryLock returns names it.
func TestWindowsLockLeavesThePIDReadable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "update.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("holder said %q, %v", line, err)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the lock file while another process holds the lock: %v", err)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	if strings.TrimSpace(string(b)) != pid {
		t.Errorf("lock file holds %q, want the holder's PID %s", b, pid)
	}
	_, err = TryLock(path)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+pid) {
		t.Errorf("TryLock while held: %v, want ErrLocked naming pid %s", err, pid)
	}

	stdin.Close() // the holder unlocks and exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	l, err := TryLock(path)
	if err != nil {
		t.Fatalf("TryLock after the holder unlocked: %v", err)
	}
	l.Unlock()
}

// TestWindowsLockIsTheByteAtLockHigh: the lock is exactly the byte at
// offset 1<<62, so other byte ranges stay free, and a second LockFileEx of
// that byte through another handle fails with ERROR_LOCK_VIOLATION, which
// lockFile turns into ErrLocked.
func TestWindowsLockIsTheByteAtLockHigh(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "update.lock")
	l, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := windows.Handle(f.Fd())
	const flags = windows.LOCKFILE_EXCLUSIVE_LOCK | windows.LOCKFILE_FAIL_IMMEDIATELY
	if err := windows.LockFileEx(h, flags, 0, 1, 0, &windows.Overlapped{}); err != nil {
		t.Errorf("locking byte 0 while the lock is held: %v, want it free", err)
	} else {
		windows.UnlockFileEx(h, 0, 1, 0, &windows.Overlapped{})
	}
	err = windows.LockFileEx(h, flags, 0, 1, 0, &windows.Overlapped{OffsetHigh: lockHigh})
	if !errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		t.Errorf("locking the byte at 1<<62 while held: %v, want ERROR_LOCK_VIOLATION", err)
	}
	if err := lockFile(f); !errors.Is(err, ErrLocked) {
		t.Errorf("lockFile through a second handle: %v, want ErrLocked", err)
	}
}
