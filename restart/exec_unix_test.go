//go:build unix

package restart

import (
	"bufio"
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
	"syscall"
	"testing"

	"github.com/molt-go/update/internal/testbin"
)

// The exec tests run real processes: the test binary, re-executed with
// execRoleEnv set, runs one of the roles below in init, then execs into the
// program named by execExeEnv.
const (
	execRoleEnv = "MOLT_EXEC_TEST_ROLE"
	execExeEnv  = "MOLT_EXEC_TEST_EXE"
	execVarEnv  = "MOLT_EXEC_TEST_VAR" // the variable the new program prints
)

// execReport is what both sides of an exec print, one JSON object a line.
type execReport struct {
	Who  string   `json:"who"`
	PID  int      `json:"pid"`
	Args []string `json:"args"`
	Var  string   `json:"var"`
	Note string   `json:"note,omitempty"`
}

// execNewProgram prints an execReport as "new" and exits.
const execNewProgram = `package main

import (
	"encoding/json"
	"os"
)

func main() {
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"who": "new", "pid": os.Getpid(), "args": os.Args, "var": os.Getenv("` + execVarEnv + `"),
	})
}
`

func init() {
	role := os.Getenv(execRoleEnv)
	if role == "" {
		return
	}
	exe := os.Getenv(execExeEnv)
	report := func(note string) {
		json.NewEncoder(os.Stdout).Encode(execReport{Who: "old", PID: os.Getpid(), Args: os.Args, Note: note})
	}
	var err error
	switch role {
	case "explicit":
		report("")
		_, err = Exec{
			Args: []string{"renamed", "one", "two words"},
			Env:  []string{execVarEnv + "=explicit"},
		}.Restart(context.Background(), exe)
	case "defaults":
		os.Setenv(execVarEnv, "inherited")
		report("")
		_, err = Exec{}.Restart(context.Background(), exe)
	case "busy":
		// Hold exe open for writing, as a process still writing the update
		// would, and let go of it only once exec has said ETXTBSY.
		f, ferr := os.OpenFile(exe, os.O_WRONLY, 0)
		if ferr != nil {
			err = ferr
			break
		}
		report("")
		_, err = Exec{retried: func(attempt int, err error) {
			report(fmt.Sprintf("retry %d: busy=%t", attempt, errors.Is(err, syscall.ETXTBSY)))
			f.Close()
		}}.Restart(context.Background(), exe)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	report("failed: " + err.Error())
	os.Exit(2)
}

// runExecRole runs the test binary in role, execing into exe, and returns
// the reports it printed, old and new.
func runExecRole(t *testing.T, role, exe string) []execReport {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), execRoleEnv+"="+role, execExeEnv+"="+exe)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("role %s: %v\n%s", role, err, out)
	}
	var reports []execReport
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var r execReport
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("role %s printed %q: %v", role, sc.Text(), err)
		}
		reports = append(reports, r)
	}
	return reports
}

// TestExecRealProcess execs a child into a freshly built program and looks
// at what runs: the new program, in the same process.
func TestExecRealProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exe, err := testbin.Build(context.Background(), dir, "newprog", execNewProgram)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("explicit", func(t *testing.T) {
		t.Parallel()
		got := runExecRole(t, "explicit", exe)
		if len(got) != 2 || got[0].Who != "old" || got[1].Who != "new" {
			t.Fatalf("reports %+v, want old then new", got)
		}
		if got[0].PID != got[1].PID {
			t.Errorf("pid %d became %d: exec must keep the process", got[0].PID, got[1].PID)
		}
		if want := []string{"renamed", "one", "two words"}; !slices.Equal(got[1].Args, want) {
			t.Errorf("new program got args %q, want %q", got[1].Args, want)
		}
		if got[1].Var != "explicit" {
			t.Errorf("new program saw %s=%q, want %q", execVarEnv, got[1].Var, "explicit")
		}
	})

	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		got := runExecRole(t, "defaults", exe)
		if len(got) != 2 || got[0].Who != "old" || got[1].Who != "new" {
			t.Fatalf("reports %+v, want old then new", got)
		}
		if got[0].PID != got[1].PID {
			t.Errorf("pid %d became %d: exec must keep the process", got[0].PID, got[1].PID)
		}
		if !slices.Equal(got[1].Args, got[0].Args) {
			t.Errorf("new program got args %q, want the old one's %q", got[1].Args, got[0].Args)
		}
		if got[1].Var != "inherited" {
			t.Errorf("new program saw %s=%q, want the old environment's %q", execVarEnv, got[1].Var, "inherited")
		}
	})
}

// TestExecNotExecutable: a failed exec returns an error, and the program
// (this test) goes on running.
func TestExecNotExecutable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho no\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Exec{}.Restart(context.Background(), path)
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err = %v, want fs.ErrPermission", err)
	}
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Path != path {
		t.Errorf("err = %v, want an *os.PathError naming %s", err, path)
	}
}

func TestExecMissing(t *testing.T) {
	t.Parallel()
	_, err := Exec{}.Restart(context.Background(), filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

// fakeExec records calls and answers each with the next error of errs (the
// last one repeating).
type fakeExec struct {
	errs  []error
	calls int
	argv0 string
	argv  []string
	envv  []string
}

func (f *fakeExec) exec(argv0 string, argv, envv []string) error {
	f.calls++
	f.argv0, f.argv, f.envv = argv0, argv, envv
	return f.errs[min(f.calls, len(f.errs))-1]
}

func TestExecDefaultsArgsAndEnv(t *testing.T) {
	t.Parallel()
	fake := &fakeExec{errs: []error{nil}}
	if _, err := (Exec{exec: fake.exec}).Restart(context.Background(), "/new/prog"); err != nil {
		t.Fatal(err)
	}
	if fake.argv0 != "/new/prog" || !slices.Equal(fake.argv, os.Args) || !slices.Equal(fake.envv, os.Environ()) {
		t.Errorf("exec(%q, %q, %d vars), want the path, os.Args and os.Environ()", fake.argv0, fake.argv, len(fake.envv))
	}
}

func TestExecRetriesTextBusyThenGivesUp(t *testing.T) {
	t.Parallel()
	fake := &fakeExec{errs: []error{syscall.ETXTBSY}}
	var retries []int
	e := Exec{exec: fake.exec, retried: func(n int, _ error) { retries = append(retries, n) }}
	_, err := e.Restart(context.Background(), "/new/prog")
	if !errors.Is(err, syscall.ETXTBSY) {
		t.Fatalf("err = %v, want ETXTBSY", err)
	}
	if fake.calls != execAttempts || len(retries) != execAttempts-1 {
		t.Errorf("%d attempts and %d retries, want %d and %d", fake.calls, len(retries), execAttempts, execAttempts-1)
	}
}

func TestExecRetryUntilNoLongerBusy(t *testing.T) {
	t.Parallel()
	fake := &fakeExec{errs: []error{syscall.ETXTBSY, syscall.ETXTBSY, nil}}
	if _, err := (Exec{exec: fake.exec}).Restart(context.Background(), "/new/prog"); err != nil {
		t.Fatal(err)
	}
	if fake.calls != 3 {
		t.Errorf("%d attempts, want 3", fake.calls)
	}
}

func TestExecOtherErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	fake := &fakeExec{errs: []error{syscall.ENOEXEC}}
	_, err := (Exec{exec: fake.exec}).Restart(context.Background(), "/new/prog")
	if !errors.Is(err, syscall.ENOEXEC) || fake.calls != 1 {
		t.Errorf("err = %v after %d attempts, want ENOEXEC after 1", err, fake.calls)
	}
}

func TestExecRetryHonoursContext(t *testing.T) {
	t.Parallel()
	fake := &fakeExec{errs: []error{syscall.ETXTBSY}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := Exec{exec: fake.exec, retried: func(int, error) { cancel() }}
	_, err := e.Restart(ctx, "/new/prog")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, syscall.ETXTBSY) {
		t.Fatalf("err = %v, want context.Canceled and ETXTBSY", err)
	}
	if fake.calls != 1 {
		t.Errorf("%d attempts after cancel, want 1", fake.calls)
	}
}

func TestExecCancelledDoesNotExec(t *testing.T) {
	t.Parallel()
	fake := &fakeExec{errs: []error{nil}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Exec{exec: fake.exec}).Restart(ctx, "/new/prog"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if fake.calls != 0 {
		t.Errorf("exec was called %d times after cancel", fake.calls)
	}
}
