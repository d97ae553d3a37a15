package collect

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/agent/deploylog"
	"github.com/molt-go/update/step"
)

// HaltRule says when the failures of a release are enough to halt its
// rollout: at least MinMachines machines failed it, and they are at least
// Percent of the machines that tried it. A MinMachines below 1 never halts.
type HaltRule struct {
	MinMachines int
	Percent     float64
}

// DefaultHaltRule halts at 3 machines and 5% of those that tried: one
// machine with a full disk does not stop a rollout, three that fail out
// of a few dozen do.
var DefaultHaltRule = HaltRule{MinMachines: 3, Percent: 5}

// Counts are the distinct machines that tried a release and those of them
// that failed it.
type Counts struct {
	Tried, Failed int
}

// Halt is the rule's verdict on counts, and why, in words for the
// rollouts file and the status. It is pure.
func (r HaltRule) Halt(c Counts) (bool, string) {
	if r.MinMachines < 1 || c.Failed < r.MinMachines || c.Tried <= 0 {
		return false, ""
	}
	share := 100 * float64(c.Failed) / float64(c.Tried)
	if share < r.Percent {
		return false, ""
	}
	return true, fmt.Sprintf("%d of %d machines that tried it reported a failure or a rollback (%.0f%%; the halt is at %d machines and %g%%)",
		c.Failed, c.Tried, share, r.MinMachines, r.Percent)
}

// failing lists the steps whose failure counts against the release: the
// release itself did not work, as opposed to the network or the disk.
var failing = map[step.Name]bool{step.Probe: true, step.Apply: true, step.Restart: true}

// Tally counts, per app and release, the distinct machines that reported
// trying it and those that reported a failure of its probe, apply or
// restart, or a rollback from it, with the time of each machine's latest
// try and failure. It is safe for concurrent use; the zero value is ready.
type Tally struct {
	mu       sync.Mutex
	releases map[release]*machines
}

type release struct{ app, version string }

type machines struct {
	tried, failed map[string]time.Time // by machine: when it last tried, last failed
}

// Add counts a step of an update as stored in the deployment log, seen at
// time at. It returns the release the step is about, and whether the step
// is a failure of it.
func (t *Tally) Add(s deploylog.StepLog, at time.Time) (app, version string, failed bool) {
	v := s.To
	if s.Step == step.Rollback {
		// A rollback goes from the release back to the one before it.
		v = s.From
	}
	if v == "" || !step.IsUpdate(s.Step) {
		return "", "", false
	}
	v = norm(v)
	failed = s.Step == step.Rollback || (failing[s.Step] && s.Error != "")
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.releases == nil {
		t.releases = make(map[release]*machines)
	}
	k := release{s.Project, v}
	m := t.releases[k]
	if m == nil {
		m = &machines{tried: map[string]time.Time{}, failed: map[string]time.Time{}}
		t.releases[k] = m
	}
	if at.After(m.tried[s.Machine]) {
		m.tried[s.Machine] = at
	}
	if failed && at.After(m.failed[s.Machine]) {
		m.failed[s.Machine] = at
	}
	return s.Project, v, failed
}

// Counts counts the machines that tried app at version, and failed it,
// at since or later (all, for the zero time).
func (t *Tally) Counts(app, version string, since time.Time) Counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.releases[release{app, norm(version)}]
	if m == nil {
		return Counts{}
	}
	var c Counts
	for _, at := range m.tried {
		if !at.Before(since) {
			c.Tried++
		}
	}
	for _, at := range m.failed {
		if !at.Before(since) {
			c.Failed++
		}
	}
	return c
}

// TallyOf counts the steps of the deployments in a log, each at its end
// (its start if it has none).
func TallyOf(ds []deploylog.Deployment) *Tally {
	t := &Tally{}
	for _, d := range ds {
		for _, s := range d.Steps {
			at := s.End
			if at.IsZero() {
				at = s.Start
			}
			t.Add(s, at)
		}
	}
	return t
}

func norm(v string) string {
	if sv, err := semver.NewVersion(v); err == nil {
		return sv.String()
	}
	return v
}

// Watch is a deploylog.Store that counts every step stored through it in
// Tally and, when a failure comes in, asks Halt to halt the rollout of the
// release if Rule says so. Give it to a Collector as its Store: the
// collector stores every event it takes as a step.
type Watch struct {
	deploylog.Store
	// Tally counts the steps; seed it with TallyOf the log's history.
	// Required.
	Tally *Tally
	// Rule decides. The zero rule never halts.
	Rule HaltRule
	// Halt halts the rollout of app at version if judge, given when the
	// rollout was set or last resumed, says so (see server.Server.Halt).
	// Required.
	Halt func(app, version string, judge func(since time.Time) (bool, string)) (bool, error)
	// Logger receives a line per halt and per failed one. If nil,
	// slog.Default().
	Logger *slog.Logger

	now func() time.Time // test seam; nil means time.Now
}

var _ deploylog.Store = (*Watch)(nil)

// AddStep stores s, counts it, and may halt its release's rollout. A halt
// that fails is logged, not returned: the step is stored.
func (w *Watch) AddStep(ctx context.Context, s *deploylog.StepLog) error {
	if err := w.Store.AddStep(ctx, s); err != nil {
		return err
	}
	now := time.Now
	if w.now != nil {
		now = w.now
	}
	// The server's clock, not the machine's: a halt counts from a time
	// the server set.
	app, version, failed := w.Tally.Add(*s, now())
	if !failed || w.Rule.MinMachines < 1 {
		return nil
	}
	judge := func(since time.Time) (bool, string) {
		return w.Rule.Halt(w.Tally.Counts(app, version, since))
	}
	log := w.Logger
	if log == nil {
		log = slog.Default()
	}
	halted, err := w.Halt(app, version, judge)
	switch {
	case err != nil:
		log.Error("deploy: cannot halt a failing rollout", "app", app, "version", version, "err", err)
	case halted:
		c := w.Tally.Counts(app, version, time.Time{})
		log.Warn("deploy: rollout halted", "app", app, "version", version, "tried", c.Tried, "failed", c.Failed)
	}
	return nil
}
