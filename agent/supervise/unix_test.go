//go:build unix

package supervise

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The supervised children are this test binary again: superviseChildEnv
// makes it a child, and the file childConfig in its working directory (its
// workspace) says which.
const (
	superviseChildEnv = "MOLT_SUPERVISE_CHILD"
	childConfig       = "child.json"
	childSafetyNet    = 2 * time.Minute // no test child outlives a broken test for long
)

type childSpec struct {
	Role    string // "serve", "stubborn" (ignores SIGTERM, with a helper that does too), "exit" or "crash"
	Version string
	Port    int
	// Crashes is, for "crash", how many of the runs in this workspace
	// serve for Life and then exit with status 1; the runs after them
	// serve for good. Each run adds a line to the file "runs".
	Crashes int
	Life    time.Duration
}

func init() {
	switch os.Getenv(superviseChildEnv) {
	case "":
		return
	case "helper":
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(childSafetyNet)
		os.Exit(0)
	}
	time.AfterFunc(childSafetyNet, func() { os.Exit(4) })
	b, err := os.ReadFile(childConfig)
	var spec childSpec
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(5)
	}
	switch spec.Role {
	case "exit":
		os.Exit(3)
	case "crash":
		runs, _ := os.ReadFile("runs")
		os.WriteFile("runs", append(runs, '\n'), 0o644)
		if bytes.Count(runs, []byte("\n")) < spec.Crashes {
			time.AfterFunc(spec.Life, func() { os.Exit(1) })
		}
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		helper := exec.Command(os.Args[0])
		helper.Env = append(os.Environ(), superviseChildEnv+"=helper")
		if err := helper.Start(); err != nil {
			os.Exit(6)
		}
		os.WriteFile("helper.pid", []byte(strconv.Itoa(helper.Process.Pid)), 0o644)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %d", spec.Version, os.Getpid())
	})
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", spec.Port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(7)
	}
	os.WriteFile("ready", nil, 0o644)
	http.Serve(ln, nil)
	os.Exit(8)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// workspace makes a workspace for a child.
func workspace(t *testing.T, root string, spec childSpec) string {
	t.Helper()
	dir, err := os.MkdirTemp(root, spec.Version+"-")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, childConfig), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// recorder keeps the steps a Supervisor reports.
type recorder struct {
	mu    sync.Mutex
	steps []SwitchStep
}

func (r *recorder) add(s SwitchStep) {
	r.mu.Lock()
	r.steps = append(r.steps, s)
	r.mu.Unlock()
}

func (r *recorder) names() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n []string
	for _, s := range r.steps {
		if s.Err != nil {
			n = append(n, string(s.Name)+"!")
		} else {
			n = append(n, string(s.Name))
		}
	}
	r.steps = nil
	return strings.Join(n, ",")
}

func newSupervise(t *testing.T, port int, mode SwitchMode) (*Supervisor, *recorder) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s := &Supervisor{
		Args:          []string{exe},
		Env:           append(os.Environ(), superviseChildEnv+"=1"),
		Stdout:        io.Discard,
		Mode:          mode,
		Health:        HTTPHealth{URL: fmt.Sprintf("http://127.0.0.1:%d/", port)},
		HealthTimeout: 20 * time.Second,
		StopTimeout:   5 * time.Second,
		OnStep:        rec.add,
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s, rec
}

// serving returns the version and PID that answer on port.
func serving(t *testing.T, port int) (string, int) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		return "", 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v string
	var pid int
	fmt.Sscanf(string(b), "%s %d", &v, &pid)
	return v, pid
}

// alive reports whether pid is a live process (a zombie is not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc: kill(0) is all we know
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) == 0 || f[0] != "Z"
}

// waitDead gives an orphaned helper time to be reaped by init.
func waitDead(pid int) bool {
	for range 300 {
		if !alive(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestSuperviseSwitchStopFirst(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	root := t.TempDir()
	s, rec := newSupervise(t, port, StopFirst)
	ctx := context.Background()

	ws1 := workspace(t, root, childSpec{Role: "serve", Version: "one", Port: port})
	if err := s.Switch(ctx, ws1); err != nil {
		t.Fatal(err)
	}
	if got := rec.names(); got != "start,health" {
		t.Errorf("first switch steps = %s", got)
	}
	v, pid1 := serving(t, port)
	if v != "one" || pid1 != s.PID() || s.Workspace() != ws1 {
		t.Fatalf("serving %q pid %d; supervisor says pid %d in %s", v, pid1, s.PID(), s.Workspace())
	}
	if _, err := os.Stat(filepath.Join(ws1, "ready")); err != nil {
		t.Errorf("the child did not run in its workspace: %v", err)
	}

	ws2 := workspace(t, root, childSpec{Role: "serve", Version: "two", Port: port})
	if err := s.Switch(ctx, ws2); err != nil {
		t.Fatal(err)
	}
	if got := rec.names(); got != "stop,start,health" {
		t.Errorf("second switch steps = %s", got)
	}
	if v, pid2 := serving(t, port); v != "two" || pid2 == pid1 {
		t.Fatalf("serving %q pid %d after the switch", v, pid2)
	}
	if alive(pid1) {
		t.Errorf("the old child %d still runs", pid1)
	}

	// A third version: the first workspace goes, the second is kept for
	// rollback.
	ws3 := workspace(t, root, childSpec{Role: "serve", Version: "three", Port: port})
	if err := s.Switch(ctx, ws3); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ws1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the workspace before the previous one is still there: %v", err)
	}
	if _, err := os.Stat(ws2); err != nil {
		t.Errorf("the previous workspace was removed: %v", err)
	}
}

func TestSuperviseRollbackStopFirst(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	root := t.TempDir()
	s, rec := newSupervise(t, port, StopFirst)
	s.HealthTimeout = 2 * time.Second
	ctx := context.Background()
	good := workspace(t, root, childSpec{Role: "serve", Version: "good", Port: port})
	if err := s.Switch(ctx, good); err != nil {
		t.Fatal(err)
	}
	rec.names()
	_, pid := serving(t, port)

	for _, bad := range []childSpec{
		{Role: "exit", Version: "quitter", Port: port},           // exits at once
		{Role: "serve", Version: "elsewhere", Port: freePort(t)}, // never answers where asked
	} {
		ws := workspace(t, root, bad)
		err := s.Switch(ctx, ws)
		if !errors.Is(err, ErrUnhealthy) || errors.Is(err, ErrRollbackFailed) {
			t.Fatalf("%s: Switch = %v, want ErrUnhealthy", bad.Version, err)
		}
		if got := rec.names(); got != "stop,start,health!,stop,rollback" && !(bad.Role == "exit" && got == "stop,start!,stop,rollback") {
			t.Errorf("%s: steps = %s", bad.Version, got)
		}
		v, newPID := serving(t, port)
		if v != "good" || newPID == pid || newPID != s.PID() || s.Workspace() != good {
			t.Fatalf("%s: after rollback serving %q pid %d (was %d), supervisor in %s", bad.Version, v, newPID, pid, s.Workspace())
		}
		pid = newPID
		if _, err := os.Stat(ws); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the failed workspace was kept: %v", bad.Version, err)
		}
	}
}

func TestSuperviseRollbackStartFirst(t *testing.T) {
	t.Parallel()
	// Start-first runs both versions at once, so each binds a port of its
	// own and the health check asks where the new one should answer.
	oldPort, newPort := freePort(t), freePort(t)
	root := t.TempDir()
	s, rec := newSupervise(t, oldPort, StartFirst)
	ctx := context.Background()
	if err := s.Switch(ctx, workspace(t, root, childSpec{Role: "serve", Version: "old", Port: oldPort})); err != nil {
		t.Fatal(err)
	}
	rec.names()
	_, pid := serving(t, oldPort)
	s.Health = HTTPHealth{URL: fmt.Sprintf("http://127.0.0.1:%d/", newPort)}
	s.HealthTimeout = time.Second

	// A new child that answers elsewhere never becomes healthy.
	err := s.Switch(ctx, workspace(t, root, childSpec{Role: "serve", Version: "lost", Port: freePort(t)}))
	if !errors.Is(err, ErrUnhealthy) {
		t.Fatalf("Switch = %v, want ErrUnhealthy", err)
	}
	if got := rec.names(); got != "start,health!,stop" {
		t.Errorf("steps = %s, want the old child never stopped", got)
	}
	if v, p := serving(t, oldPort); v != "old" || p != pid || s.PID() != pid {
		t.Errorf("serving %q pid %d, want the old child %d untouched", v, p, pid)
	}

	// One that answers where asked replaces the old one once healthy.
	s.HealthTimeout = 20 * time.Second
	if err := s.Switch(ctx, workspace(t, root, childSpec{Role: "serve", Version: "new", Port: newPort})); err != nil {
		t.Fatal(err)
	}
	if got := rec.names(); got != "start,health,stop" {
		t.Errorf("start-first steps = %s", got)
	}
	if v, _ := serving(t, newPort); v != "new" {
		t.Errorf("serving %q, want new", v)
	}
	if alive(pid) {
		t.Errorf("the old child %d still runs", pid)
	}
}

func TestSuperviseKillsStubbornGroup(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	root := t.TempDir()
	s, rec := newSupervise(t, port, StopFirst)
	s.StopTimeout = 300 * time.Millisecond
	ws := workspace(t, root, childSpec{Role: "stubborn", Version: "stubborn", Port: port})
	if err := s.Switch(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
	pid := s.PID()
	b, err := os.ReadFile(filepath.Join(ws, "helper.pid"))
	if err != nil {
		t.Fatal(err)
	}
	helper, _ := strconv.Atoi(string(b))
	if !alive(pid) || !alive(helper) {
		t.Fatalf("child %d or helper %d not running", pid, helper)
	}
	syscall.Kill(pid, syscall.SIGTERM) // ignored, as a stuck program would
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.names()
	if alive(pid) {
		t.Errorf("the child %d that ignores SIGTERM survived Stop", pid)
	}
	if !waitDead(helper) {
		t.Errorf("the child's helper %d (same group) survived Stop", helper)
	}
	if s.PID() != 0 || s.Workspace() != "" {
		t.Errorf("after Stop: PID %d, workspace %q", s.PID(), s.Workspace())
	}
	if _, err := os.Stat(ws); err != nil {
		t.Errorf("Stop removed the workspace: %v", err)
	}
}

func TestSuperviseNoCommand(t *testing.T) {
	t.Parallel()
	var s Supervisor
	if err := s.Switch(context.Background(), t.TempDir()); !errors.Is(err, ErrNoCommand) {
		t.Errorf("Switch with no Args = %v, want ErrNoCommand", err)
	}
}

// refusingPort returns a port bound but not listening: connections to it
// are refused, and no other test can take it while the test runs (a port
// from a closed listener could be taken by a parallel test).
func refusingPort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

func TestHealthChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	port := refusingPort(t)
	if err := (TCPHealth{Addr: fmt.Sprintf("127.0.0.1:%d", port)}).Healthy(ctx); err == nil {
		t.Error("TCPHealth of a closed port passed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	codes := map[string]int{"/ok": 200, "/sick": 500}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(codes[r.URL.Path]) }))
	base := "http://" + ln.Addr().String()
	if err := (TCPHealth{Addr: ln.Addr().String()}).Healthy(ctx); err != nil {
		t.Errorf("TCPHealth of a listening port: %v", err)
	}
	if err := (HTTPHealth{URL: base + "/ok"}).Healthy(ctx); err != nil {
		t.Errorf("HTTPHealth 200: %v", err)
	}
	if err := (HTTPHealth{URL: base + "/sick"}).Healthy(ctx); err == nil {
		t.Error("HTTPHealth 500 passed")
	}
}
