//go:build windows

package restart

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/molt-go/update/internal/testbin"
)

// The windows exec tests run the test binary again with winExecRoleEnv set:
// in init it calls Exec.Restart on the program named by winExecExeEnv, which
// on windows starts that program as a child and exits with its code. The
// test then checks what the child saw and what the parent exited with.
const (
	winExecRoleEnv = "MOLT_WINEXEC_TEST_ROLE"
	winExecExeEnv  = "MOLT_WINEXEC_TEST_EXE"
	winExecVarEnv  = "MOLT_WINEXEC_TEST_VAR"  // printed by the child
	winExecCodeEnv = "MOLT_WINEXEC_TEST_CODE" // the child's exit code

	winExecNoStdinEnv = "MOLT_WINEXEC_TEST_NOSTDIN" // the child reads no stdin
	winExecSleepEnv   = "MOLT_WINEXEC_TEST_SLEEP"   // then sleeps that long
	winExecTrapEnv    = "MOLT_WINEXEC_TEST_TRAP"    // and survives Ctrl+C/Break
)

// winChild prints a JSON report (its PID, arguments and winExecVarEnv) on
// stdout, echoes one line of stdin to stdout and stderr, and exits with the
// code in winExecCodeEnv.
const winChild = `package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"time"
)

func main() {
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"pid": os.Getpid(), "ppid": os.Getppid(), "args": os.Args, "var": os.Getenv("` + winExecVarEnv + `"),
	})
	var line string
	if os.Getenv("` + winExecNoStdinEnv + `") == "" {
		line, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	}
	fmt.Printf("stdout got %q\n", line)
	fmt.Fprintf(os.Stderr, "stderr got %q\n", line)
	if os.Getenv("` + winExecTrapEnv + `") != "" {
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt)
		go func() { <-c; fmt.Println("child trapped interrupt") }()
	}
	if d, err := time.ParseDuration(os.Getenv("` + winExecSleepEnv + `")); err == nil {
		time.Sleep(d)
	}
	code, _ := strconv.Atoi(os.Getenv("` + winExecCodeEnv + `"))
	os.Exit(code)
}
`

type winChildReport struct {
	PID  int      `json:"pid"`
	PPID int      `json:"ppid"`
	Args []string `json:"args"`
	Var  string   `json:"var"`
}

func init() {
	role := os.Getenv(winExecRoleEnv)
	if role == "" {
		return
	}
	exe := os.Getenv(winExecExeEnv)
	var e Exec
	switch role {
	case "given":
		// Arguments and environment of our own, as a caller may give them.
		e.Args = []string{"the-name-it-sees", "two words", `back\slash`, `"quoted"`, ""}
		e.Env = append(os.Environ(), winExecVarEnv+"=given")
	case "default":
		// os.Args and os.Environ, as they are.
	case "ctrlbreak":
		// Once the child runs, Ctrl+Break to the whole console.
		go func() {
			time.Sleep(time.Second)
			r, _, err := windows.NewLazySystemDLL("kernel32.dll").NewProc("GenerateConsoleCtrlEvent").Call(windows.CTRL_BREAK_EVENT, 0)
			if r == 0 {
				fmt.Fprintln(os.Stderr, "cannot send Ctrl+Break:", err)
			}
		}()
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		os.Exit(98)
	}
	fmt.Fprintf(os.Stderr, "parent pid %d\n", os.Getpid())
	_, err := e.Restart(context.Background(), exe)
	fmt.Fprintln(os.Stderr, "Restart returned:", err)
	os.Exit(99)
}

var (
	winChildOnce sync.Once
	winChildExe  string
	winChildErr  error
)

func buildWinChild(t *testing.T) string {
	t.Helper()
	winChildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "molt-winexec-")
		if err != nil {
			winChildErr = err
			return
		}
		winChildExe, winChildErr = testbin.Build(context.Background(), dir, "child", winChild)
	})
	if winChildErr != nil {
		t.Fatal(winChildErr)
	}
	return winChildExe
}

// runParent runs the test binary as a parent in role, with extra arguments,
// and returns its exit code, stdout and stderr.
func runParent(t *testing.T, role string, code int, extra ...string) (int, string, string) {
	t.Helper()
	child := buildWinChild(t)
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$"}, extra...)...)
	cmd.Env = append(os.Environ(),
		winExecRoleEnv+"="+role,
		winExecExeEnv+"="+child,
		winExecVarEnv+"=inherited",
		fmt.Sprintf("%s=%d", winExecCodeEnv, code))
	cmd.Stdin = strings.NewReader("hello child\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	default:
		t.Fatalf("running the parent: %v", err)
		return 0, "", ""
	}
}

func childReport(t *testing.T, stdout string) winChildReport {
	t.Helper()
	first, _, _ := strings.Cut(stdout, "\n")
	var r winChildReport
	if err := json.Unmarshal([]byte(first), &r); err != nil {
		t.Fatalf("child's report %q: %v", first, err)
	}
	return r
}

// TestWindowsExecStartsChildWithGivenArgsAndEnv: Exec with Args and Env set
// starts the new program as a child that sees exactly those arguments
// (spaces, backslashes, quotes and empty ones survive windows' command-line
// quoting) and that environment, shares the parent's stdin, stdout and
// stderr, and the parent exits with the child's code.
func TestWindowsExecStartsChildWithGivenArgsAndEnv(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runParent(t, "given", 7)
	if code != 7 {
		t.Fatalf("parent exited with %d, want the child's 7\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	r := childReport(t, stdout)
	want := []string{"the-name-it-sees", "two words", `back\slash`, `"quoted"`, ""}
	if !slices.Equal(r.Args, want) {
		t.Errorf("child's os.Args = %q, want %q", r.Args, want)
	}
	if r.Var != "given" {
		t.Errorf("child's %s = %q, want the given environment's %q", winExecVarEnv, r.Var, "given")
	}
	if !strings.Contains(stdout, `stdout got "hello child\n"`) {
		t.Errorf("the child did not read the parent's stdin and write its stdout:\n%s", stdout)
	}
	if !strings.Contains(stderr, `stderr got "hello child\n"`) {
		t.Errorf("the child did not write the parent's stderr:\n%s", stderr)
	}
	if strings.Contains(stderr, "Restart returned") {
		t.Errorf("Restart returned in the parent:\n%s", stderr)
	}
	var ppid int
	fmt.Sscanf(stderr, "parent pid %d", &ppid)
	if r.PID == ppid || r.PPID != ppid {
		t.Errorf("child pid %d, its parent %d; the restarting process was %d: want a child of it", r.PID, r.PPID, ppid)
	}
}

// TestWindowsExecDefaultsToOsArgsAndEnviron: with Args and Env nil the
// child gets the parent's os.Args and os.Environ, and exit codes 0 and
// large ones pass through.
func TestWindowsExecDefaultsToOsArgsAndEnviron(t *testing.T) {
	t.Parallel()
	for _, want := range []int{0, 1, 3, 255, 1000} {
		code, stdout, stderr := runParent(t, "default", want, "-test.v=false", "arg with space")
		if code != want {
			t.Fatalf("parent exited with %d, want the child's %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
		}
		r := childReport(t, stdout)
		// Args[0] is the parent's os.Args[0]; only the rest is compared.
		if n := len(r.Args); n != 4 || !slices.Equal(r.Args[1:], []string{"-test.run=^$", "-test.v=false", "arg with space"}) {
			t.Errorf("child's os.Args = %q, want the parent's arguments", r.Args)
		}
		if r.Var != "inherited" {
			t.Errorf("child's %s = %q, want the parent's %q", winExecVarEnv, r.Var, "inherited")
		}
	}
}

// TestWindowsExecMissingExeReturns: a program that cannot be started is an
// error, wrapping fs.ErrNotExist, and the process does not exit.
func TestWindowsExecMissingExeReturns(t *testing.T) {
	t.Parallel()
	e := Exec{exit: func(code int) { t.Errorf("exited with %d for a missing program", code) }}
	out, err := e.Restart(context.Background(), filepath.Join(t.TempDir(), "missing.exe"))
	if !errors.Is(err, fs.ErrNotExist) || out != NotStarted {
		t.Fatalf("Restart of a missing program: %v, %v; want NotStarted and fs.ErrNotExist", out, err)
	}
}

// TestWindowsExecExitsWithChildCodeInProcess runs the child from this
// process with the exit seam, so the code Restart passes to exit is seen
// directly.
func TestWindowsExecExitsWithChildCodeInProcess(t *testing.T) {
	t.Parallel()
	child := buildWinChild(t)
	got := -1
	e := Exec{
		Args: []string{"child"},
		Env:  append(os.Environ(), winExecCodeEnv+"=42", winExecNoStdinEnv+"=1"),
		exit: func(code int) { got = code },
	}
	out, err := e.Restart(context.Background(), child)
	if err != nil || out != Replaced {
		t.Fatalf("Restart: %v, %v", out, err)
	}
	if got != 42 {
		t.Fatalf("exit(%d), want the child's 42", got)
	}
}

// TestWindowsExecChildDiesWithTheParent: a supervisor that kills the
// process it started (TerminateProcess) must not leave the new version
// running without it: the child is in a job that dies with the parent.
func TestWindowsExecChildDiesWithTheParent(t *testing.T) {
	t.Parallel()
	child := buildWinChild(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// The child sleeps rather than wait for stdin: under Wine, a killed
	// parent's pipes end for the child too, which would end it anyway.
	cmd.Env = append(os.Environ(), winExecRoleEnv+"=default", winExecExeEnv+"="+child,
		winExecNoStdinEnv+"=1", winExecSleepEnv+"=1m")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	first, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the child's report: %v", err)
	}
	r := childReport(t, first)
	h, err := windows.OpenProcess(windows.SYNCHRONIZE, false, uint32(r.PID))
	if err != nil {
		t.Fatalf("opening the child %d: %v", r.PID, err)
	}
	defer windows.CloseHandle(h)
	if ev, _ := windows.WaitForSingleObject(h, 0); ev != uint32(windows.WAIT_TIMEOUT) {
		t.Fatal("the child ended before the parent was killed")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if ev, _ := windows.WaitForSingleObject(h, 10_000); ev != windows.WAIT_OBJECT_0 {
		windows.TerminateProcess(h, 1)
		t.Fatalf("the child %d still runs 10s after its parent was killed", r.PID)
	}
}

// TestWindowsExecCtrlBreakIsLeftToTheChild: Ctrl+C and Ctrl+Break reach
// every process of the console, the waiting parent included. The parent
// must not die of it while the child (the program now, which here handles
// the signal and goes on) runs: it waits and exits with the child's code.
// The parent runs in a console of its own and sends the Ctrl+Break there
// itself, once its child runs.
func TestWindowsExecCtrlBreakIsLeftToTheChild(t *testing.T) {
	t.Parallel()
	child := buildWinChild(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), winExecRoleEnv+"=ctrlbreak", winExecExeEnv+"="+child,
		winExecNoStdinEnv+"=1", winExecSleepEnv+"=3s", winExecCodeEnv+"=5", winExecTrapEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_CONSOLE}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if strings.Contains(stderr.String(), "cannot send Ctrl+Break") {
		t.Skip(stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 5 {
		t.Fatalf("parent after Ctrl+Break: %v, want it to wait and exit with the child's 5\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "child trapped interrupt") {
		t.Errorf("the child did not get the Ctrl+Break:\n%s", stdout.String())
	}
}
