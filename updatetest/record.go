package updatetest

import (
	"context"
	"os"
	"sync"

	"github.com/molt-go/update/apply"
	"github.com/molt-go/update/restart"
)

// Restarter records the restarts the updater asks for and starts nothing.
// Outcome is what it says it did (restart.NotStarted unless set, so the
// updater may go on updating); Err, if set, makes every restart fail.
type Restarter struct {
	Outcome restart.Outcome
	Err     error

	mu    sync.Mutex
	calls []string
}

var _ restart.Restarter = (*Restarter)(nil)

// Restart records exe and returns Outcome and Err.
func (r *Restarter) Restart(_ context.Context, exe string) (restart.Outcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, exe)
	if r.Err != nil {
		return restart.NotStarted, r.Err
	}
	return r.Outcome, nil
}

// Calls returns the executables restarted into, in order.
func (r *Restarter) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// Applier records what the updater installs and reverts, and passes each
// call on to Next (if nil, &apply.Replace{}, the updater's default), so the
// target file really changes. ApplyErr or RevertErr, if set, make those
// calls fail without touching the target, and the staged file is removed
// as a failing applier must.
type Applier struct {
	Next      apply.Applier
	ApplyErr  error
	RevertErr error

	mu      sync.Mutex
	applied []apply.Change
	reverts []string
}

var _ apply.Applier = (*Applier)(nil)

func (a *Applier) next() apply.Applier {
	if a.Next == nil {
		a.Next = &apply.Replace{}
	}
	return a.Next
}

// Stage passes on to Next.
func (a *Applier) Stage(target string) (*os.File, error) {
	a.mu.Lock()
	n := a.next()
	a.mu.Unlock()
	return n.Stage(target)
}

// Apply records c and passes it on, or fails with ApplyErr.
func (a *Applier) Apply(ctx context.Context, c apply.Change) error {
	a.mu.Lock()
	a.applied = append(a.applied, c)
	n, err := a.next(), a.ApplyErr
	a.mu.Unlock()
	if err != nil {
		os.Remove(c.Staged)
		return err
	}
	return n.Apply(ctx, c)
}

// Revert records target and passes it on, or fails with RevertErr.
func (a *Applier) Revert(ctx context.Context, target string) error {
	a.mu.Lock()
	a.reverts = append(a.reverts, target)
	n, err := a.next(), a.RevertErr
	a.mu.Unlock()
	if err != nil {
		return err
	}
	return n.Revert(ctx, target)
}

// Applied returns the changes applied, in order (failed ones included).
func (a *Applier) Applied() []apply.Change {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]apply.Change(nil), a.applied...)
}

// Reverts returns the targets reverted, in order.
func (a *Applier) Reverts() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.reverts...)
}
