package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/updatetest"
)

// repoFixture is an updater of "app" 1.0.0 fed by a signed in-memory
// repository.
type repoFixture struct {
	repo   *updatetest.Repo
	target string
	state  string
}

func newRepoFixture(t *testing.T) *repoFixture {
	t.Helper()
	dir := t.TempDir()
	f := &repoFixture{repo: updatetest.NewRepo(t, "app"), target: filepath.Join(dir, "app"), state: filepath.Join(dir, "state")}
	writeFile(t, f.target, []byte("app 1.0.0"))
	forgetLock(t, f.target)
	return f
}

func (f *repoFixture) options(r restart.Restarter) Options {
	return Options{
		App: "app", Version: "1.0.0",
		Source: f.repo.Source(), Verifier: f.repo.Verifier(),
		Target: f.target, StateDir: f.state,
		Restarter: r, SkipProbe: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// TestRestarterOutcomes: after a restart that replaced this process (an
// exec that came back, a handoff, an exit for a supervisor), a second
// Check must not install; after one that left this process in charge, a
// second update works.
func TestRestarterOutcomes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		out        restart.Outcome
		installsOn bool
	}{
		{restart.NotStarted, true},
		{restart.RestartedOther, true},
		{restart.HandedOver, false},
		{restart.Replaced, false},
		{restart.Exiting, false},
	} {
		t.Run(tc.out.String(), func(t *testing.T) {
			t.Parallel()
			f := newRepoFixture(t)
			rs := &updatetest.Restarter{Outcome: tc.out}
			u, err := New(f.options(rs))
			if err != nil {
				t.Fatal(err)
			}
			f.repo.Publish("1.1.0", []byte("app 1.1.0"))
			if res, err := u.Check(context.Background()); err != nil || !res.Updated || res.To != "1.1.0" {
				t.Fatalf("first Check = %+v, %v", res, err)
			}
			f.repo.Publish("1.2.0", []byte("app 1.2.0"))
			_, assetsBefore := f.repo.Requests()
			res, err := u.Check(context.Background())
			if tc.installsOn {
				if err != nil || !res.Updated || res.From != "1.1.0" || res.To != "1.2.0" {
					t.Fatalf("second Check = %+v, %v; want 1.1.0 -> 1.2.0", res, err)
				}
				if got := content(t, f.target); got != "app 1.2.0" {
					t.Fatalf("target %q", got)
				}
				if n := len(rs.Calls()); n != 2 {
					t.Fatalf("restarted %d times, want 2", n)
				}
				return
			}
			if !errors.Is(err, ErrInProgress) || res.Updated {
				t.Fatalf("second Check after %v = %+v, %v; want ErrInProgress", tc.out, res, err)
			}
			if _, err := u.Install(context.Background(), "1.2.0"); !errors.Is(err, ErrInProgress) {
				t.Fatalf("Install after %v: %v, want ErrInProgress", tc.out, err)
			}
			if _, assets := f.repo.Requests(); assets != assetsBefore {
				t.Fatal("downloaded after handing over")
			}
			if got := content(t, f.target); got != "app 1.1.0" {
				t.Fatalf("target %q: the new process's binary was replaced", got)
			}
			if n := len(rs.Calls()); n != 1 {
				t.Fatalf("restarted %d times, want 1", n)
			}
		})
	}
}

// loggingRestarter wraps another restarter and logs each restart, as a
// program that flushes or reports before it restarts would.
type loggingRestarter struct {
	next restart.Restarter

	mu  sync.Mutex
	log []string
}

func (l *loggingRestarter) Restart(ctx context.Context, exe string) (restart.Outcome, error) {
	b, _ := os.ReadFile(exe)
	out, err := l.next.Restart(ctx, exe)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, fmt.Sprintf("restart into %q: %v, %v", b, out, err))
	return out, err
}

func (l *loggingRestarter) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.log...)
}

// TestWrappedRestarterUpdatesThreeTimes: a restarter that wraps another
// works like the one it wraps: the updater needs no type of its own to
// know it may install again, so one Updater installs 1.1.0, 1.2.0 and
// 1.3.0 in a row.
func TestWrappedRestarterUpdatesThreeTimes(t *testing.T) {
	t.Parallel()
	for name, inner := range map[string]func() restart.Restarter{
		"updatetest.Restarter": func() restart.Restarter { return &updatetest.Restarter{} },
		"restart.None":         func() restart.Restarter { return restart.None{} },
		"supervisor-like":      func() restart.Restarter { return &updatetest.Restarter{Outcome: restart.RestartedOther} },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newRepoFixture(t)
			lr := &loggingRestarter{next: inner()}
			u, err := New(f.options(lr))
			if err != nil {
				t.Fatal(err)
			}
			from := "1.0.0"
			for i, v := range []string{"1.1.0", "1.2.0", "1.3.0"} {
				f.repo.Publish(v, []byte("app "+v))
				res, err := u.Check(context.Background())
				if err != nil || !res.Updated || res.From != from || res.To != v {
					t.Fatalf("update %d: %+v, %v; want %s -> %s", i+1, res, err, from, v)
				}
				if got := content(t, f.target); got != "app "+v {
					t.Fatalf("update %d: target %q, want app %s", i+1, got, v)
				}
				lines := lr.lines()
				if len(lines) != i+1 || !contains(lines[i], fmt.Sprintf("%q", "app "+v), "<nil>") {
					t.Fatalf("update %d: restarts logged %q", i+1, lines)
				}
				s := readStateFile(t, f.state)
				if s.Pending == nil || s.Pending.Version != v || s.Pending.From != from {
					t.Fatalf("update %d: pending %+v, want %s from %s", i+1, s.Pending, v, from)
				}
				from = v
			}
			// Nothing newer: the fourth look installs nothing.
			if res, err := u.Check(context.Background()); err != nil || res.Updated {
				t.Fatalf("fourth Check = %+v, %v", res, err)
			}
			if n := len(lr.lines()); n != 3 {
				t.Fatalf("%d restarts, want 3", n)
			}
		})
	}
}
