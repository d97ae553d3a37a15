package update

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// startup finishes what an earlier run left in the state directory: a
// rollback cut short by a crash, or a pending version that has now started
// too often without confirming. It runs from New. What to do is decided
// by the pure startupPhase; this function only locks, reads, acts, saves.
func (u *Updater) startup(ctx context.Context) error {
	held, err := u.lockAll()
	if errors.Is(err, ErrInProgress) {
		// Another process is mid-update: during a handoff that is our
		// parent waiting for us to be ready. It owns the state, so count
		// nothing; but if we are the pending version, the confirm deadline
		// still runs (state is written atomically, so a read is safe).
		if s, err := loadState(u.o.StateDir); err == nil && s.Pending != nil && !s.Pending.RollingBack && u.pendingIsMe(s) {
			u.armDeadline(s.Pending.Since)
		}
		return nil
	}
	if err != nil {
		return &Error{Step: StepRollback, From: u.o.Version, Err: err}
	}
	from, why, err := u.startPhase(ctx)
	held.unlock()
	if err != nil {
		return &Error{Step: StepRollback, From: u.o.Version, Err: err}
	}
	if why == "" {
		return nil
	}
	return u.restartRolledBack(ctx, from, why)
}

// startPhase acts on the startup phase under the caller's locks. It
// returns why it rolled back, and to which version, or "" if it did not.
func (u *Updater) startPhase(ctx context.Context) (from, why string, err error) {
	s, err := loadState(u.o.StateDir)
	if err != nil {
		return "", "", err
	}
	if err := cleanStateDir(u.o.StateDir); err != nil {
		u.log.Warn("update: removing leftovers in the state directory", "err", err)
	}
	phase, why := startupPhase(s.Pending, u.o.Version, u.o.MaxStarts, u.o.ConfirmTimeout, u.now())
	p := s.Pending
	switch phase {
	case startClean:
		return "", "", nil
	case startFinishRollback:
		// The rollback got as far as putting the old binary back, and we
		// are it; only the bookkeeping is left.
		s.markBad(p.Version, "rolled back (finished at the next start)", u.now())
		s.Pending = nil
		return "", "", saveState(u.o.StateDir, s)
	case startCount:
		p.Starts++
		if err := saveState(u.o.StateDir, s); err != nil {
			return "", "", err
		}
		u.armDeadline(p.Since)
		return "", "", nil
	}
	u.log.Warn("update: rolling back", "version", p.Version, "to", p.From, "why", why)
	if err := u.rollback(ctx, s, why); err != nil {
		return "", "", err
	}
	return p.From, why, nil
}

// rollback puts the previous binary back and marks the pending release
// bad. It records that it began first, so a crash halfway is finished by
// the next start. A backup that is gone cannot come back: the pending
// record ends there, reported once, instead of failing at every start. The
// caller holds the locks.
func (u *Updater) rollback(ctx context.Context, s *state, why string) error {
	p := s.Pending
	if p == nil {
		return nil
	}
	st := u.begin(StepRollback, p.From)
	st.ev.From = p.Version
	p.RollingBack = true
	if err := saveState(u.o.StateDir, s); err != nil {
		return st.end(err)
	}
	err := u.o.Applier.Revert(ctx, p.Target)
	if errors.Is(err, ErrNoBackup) {
		// Terminal: the version that runs stays, and is no longer pending.
		s.markBad(p.Version, why+"; no backup to roll back to, so it stays installed", u.now())
		s.Pending, s.Previous = nil, ""
		if serr := saveState(u.o.StateDir, s); serr != nil {
			return st.end(errors.Join(err, serr))
		}
		return st.end(fmt.Errorf("%w: %s stays installed and is no longer pending: %w", ErrNoBackup, p.Version, err))
	}
	if err != nil {
		return st.end(err)
	}
	s.markBad(p.Version, why, u.now())
	s.Pending, s.Previous = nil, ""
	return st.end(saveState(u.o.StateDir, s))
}

// restartRolledBack starts the previous version after a rollback. If the
// restarter returns (restart.None, or a failure), the caller must exit.
func (u *Updater) restartRolledBack(ctx context.Context, from, why string) error {
	cause := fmt.Errorf("%w: %s", ErrRolledBack, why)
	if out, err := u.o.Restarter.Restart(ctx, u.o.Target); err != nil {
		cause = fmt.Errorf("%w; restarting the previous version: %w", cause, err)
	} else {
		u.restarted(out)
	}
	return &Error{Step: StepRollback, From: u.o.Version, To: from, Err: cause}
}

// armDeadline rolls the running pending version back if Confirm has not
// come by the deadline.
func (u *Updater) armDeadline(since time.Time) {
	if u.o.ConfirmTimeout <= 0 {
		return
	}
	// Under u.mu, which deadline takes first: a deadline already past
	// fires at once, and must not set u.timer while this still does.
	u.mu.Lock()
	defer u.mu.Unlock()
	u.timer = time.AfterFunc(u.o.ConfirmTimeout-u.now().Sub(since), u.deadline)
}

// deadlineRetry is how soon the deadline tries again when another process
// holds the lock: during a handoff that is the parent, which lets go as
// soon as this process has passed its probation.
const deadlineRetry = 500 * time.Millisecond

// deadline runs when the confirm deadline of the running pending version
// has passed.
func (u *Updater) deadline() {
	u.mu.Lock()
	defer u.mu.Unlock()
	err := u.rollbackNow(context.Background())
	switch {
	case err == nil:
	case u.replaced:
		u.log.Warn("update: rolled back at the confirm deadline; the previous version took over", "err", err)
	case errors.Is(err, ErrInProgress):
		u.log.Info("update: confirm deadline passed while another process holds the lock; trying again", "in", deadlineRetry)
		u.timer = time.AfterFunc(deadlineRetry, u.deadline)
	default:
		u.log.Error("update: rollback at the confirm deadline", "err", err)
	}
}

// rollbackNow rolls back the running version if it is still pending and
// restarts into the previous one.
func (u *Updater) rollbackNow(ctx context.Context) error {
	why := fmt.Sprintf("not confirmed within %v", u.o.ConfirmTimeout)
	var from string
	err := u.lockedNoSave(func(s *state) error {
		if !u.pendingIsMe(s) {
			return nil
		}
		from = s.Pending.From
		return u.rollback(ctx, s, why)
	})
	if err != nil || from == "" {
		return err
	}
	return u.restartRolledBack(ctx, from, why)
}

// lockedNoSave runs f on the state under both locks; f saves what it
// changes itself (a rollback saves twice, before and after).
func (u *Updater) lockedNoSave(f func(s *state) error) error {
	return u.locked(func(s *state) (bool, error) { return false, f(s) })
}
