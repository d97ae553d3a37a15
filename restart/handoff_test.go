//go:build unix

package restart

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// newTestHandoff returns a Handoff of the test process whose new processes are
// the test binary in role, with extra environment.
func newTestHandoff(t *testing.T, o HandoffOptions, role string, extra ...string) *Handoff {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	env := osHandoffEnv()
	env.getenv = func(string) string { return "" } // the test process has no parent
	env.environ = func() []string {
		return append(os.Environ(), append([]string{handoffRoleEnv + "=" + role}, extra...)...)
	}
	h, err := newHandoff(o, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return h
}

// waitHandoffPIDFile waits until a helper has written path and returns the pid.
func waitHandoffPIDFile(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(handoffWait)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s: %v", path, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func assertHandoffChildGone(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists (kill: %v)", pid, err)
	}
}

func TestHandoffWithoutParent(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "app.pid")
	h := newTestHandoff(t, HandoffOptions{PIDFile: pidFile}, "none")
	if h.HasParent() {
		t.Error("HasParent in a process nobody handed off to")
	}
	ln, err := h.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := h.Listen("tcp", "127.0.0.1:0"); err == nil {
		t.Error("a second Listen under the same name succeeded")
	}
	// The listener serves although a duplicate was kept to pass on.
	go func() {
		if c, err := ln.Accept(); err == nil {
			io.WriteString(c, "hi")
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "hi" {
		t.Errorf("read %q from the listener, want hi", b)
	}

	if err := h.Ready(); err != nil {
		t.Fatal(err)
	}
	if err := h.Ready(); err != nil {
		t.Errorf("second Ready: %v", err)
	}
	if got := waitHandoffPIDFile(t, pidFile); got != os.Getpid() {
		t.Errorf("PID file names %d, want %d", got, os.Getpid())
	}
	select {
	case <-h.Exit():
		t.Error("Exit closed without a handoff")
	default:
	}

	h.Stop()
	h.Stop()
	if _, err := h.Listen("tcp", "127.0.0.1:0"); !errors.Is(err, ErrStopped) {
		t.Errorf("Listen after Stop: %v, want ErrStopped", err)
	}
	if _, err := h.Restart(context.Background(), os.Args[0]); !errors.Is(err, ErrStopped) {
		t.Errorf("Restart after Stop: %v, want ErrStopped", err)
	}
}

func TestHandoffPassesListenerToNewProcess(t *testing.T) {
	t.Parallel()
	h := newTestHandoff(t, HandoffOptions{}, "echo", handoffAddrEnv+"=127.0.0.1:0")
	ln, err := h.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if _, err := h.Restart(context.Background(), os.Args[0]); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	select {
	case <-h.Exit():
	default:
		t.Fatal("Exit not closed after a successful handoff")
	}
	if _, err := h.Restart(context.Background(), os.Args[0]); !errors.Is(err, ErrHandedOff) {
		t.Errorf("Restart after a handoff: %v, want ErrHandedOff", err)
	}
	// The old process closes everything; the socket lives on in the new one.
	ln.Close()
	h.Stop()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s after the old process closed it: %v", addr, err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "echo ")))
	if err != nil || pid == os.Getpid() || pid <= 0 {
		t.Errorf("answer %q, want the new process's pid", line)
	}
}

func TestHandoffSecondRestartAndStop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := newTestHandoff(t, HandoffOptions{}, "hang", handoffDirEnv+"="+dir)
	if _, err := h.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { _, err := h.Restart(context.Background(), os.Args[0]); first <- err }()
	pid := waitHandoffPIDFile(t, filepath.Join(dir, "hang.pid"))

	if _, err := h.Restart(context.Background(), os.Args[0]); !errors.Is(err, ErrInProgress) {
		t.Errorf("Restart during a Restart: %v, want ErrInProgress", err)
	}
	h.Stop()
	if err := <-first; !errors.Is(err, ErrStopped) {
		t.Errorf("Restart interrupted by Stop: %v, want ErrStopped", err)
	}
	assertHandoffChildGone(t, pid)
}

func TestHandoffContextCancelThenChildExit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := newTestHandoff(t, HandoffOptions{}, "hang", handoffDirEnv+"="+dir)
	if _, err := h.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := h.Restart(ctx, os.Args[0]); first <- err }()
	pid := waitHandoffPIDFile(t, filepath.Join(dir, "hang.pid"))
	cancel()
	err := <-first
	if !errors.Is(err, ErrNotReady) || !errors.Is(err, context.Canceled) {
		t.Errorf("Restart with its context cancelled: %v, want ErrNotReady and context.Canceled", err)
	}
	assertHandoffChildGone(t, pid)

	// A failed Restart leaves the Handoff ready for another one.
	h.env.environ = func() []string { return append(os.Environ(), handoffRoleEnv+"=exit1") }
	_, err = h.Restart(context.Background(), os.Args[0])
	var ee *exec.ExitError
	if !errors.Is(err, ErrChildExited) || !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("Restart into a crashing version: %v, want ErrChildExited with status 1", err)
	}
	select {
	case <-h.Exit():
		t.Error("Exit closed after failed restarts")
	default:
	}
}

func TestHandoffMissingExecutable(t *testing.T) {
	t.Parallel()
	h := newTestHandoff(t, HandoffOptions{}, "none")
	_, err := h.Restart(context.Background(), filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Restart of a missing file: %v, want os.ErrNotExist", err)
	}
	// Nothing is left in flight.
	if _, err := h.Restart(context.Background(), filepath.Join(t.TempDir(), "missing")); errors.Is(err, ErrInProgress) {
		t.Error("a failed start left the restart in progress")
	}
}

func TestHandoffInheritChecksTheParent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value string
		wantErr     bool
	}{
		{"another parent", `{"ppid":7,"ready":3,"listeners":[{"network":"tcp","addr":":80","fd":4}]}`, false},
		{"malformed", `{"ppid":`, true},
		{"bad ready fd", `{"ppid":42,"ready":1}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			unset := ""
			env := handoffEnv{
				getenv:   func(string) string { return tc.value },
				unsetenv: func(k string) error { unset = k; return nil },
				environ:  os.Environ,
				getppid:  func() int { return 42 },
			}
			h, err := newHandoff(HandoffOptions{Logger: slog.New(slog.DiscardHandler)}, env)
			if unset != handoffEnvVar {
				t.Errorf("%s was not removed from the environment", handoffEnvVar)
			}
			if tc.wantErr {
				if err == nil {
					t.Error("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer h.Stop()
			if h.HasParent() || len(h.inherited) != 0 {
				t.Error("took descriptors passed to another process")
			}
		})
	}
}
