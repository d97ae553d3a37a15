package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/molt-go/update/step"

	"github.com/molt-go/update/restart"
)

// Errors returned by Supervisor, to be tested with errors.Is.
var (
	// ErrUnhealthy means the new child exited or did not pass its health
	// check in time; it was stopped and the previous one serves (again).
	ErrUnhealthy = errors.New("supervise: new child never became healthy")
	// ErrRollbackFailed means that after a failed switch the previous child
	// could not be brought back either: nothing serves.
	ErrRollbackFailed = errors.New("supervise: rollback to the previous child failed")
	// ErrNoCommand means Supervisor.Args is empty.
	ErrNoCommand = errors.New("supervise: Supervisor.Args is empty")
	// ErrExited is the error of a StepCrash: the child exited while no
	// Switch or Stop asked it to. It wraps the exit status as well.
	ErrExited = errors.New("supervise: child exited on its own")
)

// SwitchMode says when Supervisor stops the old child.
type SwitchMode int

const (
	// StopFirst, the default, stops the old child, then starts the new one
	// and waits until it is healthy. If it never is, it is stopped and the
	// old child is started again in its own workspace. Serving pauses for
	// the stop and start, but both versions may use the same port. Build
	// the next version before switching, so the pause is short.
	StopFirst SwitchMode = iota
	// StartFirst starts the new child while the old one still serves and
	// stops the old one only once the new one is healthy; if it never is,
	// the new one is stopped and the old one never noticed. Both run at the
	// same time, so they cannot both bind the same port: the program must
	// listen with SO_REUSEPORT, or take its port from the environment or
	// its workspace, and Health must ask the new child, not the old one.
	StartFirst
)

// Defaults of Supervisor.
const (
	DefaultStopTimeout    = 10 * time.Second
	DefaultHealthTimeout  = 30 * time.Second
	DefaultHealthInterval = 200 * time.Millisecond
)

// Supervisor runs a program as a child process and replaces it with newer
// versions, each in a workspace (a directory) of its own: an agent builds
// the next version in a fresh workspace while the current one serves, then
// calls Switch with that workspace.
//
// Each child runs in its own process group with the workspace as its
// working directory. It is stopped gracefully: SIGTERM to the group, then,
// after StopTimeout, SIGKILL to the group, so helpers it started die with
// it. (On windows there is no graceful stop: the child is killed.)
//
// After a successful switch the workspace before the previous one is
// removed; the previous one is kept so that a failed switch can restart it.
//
// A child that exits on its own, whatever its status, is started again in
// the same workspace after a backoff: RestartDelay after a first crash,
// doubling after each crash that follows quickly, up to MaxRestartDelay.
// A Switch or a Stop during the backoff cancels the pending restart. A new
// child that exits during its switch is not restarted: the switch fails
// and rolls back instead. Set NoRestart to leave a dead child dead until
// the next Switch.
//
// Set the fields before the first call; the zero value runs nothing, since
// Args is required. Its methods may be called from several goroutines; they
// take turns.
type Supervisor struct {
	// Args is the command line of the program, Args[0] included. A relative
	// Args[0] with a path separator ("./app", "bin/app") is taken relative
	// to the workspace; a bare name is looked up in PATH. Required.
	Args []string
	// Env is the child's environment as "key=value" strings. If nil, the
	// default os.Environ().
	Env []string
	// Stdout and Stderr receive the child's output. If nil, os.Stdout and
	// os.Stderr.
	Stdout, Stderr io.Writer
	// Mode is when the old child is stopped. The default is StopFirst.
	Mode SwitchMode
	// Health tells whether a child is serving. If nil, a child that has
	// started counts as healthy at once (it is only checked that it did not
	// exit straight away).
	Health HealthCheck
	// HealthTimeout bounds the wait for a new child to become healthy. If
	// zero, DefaultHealthTimeout (30s).
	HealthTimeout time.Duration
	// HealthInterval is the pause between health checks. If zero,
	// DefaultHealthInterval (200ms).
	HealthInterval time.Duration
	// StopTimeout is how long a child may take to exit after SIGTERM before
	// its group is killed. If zero, DefaultStopTimeout (10s).
	StopTimeout time.Duration
	// KeepWorkspaces keeps every workspace; by default those no longer
	// needed (older than the previous one, or of a failed child) are removed.
	KeepWorkspaces bool
	// NoRestart turns crash restarts off. By default (false) a child that
	// exits on its own is started again after a backoff.
	NoRestart bool
	// RestartDelay is the pause before restarting a child that exited on
	// its own; it doubles after each quick crash. If zero,
	// DefaultRestartDelay (1s).
	RestartDelay time.Duration
	// MaxRestartDelay bounds the doubled pause. If zero,
	// DefaultMaxRestartDelay (30s); never less than RestartDelay.
	MaxRestartDelay time.Duration
	// RestartResetAfter is how long a child must have run for its crash to
	// count as a first one again, with the pause back at RestartDelay. If
	// zero, DefaultRestartResetAfter (10s).
	RestartResetAfter time.Duration
	// OnStep, if not nil, is told of each step as it ends: those of a
	// switch (stop, start, health, rollback), from the goroutine calling
	// Switch, and a child's crash and restart, from the supervisor's own
	// goroutine. Calls never overlap.
	OnStep func(SwitchStep)

	mu    sync.Mutex
	cur   *child   // the running child (or the one that crashed), nil if none
	prev  string   // the previous child's workspace, kept for rollback
	watch *watcher // restarts cur when it crashes, nil if none
}

var _ restart.Restarter = (*Supervisor)(nil)

// Steps of a switch, as SwitchStep.Name.
const (
	StepStop     = step.Stop     // stop a child (its group)
	StepStart    = step.Start    // start a child
	StepHealth   = step.Health   // wait until a child is healthy
	StepRollback = step.Rollback // start the previous child again
	StepCrash    = step.Crash    // the child exited on its own (from its start to its exit)
	StepRestart  = step.Restart  // start a crashed child again, after a backoff
)

// SwitchStep reports one step of Switch, or a crash and restart.
type SwitchStep struct {
	Name       step.Name // StepStop, StepStart, StepHealth, StepRollback, StepCrash or StepRestart
	Workspace  string    // the workspace of the child the step is about
	PID        int       // the child's PID, 0 if it did not start
	Start, End time.Time
	// Delay is, for StepRestart, the backoff waited before Start.
	Delay time.Duration
	// Err is nil if the step succeeded. For StepCrash it wraps ErrExited
	// and the exit status (an *exec.ExitError, if the child had one).
	Err error
}

// child is one running program.
type child struct {
	dir  string
	args []string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has been waited for
	err  error         // Wait's result, set before done closes

	started, ended time.Time // ended is set before done closes
}

// Switch runs the program in workspace in place of the current child (or
// as the first one), in the order Mode says. It returns nil once the new
// child is healthy and the old one stopped. Otherwise the new child is
// stopped, the old one serves, and the error wraps ErrUnhealthy (or the
// start error); if the old one cannot be brought back, it also wraps
// ErrRollbackFailed.
func (s *Supervisor) Switch(ctx context.Context, workspace string) error {
	if len(s.Args) == 0 {
		return ErrNoCommand
	}
	dir, err := filepath.Abs(workspace)
	if err != nil {
		return fmt.Errorf("supervise: %w", err)
	}
	return s.switchTo(ctx, dir, s.Args)
}

// Restart implements restart.Restarter for an updater that keeps the
// supervised program's executable up to date: it runs exe, with Args[1:]
// as arguments, in exe's directory, in place of the current child, as
// Switch does, and says restart.RestartedOther: the supervisor itself goes
// on, and may update its child again.
func (s *Supervisor) Restart(ctx context.Context, exe string) (restart.Outcome, error) {
	exe, err := filepath.Abs(exe)
	if err != nil {
		return restart.NotStarted, fmt.Errorf("supervise: %w", err)
	}
	args := []string{exe}
	if len(s.Args) > 1 {
		args = append(args, s.Args[1:]...)
	}
	if err := s.switchTo(ctx, filepath.Dir(exe), args); err != nil {
		return restart.NotStarted, err
	}
	return restart.RestartedOther, nil
}

// PID is the process ID of the running child, 0 if none runs.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || s.cur.exited() {
		return 0
	}
	return s.cur.cmd.Process.Pid
}

// Workspace is the workspace of the current child, "" if there is none.
func (s *Supervisor) Workspace() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return ""
	}
	return s.cur.dir
}

// Stop stops the current child (gracefully, then its group by force) and
// keeps its workspace; a pending crash restart is cancelled, and none
// happens once Stop has returned. A later Switch starts from nothing.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	var err error
	if s.cur != nil {
		err = s.stop(s.cur)
	}
	watched := s.setCur(nil)
	s.mu.Unlock()
	// The watcher may be waiting for s.mu, or stopping its crashed child's
	// leftovers: it returns at once when it sees it was cancelled.
	if watched != nil {
		<-watched
	}
	return err
}

func (s *Supervisor) switchTo(ctx context.Context, dir string, args []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// An old child that died on its own has nothing to stop, but its
	// workspace is still the one to go back to.
	old := s.cur
	if s.Mode == StopFirst && old != nil && !old.exited() {
		start := time.Now()
		s.report(StepStop, old, start, s.stop(old))
	}

	next, err := s.startStep(dir, args)
	if err == nil {
		err = s.healthStep(ctx, next)
		if err != nil {
			start := time.Now()
			s.report(StepStop, next, start, s.stop(next))
		}
	}
	if err != nil {
		s.discard(dir, old)
		if old == nil || (s.Mode == StartFirst && !old.exited()) {
			return err
		}
		// StopFirst, or an old child that died meanwhile: start it again.
		back, rerr := s.rollback(ctx, old)
		if rerr != nil {
			s.setCur(nil)
			return fmt.Errorf("%w (%w: %w)", err, ErrRollbackFailed, rerr)
		}
		s.setCur(back)
		return err
	}

	if s.Mode == StartFirst && old != nil && !old.exited() {
		start := time.Now()
		s.report(StepStop, old, start, s.stop(old))
	}
	s.setCur(next)
	if old != nil && old.dir != dir {
		older := s.prev
		s.prev = old.dir
		s.discard(older, old)
	}
	return nil
}

// rollback starts old's program again in old's workspace.
func (s *Supervisor) rollback(ctx context.Context, old *child) (*child, error) {
	// The caller's context may be what ended the switch; the rollback must
	// still run, bounded by its own health timeout.
	ctx = context.WithoutCancel(ctx)
	start := time.Now()
	back, err := s.start(old.dir, old.args)
	if err == nil {
		err = s.waitHealthy(ctx, back)
		if err != nil {
			s.stop(back)
		}
	}
	s.report(StepRollback, back, start, err)
	return back, err
}

func (s *Supervisor) startStep(dir string, args []string) (*child, error) {
	start := time.Now()
	c, err := s.start(dir, args)
	if c == nil {
		c = &child{dir: dir}
	}
	s.report(StepStart, c, start, err)
	return c, err
}

func (s *Supervisor) healthStep(ctx context.Context, c *child) error {
	start := time.Now()
	err := s.waitHealthy(ctx, c)
	s.report(StepHealth, c, start, err)
	return err
}

// discard removes the workspace dir unless it is kept or still in use.
func (s *Supervisor) discard(dir string, inUse *child) {
	if s.KeepWorkspaces || dir == "" || dir == s.prev || (inUse != nil && inUse.dir == dir) || (s.cur != nil && s.cur.dir == dir) {
		return
	}
	os.RemoveAll(dir)
}

func (s *Supervisor) report(name step.Name, c *child, start time.Time, err error) {
	s.reportStep(SwitchStep{Name: name, Start: start, Err: err}, c)
}

// reportStep completes st with c's workspace and PID, and its end if not
// set, and hands it to OnStep. s.mu must be held, so calls never overlap.
func (s *Supervisor) reportStep(st SwitchStep, c *child) {
	if s.OnStep == nil {
		return
	}
	if st.End.IsZero() {
		st.End = time.Now()
	}
	if c != nil {
		st.Workspace = c.dir
		if c.cmd != nil && c.cmd.Process != nil {
			st.PID = c.cmd.Process.Pid
		}
	}
	s.OnStep(st)
}

// start starts args in dir in a process group of its own.
func (s *Supervisor) start(dir string, args []string) (*child, error) {
	name := args[0]
	if !filepath.IsAbs(name) && filepath.Base(name) != name {
		name = filepath.Join(dir, name)
	}
	cmd := exec.Command(name, args[1:]...)
	cmd.Dir = dir
	cmd.Env = s.Env
	cmd.Stdout, cmd.Stderr = s.Stdout, s.Stderr
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	// A helper the child started may hold its output pipe after the
	// child is gone; Wait must not wait for it.
	cmd.WaitDelay = time.Second
	setGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("supervise: start %s in %s: %w", args[0], dir, err)
	}
	c := &child{dir: dir, args: args, cmd: cmd, done: make(chan struct{}), started: time.Now()}
	go func() {
		c.err = cmd.Wait()
		c.ended = time.Now()
		close(c.done)
	}()
	return c, nil
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (s *Supervisor) stopTimeout() time.Duration {
	if s.StopTimeout > 0 {
		return s.StopTimeout
	}
	return DefaultStopTimeout
}

// stop ends c's process group: see stopGroup.
func (s *Supervisor) stop(c *child) error {
	return stopGroup(c, s.stopTimeout())
}
