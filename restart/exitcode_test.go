package restart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// exitRoleEnv, when set to a code, makes the re-executed test binary call
// Exit{Code: code}.Restart and report if it returns.
const exitRoleEnv = "MOLT_EXIT_TEST_CODE"

func init() {
	v := os.Getenv(exitRoleEnv)
	if v == "" {
		return
	}
	code, err := strconv.Atoi(v)
	if err != nil {
		os.Exit(100)
	}
	_, err = Exit{Code: code}.Restart(context.Background(), "ignored")
	fmt.Printf("Restart returned: %v\n", err)
	os.Exit(101)
}

func TestExitCallsExitWithCode(t *testing.T) {
	t.Parallel()
	for _, code := range []int{0, ExitCodeRestart} {
		got := -1
		e := Exit{Code: code, exit: func(c int) { got = c }}
		if _, err := e.Restart(context.Background(), "/some/exe"); err != nil {
			t.Errorf("Restart: %v", err)
		}
		if got != code {
			t.Errorf("exit(%d), want exit(%d)", got, code)
		}
	}
}

func TestExitCancelledDoesNotExit(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	e := Exit{Code: 3, exit: func(int) { called = true }}
	if _, err := e.Restart(ctx, "/some/exe"); !errors.Is(err, context.Canceled) {
		t.Errorf("Restart with a cancelled context: %v, want context.Canceled", err)
	}
	if called {
		t.Error("exited although the context was cancelled")
	}
}

func TestExitEndsTheProcess(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), exitRoleEnv+"=3")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("process ended with %v, want exit status 3", err)
	}
	if strings.Contains(string(out), "Restart returned") {
		t.Errorf("Restart returned in the real process: %q", out)
	}
}
