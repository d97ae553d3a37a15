package update

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/molt-go/update/internal/lock"
)

// startup finishes what an earlier run left in the state directory: a
// rollback cut short by a crash, or a pending version that has now started
// too often without confirming. It runs from New.
func (u *Updater) startup(ctx context.Context) error {
	lk, err := lock.TryLock(u.lockPath())
	if errors.Is(err, lock.ErrLocked) {
		// Another process is mid-update: during a handoff that is our
		// parent waiting for us to be ready. It owns the state, so count
		// nothing; but if we are the pending version, the confirm deadline
		// still runs (state is written atomically, so a read is safe).
		if s, err := loadState(u.o.StateDir); err == nil && s.Pending != nil && !s.Pending.RollingBack && sameVersion(s.Pending.Version, u.o.Version) {
			u.armDeadline(s.Pending.Since)
		}
		return nil
	}
	if err != nil {
		return &Error{Step: StepRollback, From: u.o.Version, Err: err}
	}
	s, err := loadState(u.o.StateDir)
	if err != nil {
		lk.Unlock()
		return &Error{Step: StepRollback, From: u.o.Version, Err: err}
	}
	p := s.Pending
	if p == nil {
		lk.Unlock()
		return nil
	}
	switch {
	case p.RollingBack && sameVersion(p.From, u.o.Version):
		// The rollback got as far as putting the old binary back, and we
		// are it; only the bookkeeping is left.
		s.markBad(p.Version)
		s.Pending = nil
		err := saveState(u.o.StateDir, s)
		lk.Unlock()
		if err != nil {
			return &Error{Step: StepRollback, From: u.o.Version, Err: err}
		}
		return nil
	case !sameVersion(p.Version, u.o.Version):
		lk.Unlock()
		return nil
	}
	p.Starts++
	expired := u.o.ConfirmTimeout > 0 && u.now().Sub(p.Since) > u.o.ConfirmTimeout
	if !p.RollingBack && p.Starts <= u.o.MaxStarts && !expired {
		err := saveState(u.o.StateDir, s)
		lk.Unlock()
		if err != nil {
			return &Error{Step: StepRollback, From: u.o.Version, Err: err}
		}
		u.armDeadline(p.Since)
		return nil
	}
	why := fmt.Sprintf("started %d times without confirming", p.Starts)
	if expired {
		why = fmt.Sprintf("not confirmed within %v", u.o.ConfirmTimeout)
	}
	u.log.Warn("update: rolling back", "version", p.Version, "to", p.From, "why", why)
	err = u.rollback(ctx, s)
	lk.Unlock()
	if err != nil {
		return &Error{Step: StepRollback, From: u.o.Version, Err: err}
	}
	return u.restartRolledBack(ctx, p.From, why)
}

// rollback puts the previous binary back and marks the pending release
// bad. It records that it began first, so a crash halfway is finished by
// the next start. The caller holds the lock.
func (u *Updater) rollback(ctx context.Context, s *state) error {
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
	if err := u.o.Applier.Revert(ctx, p.Target); err != nil {
		return st.end(err)
	}
	s.markBad(p.Version)
	s.Pending = nil
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
	lk, err := lock.TryLock(u.lockPath())
	if err != nil {
		return lockErr(err)
	}
	s, err := loadState(u.o.StateDir)
	if err != nil || s.Pending == nil || !sameVersion(s.Pending.Version, u.o.Version) {
		lk.Unlock()
		return err
	}
	from := s.Pending.From
	err = u.rollback(ctx, s)
	lk.Unlock()
	if err != nil {
		return err
	}
	return u.restartRolledBack(ctx, from, fmt.Sprintf("not confirmed within %v", u.o.ConfirmTimeout))
}
