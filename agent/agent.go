package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/molt-go/update/agent/supervise"

	"github.com/molt-go/update/agent/deploylog"

	"github.com/molt-go/update/agent/git"
	"github.com/molt-go/update/source"
)

// DefaultMaxOutput is how much of a step's output is kept when
// Options.MaxOutput is zero: enough for any compiler's complaint.
const DefaultMaxOutput = 256 << 10

// Options configures an Agent. Repo, and Supervisor or Publisher, are
// required; the zero value of every other field works.
type Options struct {
	// Repo is the branch to follow and how to build it. Required.
	Repo *git.Repo
	// Publisher, if not nil, publishes each commit that builds (and, with
	// a Supervisor, that became healthy here) as a release of a feed.
	Publisher Publisher
	// Supervisor runs the program. Required unless Publisher is set: then
	// nil means the agent only builds and publishes. The agent sets its OnStep
	// (calling any OnStep already set as well) to log the switch's steps,
	// and the program's crashes and restarts as steps of the deployment
	// that put the crashed version in place.
	Supervisor *supervise.Supervisor
	// Store keeps the deployment log. If nil, a MemoryStore.
	Store deploylog.Store
	// Project names the program in the log. If empty, the repository's
	// base name without ".git".
	Project string
	// Machine names this machine in the log. If empty, os.Hostname().
	Machine string
	// Interval is how often the branch is polled. If zero,
	// git.DefaultInterval (a minute); Repo.Hook triggers a check at once.
	Interval time.Duration
	// MaxOutput bounds the output kept per step. If zero, DefaultMaxOutput.
	MaxOutput int
	// Logger receives a line per check that fails and per deployment. If
	// nil, slog.Default().
	Logger *slog.Logger
}

// Agent keeps a program at the head of a branch: detect a new commit, fetch
// it into a new workspace, build it while the current version serves,
// switch, wait until healthy (or roll back), and log every step. With a
// Publisher it also (or, with no Supervisor, only) publishes each commit
// as a release of a feed: see Publisher.
type Agent struct {
	o     Options
	store deploylog.Store
	log   *slog.Logger

	mu      sync.Mutex            // one check at a time
	tried   string                // the last commit deployed or attempted
	running string                // the version that serves, "" if none
	cur     *deploylog.Deployment // the deployment under way, for OnStep

	statusMu sync.Mutex
	status   deploylog.CheckStatus
	serving  *deploylog.Deployment // the deployment of the version that serves, for crash steps
}

// New checks o and returns an Agent; Run starts it.
func New(o Options) (*Agent, error) {
	if o.Repo == nil || (o.Supervisor == nil && o.Publisher == nil) {
		return nil, errors.New("agent: Options.Repo, and Supervisor or Publisher, are required")
	}
	if o.Store == nil {
		o.Store = &deploylog.MemoryStore{}
	}
	if o.Project == "" {
		o.Project = strings.TrimSuffix(path.Base(strings.ReplaceAll(strings.TrimRight(o.Repo.URL(), `/\`), `\`, "/")), ".git")
	}
	if o.Machine == "" {
		o.Machine, _ = os.Hostname()
	}
	if o.MaxOutput <= 0 {
		o.MaxOutput = DefaultMaxOutput
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	a := &Agent{o: o, store: o.Store, log: o.Logger}
	if o.Supervisor == nil {
		return a, nil
	}
	prev := o.Supervisor.OnStep
	o.Supervisor.OnStep = func(s supervise.SwitchStep) {
		if s.Name == supervise.StepCrash || s.Name == supervise.StepRestart {
			a.crashStep(s)
		} else {
			a.switchStep(s)
		}
		if prev != nil {
			prev(s)
		}
	}
	return a, nil
}

// Run checks the branch at once, then every Interval and on each push to
// the hook, deploying each new head, until ctx ends; then it stops the
// program. If the very first check finds no repository or no branch, Run
// returns that error (wrapping git.ErrNoRepo or git.ErrNoBranch) at once:
// it is a mistake in the configuration. Later failures are logged, shown
// on the page, and tried again.
func (a *Agent) Run(ctx context.Context) error {
	if _, err := a.Check(ctx); errors.Is(err, source.ErrNotFound) {
		return err
	}
	first := true
	a.o.Repo.Watch(ctx, a.o.Interval, func(ctx context.Context) {
		if first { // Run has just checked
			first = false
			return
		}
		a.Check(ctx)
	})
	if a.o.Supervisor == nil {
		return nil
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return a.o.Supervisor.Stop(stopCtx)
}

// Status is the outcome of the last check.
func (a *Agent) Status() deploylog.CheckStatus {
	a.statusMu.Lock()
	defer a.statusMu.Unlock()
	return a.status
}

// Check looks at the branch once and deploys its head if it was not
// deployed or tried yet. It returns the deployment, or nil when there was
// nothing new; a failed deployment is returned with its error. Errors of
// the look itself (no repository, no branch, network) are returned without
// a deployment, and nothing recorded before is touched.
func (a *Agent) Check(ctx context.Context) (*deploylog.Deployment, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := time.Now()
	head, err := a.o.Repo.Head(ctx)
	a.statusMu.Lock()
	a.status = deploylog.CheckStatus{Time: start, Head: head, Version: a.running}
	if err != nil {
		a.status.Error = err.Error()
	}
	a.statusMu.Unlock()
	if err != nil {
		a.log.Warn("agent: check", "repo", a.o.Repo.URL(), "branch", a.o.Repo.Branch(), "err", err)
		return nil, err
	}
	if head == a.tried {
		return nil, nil
	}
	if a.o.Supervisor == nil {
		if goOn, _ := a.preparePublish(ctx, head); !goOn {
			a.tried = head
			return nil, nil
		}
	}
	a.tried = head
	d := &deploylog.Deployment{
		Project: a.o.Project, Machine: a.o.Machine, From: a.running, To: head[:12],
		Commit: head, Status: deploylog.StatusRunning, Start: start,
	}
	if err := a.store.Create(ctx, d); err != nil {
		return nil, err
	}
	a.cur = d
	defer func() { a.cur = nil }()
	a.record(ctx, d, deploylog.StepDetect, start, time.Now(), nil, "head of "+a.o.Repo.Branch()+" is "+head)
	err = a.deploy(ctx, d)
	a.finish(ctx, d, err)
	return d, err
}

func (a *Agent) deploy(ctx context.Context, d *deploylog.Deployment) error {
	// Fetch and check out.
	out := newCapped(a.o.MaxOutput)
	start := time.Now()
	c, err := a.o.Repo.Fetch(ctx, d.Commit, out)
	ws := ""
	if err == nil {
		a.resolved(ctx, d, c)
		ws, err = a.o.Repo.Checkout(ctx, c, out)
		if err == nil {
			fmt.Fprintf(out, "checked out %s (%s) into %s\n", c.Hash, c.Version, ws)
		}
	}
	a.record(ctx, d, deploylog.StepFetch, start, time.Now(), err, out.String())
	if err != nil {
		// A fetch may fail for a passing reason (the network); unlike a
		// build, it is worth trying again at the next check.
		a.tried = ""
		return err
	}

	// Build while the current version serves.
	out = newCapped(a.o.MaxOutput)
	start = time.Now()
	err = a.o.Repo.Build(ctx, ws, out)
	release := ""
	if err == nil && a.o.Publisher != nil {
		release, err = a.buildRelease(ctx, d, c, ws, out)
	}
	a.record(ctx, d, deploylog.StepBuild, start, time.Now(), err, out.String())
	if err != nil {
		os.RemoveAll(ws)
		return err
	}

	// Switch; the supervisor reports stop, start, health and rollback.
	if a.o.Supervisor != nil {
		if err := a.o.Supervisor.Switch(ctx, ws); err != nil {
			return err
		}
	} else {
		// Nothing runs in it: the release's files are out of it.
		defer os.RemoveAll(ws)
	}
	if release != "" {
		if err := a.publish(ctx, d, release); err != nil {
			if a.o.Supervisor == nil {
				// Like a fetch, a publish may fail for a passing reason
				// (the store is down); the next check tries again, and
				// finds the release built.
				a.tried = ""
			}
			return err
		}
	}
	a.running = d.To
	return nil
}

// resolved records the version d deploys, now that it is known, in d and
// in the steps recorded so far (detect).
func (a *Agent) resolved(ctx context.Context, d *deploylog.Deployment, c git.Commit) {
	d.Subject = c.Subject
	a.versioned(ctx, d, c.Version)
}

// versioned records in d, and in its steps so far, the version it
// deploys: the commit's, or the release's when it is published.
func (a *Agent) versioned(ctx context.Context, d *deploylog.Deployment, version string) {
	d.To = version
	if err := a.store.Update(ctx, d); err != nil {
		a.log.Warn("agent: log", "err", err)
	}
	for i := range d.Steps {
		d.Steps[i].To = d.To
		if err := a.store.UpdateStep(ctx, &d.Steps[i]); err != nil {
			a.log.Warn("agent: log", "err", err)
		}
	}
}

// finish records how d ended.
func (a *Agent) finish(ctx context.Context, d *deploylog.Deployment, err error) {
	ctx = context.WithoutCancel(ctx) // a cancelled deployment is still logged
	now := time.Now()
	d.End = now
	if err != nil {
		d.Status, d.Error = deploylog.StatusFailed, err.Error()
		a.record(ctx, d, deploylog.StepFailed, now, now, err, "")
		a.log.Warn("agent: failed", "project", d.Project, "from", d.From, "to", d.To, "err", err)
	} else {
		d.Status = deploylog.StatusDone
		a.record(ctx, d, deploylog.StepDone, now, now, nil, "")
		a.log.Info("agent: done", "project", d.Project, "from", d.From, "to", d.To, "took", d.Duration())
	}
	if uerr := a.store.Update(ctx, d); uerr != nil {
		a.log.Warn("agent: log", "err", uerr)
	}
	a.statusMu.Lock()
	a.status.Version = a.running
	if err == nil {
		// A copy: crash steps come from another goroutine, and d is the
		// caller's once Check returns.
		serving := *d
		serving.Steps = nil
		a.serving = &serving
	}
	a.statusMu.Unlock()
}

// crashStep logs a crash or a restart of the program, which the supervisor
// reports from its own goroutine, at any time: to the logger, and as a
// step of the deployment whose version crashed.
func (a *Agent) crashStep(s supervise.SwitchStep) {
	if s.Name == supervise.StepCrash {
		a.log.Warn("agent: program exited", "pid", s.PID, "workspace", s.Workspace, "err", s.Err)
	} else if s.Err != nil {
		a.log.Warn("agent: restart failed", "workspace", s.Workspace, "after", s.Delay, "err", s.Err)
	} else {
		a.log.Info("agent: restarted", "pid", s.PID, "workspace", s.Workspace, "after", s.Delay)
	}
	a.statusMu.Lock()
	defer a.statusMu.Unlock()
	d := a.serving
	if d == nil { // a program the agent did not deploy
		return
	}
	note := fmt.Sprintf("pid %d in %s", s.PID, s.Workspace)
	if s.Name == supervise.StepRestart {
		note += fmt.Sprintf(", after %v", s.Delay)
	}
	a.record(context.Background(), d, deploylog.Step(s.Name), s.Start, s.End, s.Err, note)
}

// switchStep records a step of the supervisor's switch.
func (a *Agent) switchStep(s supervise.SwitchStep) {
	d := a.cur
	if d == nil { // a switch the agent did not start, such as Stop
		return
	}
	note := ""
	if s.PID != 0 {
		note = fmt.Sprintf("pid %d in %s", s.PID, s.Workspace)
	}
	a.record(context.Background(), d, deploylog.Step(s.Name), s.Start, s.End, s.Err, note)
}

// record adds a finished step to d.
func (a *Agent) record(ctx context.Context, d *deploylog.Deployment, step deploylog.Step, start, end time.Time, err error, output string) {
	st := &deploylog.StepLog{
		DeploymentID: d.ID, Step: step, Project: d.Project, Machine: d.Machine,
		From: d.From, To: d.To, Start: start, End: end, Output: output,
	}
	if err != nil {
		st.Error = err.Error()
	}
	if serr := a.store.AddStep(context.WithoutCancel(ctx), st); serr != nil {
		a.log.Warn("agent: log", "step", step, "err", serr)
	}
	d.Steps = append(d.Steps, *st)
}

// Handler serves, at POST /hook, the push trigger of the repository. The
// deployment pages are the package server's (server/pages), given the
// agent's store and Status.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/hook", a.o.Repo.Hook())
	return mux
}

// capped keeps the first max bytes written to it and counts the rest.
type capped struct {
	mu      sync.Mutex
	buf     []byte
	max     int
	dropped int64
}

func newCapped(max int) *capped { return &capped{max: max} }

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.max - len(c.buf)
	if room >= len(p) {
		c.buf = append(c.buf, p...)
	} else {
		c.buf = append(c.buf, p[:max(room, 0)]...)
		c.dropped += int64(len(p) - max(room, 0))
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped > 0 {
		return string(c.buf) + fmt.Sprintf("\n[%d more bytes not kept]\n", c.dropped)
	}
	return string(c.buf)
}
