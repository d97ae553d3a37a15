//go:build unix

package supervise

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/step"
)

// restartWait bounds each wait for a crash or a restart: a deadline
// against hanging, not a speed test.
const restartWait = time.Minute

// waitSteps waits until rec holds n steps named name, and returns all the
// steps recorded so far (leaving them in rec).
func (r *recorder) waitSteps(t *testing.T, name step.Name, n int) []SwitchStep {
	t.Helper()
	deadline := time.Now().Add(restartWait)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		steps := append([]SwitchStep(nil), r.steps...)
		r.mu.Unlock()
		count := 0
		for _, s := range steps {
			if s.Name == name {
				count++
			}
		}
		if count >= n {
			return steps
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %d %s steps within %v; steps: %s", n, name, restartWait, r.names())
	return nil
}

// runs is how many times a "crash" child ran in ws.
func runs(t *testing.T, ws string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ws, "runs"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func TestSuperviseRestartsCrashedChild(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		crashes    int
		life       time.Duration
		resetAfter time.Duration
		delays     []time.Duration
	}{
		// Quick crashes: the pause doubles, up to MaxRestartDelay.
		{"backoff", 4, 300 * time.Millisecond, time.Hour, []time.Duration{100, 200, 300, 300}},
		// Children that ran for RestartResetAfter: each crash is a first.
		{"reset", 2, 300 * time.Millisecond, 50 * time.Millisecond, []time.Duration{100, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port := freePort(t)
			s, rec := newSupervise(t, port, StopFirst)
			s.Health = nil // a child that lives so briefly may die before a first health check
			s.RestartDelay = 100 * time.Millisecond
			s.MaxRestartDelay = 300 * time.Millisecond
			s.RestartResetAfter = tc.resetAfter
			ws := workspace(t, t.TempDir(), childSpec{Role: "crash", Version: "phoenix", Port: port, Crashes: tc.crashes, Life: tc.life})
			if err := s.Switch(context.Background(), ws); err != nil {
				t.Fatal(err)
			}

			steps := rec.waitSteps(t, StepRestart, tc.crashes)
			var names []string
			for _, st := range steps {
				names = append(names, string(st.Name))
			}
			want := "start,health" + strings.Repeat(",crash,restart", tc.crashes)
			if got := strings.Join(names, ","); got != want {
				t.Fatalf("steps = %s, want %s", got, want)
			}
			pid := steps[0].PID
			for i := range tc.crashes {
				crash, restart := steps[2+2*i], steps[3+2*i]
				var exit *exec.ExitError
				if !errors.Is(crash.Err, ErrExited) || !errors.As(crash.Err, &exit) || exit.ExitCode() != 1 {
					t.Errorf("crash %d: Err = %v, want ErrExited with exit status 1", i+1, crash.Err)
				}
				if crash.PID != pid || crash.Workspace != ws || crash.End.Before(crash.Start) {
					t.Errorf("crash %d = %+v, want pid %d in %s", i+1, crash, pid, ws)
				}
				want := tc.delays[i] * time.Millisecond
				if restart.Err != nil || restart.Delay != want || restart.Workspace != ws {
					t.Errorf("restart %d = %+v, want a delay of %v in %s", i+1, restart, want, ws)
				}
				if waited := restart.Start.Sub(crash.End); waited < want {
					t.Errorf("restart %d started %v after the crash, before its delay of %v", i+1, waited, want)
				}
				if restart.PID == 0 || restart.PID == pid {
					t.Errorf("restart %d: pid %d, want a new process (was %d)", i+1, restart.PID, pid)
				}
				pid = restart.PID
			}

			// The last restart serves for good, as the supervisor says.
			deadline := time.Now().Add(restartWait)
			v, servedBy := serving(t, port)
			for servedBy != pid && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				v, servedBy = serving(t, port)
			}
			if v != "phoenix" || servedBy != pid || s.PID() != pid || s.Workspace() != ws {
				t.Fatalf("serving %q pid %d, supervisor says pid %d in %s; want pid %d", v, servedBy, s.PID(), s.Workspace(), pid)
			}
			if n := runs(t, ws); n != tc.crashes+1 {
				t.Errorf("the program ran %d times, want %d", n, tc.crashes+1)
			}
			if err := s.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if alive(pid) {
				t.Errorf("the restarted child %d survived Stop", pid)
			}
		})
	}
}

// crashOnce starts a child in a new workspace that crashes once after a
// short life, and returns its workspace once the crash was reported: the
// supervisor is then in its backoff.
func crashOnce(t *testing.T, s *Supervisor, rec *recorder, port int) string {
	t.Helper()
	ws := workspace(t, t.TempDir(), childSpec{Role: "crash", Version: "crashy", Port: port, Crashes: 1, Life: 300 * time.Millisecond})
	if err := s.Switch(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
	rec.waitSteps(t, StepCrash, 1)
	if got := rec.names(); got != "start,health,crash!" {
		t.Fatalf("steps = %s", got)
	}
	return ws
}

// settle waits longer than the restart delay, for a restart that should
// not come.
func settle(s *Supervisor) { time.Sleep(4 * s.RestartDelay) }

func TestSuperviseStopDuringBackoff(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	s, rec := newSupervise(t, port, StopFirst)
	s.Health = nil
	s.RestartDelay = 300 * time.Millisecond
	ws := crashOnce(t, s, rec, port)
	s.mu.Lock()
	w := s.watch
	s.mu.Unlock()
	if w == nil {
		t.Fatal("no watcher in the backoff")
	}

	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.done:
	default:
		t.Error("Stop returned while the watcher's goroutine still ran")
	}
	settle(s)
	if got := rec.names(); got != "" {
		t.Errorf("steps after Stop: %s, want none", got)
	}
	if n := runs(t, ws); n != 1 {
		t.Errorf("the program ran %d times, want once (no restart after Stop)", n)
	}
	if v, pid := serving(t, port); v != "" || s.PID() != 0 || s.Workspace() != "" {
		t.Errorf("after Stop: serving %q pid %d, supervisor pid %d in %q", v, pid, s.PID(), s.Workspace())
	}
}

func TestSuperviseSwitchDuringBackoff(t *testing.T) {
	t.Parallel()
	for name, mode := range map[string]SwitchMode{"stop-first": StopFirst, "start-first": StartFirst} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			port := freePort(t)
			s, rec := newSupervise(t, port, mode)
			s.RestartDelay = 300 * time.Millisecond
			health := s.Health
			s.Health = nil
			crashed := crashOnce(t, s, rec, port)

			s.Health = health
			next := workspace(t, t.TempDir(), childSpec{Role: "serve", Version: "next", Port: port})
			if err := s.Switch(context.Background(), next); err != nil {
				t.Fatal(err)
			}
			settle(s)
			// The dead child has nothing to stop; only the new one starts.
			if got := rec.names(); got != "start,health" {
				t.Errorf("steps = %s, want start,health and no restart", got)
			}
			if n := runs(t, crashed); n != 1 {
				t.Errorf("the crashed program ran %d times, want once", n)
			}
			if v, pid := serving(t, port); v != "next" || pid != s.PID() || s.Workspace() != next {
				t.Errorf("serving %q pid %d, supervisor pid %d in %s", v, pid, s.PID(), s.Workspace())
			}
		})
	}
}

func TestSuperviseNoRestart(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	s, rec := newSupervise(t, port, StopFirst)
	s.Health = nil
	s.NoRestart = true
	s.RestartDelay = 100 * time.Millisecond
	ws := workspace(t, t.TempDir(), childSpec{Role: "crash", Version: "mortal", Port: port, Crashes: 1, Life: 300 * time.Millisecond})
	if err := s.Switch(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
	rec.names()
	deadline := time.Now().Add(restartWait)
	for s.PID() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	settle(s)
	if got := rec.names(); got != "" || s.PID() != 0 || runs(t, ws) != 1 {
		t.Errorf("with NoRestart: steps %q, pid %d, %d runs; want a dead child left dead", got, s.PID(), runs(t, ws))
	}
	if s.Workspace() != ws {
		t.Errorf("workspace %q, want the dead child's %s kept for the next switch", s.Workspace(), ws)
	}
}
