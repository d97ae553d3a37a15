package update

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/internal/lock"
	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/updatetest"
)

// installed11 installs 1.1.0 ("new") over the 1.0.0 target ("old") of a
// fresh testOptions, and returns the options of 1.1.0's first start.
func installed11(t *testing.T) (newO Options, installedAt time.Time) {
	t.Helper()
	o := opts(t, newMem("1.1.0", []byte("new")))
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	installedAt = time.Now()
	if res, err := u.Check(context.Background()); err != nil || !res.Updated {
		t.Fatalf("installing 1.1.0: %+v, %v", res, err)
	}
	if got := content(t, o.Target); got != "new" {
		t.Fatalf("target %q after the install", got)
	}
	newO = o
	newO.Version = "1.1.0"
	return newO, installedAt
}

// TestConfirmDeadlineRollsBack: the pending version runs, never confirms,
// and is rolled back once ConfirmTimeout has passed since its install;
// the previous version is restarted into and the release marked bad.
func TestConfirmDeadlineRollsBack(t *testing.T) {
	t.Parallel()
	o, installedAt := installed11(t)
	o.ConfirmTimeout = 300 * time.Millisecond
	rs := &updatetest.Restarter{}
	o.Restarter = rs
	evs := new(events).record(&o)
	if _, err := New(o); err != nil {
		t.Fatalf("first start of 1.1.0: %v", err)
	}
	if s := readStateFile(t, o.StateDir); s.Pending == nil || s.Pending.Starts != 1 {
		t.Fatalf("pending %+v, want 1.1.0 counted once", s.Pending)
	}
	waitFor(t, 10*time.Second, "the rollback at the confirm deadline", func() bool { return len(rs.Calls()) == 1 })
	if d := time.Since(installedAt); d < o.ConfirmTimeout {
		t.Fatalf("rolled back after %v, before the deadline %v", d, o.ConfirmTimeout)
	}
	if got := rs.Calls(); got[0] != o.Target {
		t.Fatalf("restarted into %v, want the target", got)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q after the deadline, want old", got)
	}
	s := readStateFile(t, o.StateDir)
	if s.Pending != nil {
		t.Fatalf("still pending after the rollback: %+v", s.Pending)
	}
	if b := s.badMarkOf("1.1.0"); b == nil || b.Why != "not confirmed within 300ms" {
		t.Fatalf("bad marks %+v, want 1.1.0 not confirmed within 300ms", s.Bad)
	}
	rb := evs.of(StepRollback)
	if len(rb) != 1 || rb[0].From != "1.1.0" || rb[0].To != "1.0.0" || rb[0].Err != nil {
		t.Fatalf("rollback events %+v, want one from 1.1.0 to 1.0.0", rb)
	}
	// Only once, and a late Confirm changes nothing.
	time.Sleep(2 * o.ConfirmTimeout)
	if n := len(rs.Calls()); n != 1 {
		t.Fatalf("restarted %d times", n)
	}
}

// TestConfirmBeforeDeadlineKeeps: Confirm stops the deadline.
func TestConfirmBeforeDeadlineKeeps(t *testing.T) {
	t.Parallel()
	o, _ := installed11(t)
	o.ConfirmTimeout = 300 * time.Millisecond
	rs := &updatetest.Restarter{}
	o.Restarter = rs
	evs := new(events).record(&o)
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Confirm(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := evs.of(StepConfirm)
	if len(c) != 1 || c[0].From != "1.0.0" || c[0].To != "1.1.0" || c[0].Err != nil {
		t.Fatalf("confirm events %+v, want one from 1.0.0 to 1.1.0", c)
	}
	if err := u.Confirm(context.Background()); err != nil || len(evs.of(StepConfirm)) != 1 {
		t.Fatalf("second Confirm: %v, events %v: want a quiet no-op", err, evs.steps())
	}
	time.Sleep(3 * o.ConfirmTimeout)
	if n := len(rs.Calls()); n != 0 {
		t.Fatalf("restarted %d times after Confirm", n)
	}
	if got := content(t, o.Target); got != "new" {
		t.Fatalf("target %q after Confirm, want new", got)
	}
	if s := readStateFile(t, o.StateDir); s.Pending != nil || len(s.Bad) != 0 {
		t.Fatalf("state %+v after Confirm", s)
	}
}

// TestConfirmDeadlinePassedAtStart: a pending version that starts after
// its deadline (the machine was off) is rolled back by New.
func TestConfirmDeadlinePassedAtStart(t *testing.T) {
	t.Parallel()
	o, _ := installed11(t)
	o.ConfirmTimeout = time.Minute
	o.now = func() time.Time { return time.Now().Add(time.Hour) }
	rs := &updatetest.Restarter{}
	o.Restarter = rs
	_, err := New(o)
	var ue *Error
	if !errors.Is(err, ErrRolledBack) || !errors.As(err, &ue) || ue.Step != StepRollback || ue.To != "1.0.0" ||
		!strings.Contains(err.Error(), "not confirmed within 1m0s") {
		t.Fatalf("New after the deadline: %v, want ErrRolledBack to 1.0.0 for the deadline", err)
	}
	if n := len(rs.Calls()); n != 1 {
		t.Fatalf("restarted %d times, want once into 1.0.0", n)
	}
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q, want old", got)
	}
}

// TestConfirmDeadlineWaitsForTheLock: a pending version started while
// another process holds the locks (its parent, during a handoff) counts
// nothing, but its deadline still runs, and retries until the lock is free.
func TestConfirmDeadlineWaitsForTheLock(t *testing.T) {
	t.Parallel()
	o, _ := installed11(t)
	o.ConfirmTimeout = 200 * time.Millisecond
	rs := &updatetest.Restarter{}
	o.Restarter = rs
	logs := capture(&o)
	held := holdLocks(t, o)
	if _, err := New(o); err != nil {
		t.Fatalf("New while the locks are held: %v", err)
	}
	if s := readStateFile(t, o.StateDir); s.Pending == nil || s.Pending.Starts != 0 {
		t.Fatalf("pending %+v: a start under another's lock must not count", s.Pending)
	}
	waitFor(t, 10*time.Second, "the deadline to find the lock held", func() bool {
		return strings.Contains(logs.String(), "confirm deadline passed while another process holds the lock")
	})
	if n := len(rs.Calls()); n != 0 || content(t, o.Target) != "new" {
		t.Fatalf("rolled back under another's lock (%d restarts)", n)
	}
	held.unlock()
	waitFor(t, 10*time.Second, "the retried rollback", func() bool { return len(rs.Calls()) == 1 })
	if got := content(t, o.Target); got != "old" {
		t.Fatalf("target %q, want old", got)
	}
}

// holdLocks takes both locks an updater of o takes, as another process
// would; they are released by the returned locks' unlock or at the end.
func holdLocks(t *testing.T, o Options) locks {
	t.Helper()
	var held locks
	for _, p := range []string{(&Updater{o: o}).lockPath(), targetLockPath(o.Target)} {
		l, err := lock.TryLock(p)
		if err != nil {
			held.unlock()
			t.Fatal(err)
		}
		held = append(held, l)
	}
	t.Cleanup(held.unlock)
	return held
}

// TestConfirmDeadlineHandedOver: when the restart after a deadline
// rollback hands over to the previous version, this process never
// installs again.
func TestConfirmDeadlineHandedOver(t *testing.T) {
	t.Parallel()
	o, _ := installed11(t)
	o.ConfirmTimeout = 100 * time.Millisecond
	rs := &updatetest.Restarter{Outcome: restart.HandedOver}
	o.Restarter = rs
	logs := capture(&o)
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the rollback", func() bool { return len(rs.Calls()) == 1 })
	waitFor(t, 10*time.Second, "the log of the hand-over", func() bool {
		return strings.Contains(logs.String(), "the previous version took over")
	})
	if _, err := u.Check(context.Background()); !errors.Is(err, ErrInProgress) {
		t.Fatalf("Check after handing over: %v, want ErrInProgress", err)
	}
}

// TestConfirmErrors: Confirm of an updater that is off says nothing; one
// whose state went bad says so, naming the confirm step.
func TestConfirmErrors(t *testing.T) {
	t.Parallel()
	o := opts(t, newMem("1.1.0", []byte("new")))
	o.Version = "dev"
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Confirm(context.Background()); err != nil {
		t.Fatalf("Confirm of a dev build: %v", err)
	}

	o = opts(t, newMem("1.1.0", []byte("new")))
	u, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Confirm(context.Background()); err != nil {
		t.Fatalf("Confirm with nothing pending: %v", err)
	}
	writeFile(t, statePath(o.StateDir), []byte("{corrupt"))
	err = u.Confirm(context.Background())
	var ue *Error
	var se *StateError
	if !errors.Is(err, ErrState) || !errors.As(err, &ue) || ue.Step != StepConfirm || !errors.As(err, &se) || se.Path != statePath(o.StateDir) {
		t.Fatalf("Confirm on a corrupt state: %v, want ErrState at the confirm step naming the file", err)
	}
}

// TestConfirmUnderAnothersLock: a pending version confirming while another
// process holds the locks is told so, and stays pending.
func TestConfirmUnderAnothersLock(t *testing.T) {
	t.Parallel()
	o, _ := installed11(t)
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	held := holdLocks(t, o)
	if err := u.Confirm(context.Background()); !errors.Is(err, ErrInProgress) {
		t.Fatalf("Confirm under another's lock: %v, want ErrInProgress", err)
	}
	held.unlock()
	if s := readStateFile(t, o.StateDir); s.Pending == nil {
		t.Fatal("no longer pending after a failed Confirm")
	}
	if err := u.Confirm(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := readStateFile(t, o.StateDir); s.Pending != nil {
		t.Fatal("still pending after Confirm")
	}
}

// TestConfirmDeadlineAfterThePendingEnded: when the pending record ended
// elsewhere (another process confirmed, or installed another version),
// the deadline does nothing.
func TestConfirmDeadlineAfterThePendingEnded(t *testing.T) {
	t.Parallel()
	// The pending must end before the deadline fires, or the run proves
	// nothing: on a machine too slow for that (Wine under load), try again
	// with a longer deadline rather than fail or pass by chance.
	for _, timeout := range []time.Duration{200 * time.Millisecond, time.Second, 5 * time.Second} {
		o, _ := installed11(t)
		o.ConfirmTimeout = timeout
		rs := &updatetest.Restarter{}
		o.Restarter = rs
		started := time.Now()
		if _, err := New(o); err != nil {
			t.Fatal(err)
		}
		s := readStateFile(t, o.StateDir)
		s.Pending = nil
		if err := saveState(o.StateDir, s); err != nil {
			t.Fatal(err)
		}
		if time.Since(started) >= timeout/2 {
			t.Logf("ending the pending took %v of a %v deadline; again with a longer one", time.Since(started), timeout)
			continue
		}
		time.Sleep(3 * o.ConfirmTimeout)
		if len(rs.Calls()) != 0 || content(t, o.Target) != "new" {
			t.Fatal("rolled back a version that is no longer pending")
		}
		if s := readStateFile(t, o.StateDir); len(s.Bad) != 0 {
			t.Fatalf("marked bad: %+v", s.Bad)
		}
		return
	}
	t.Fatal("the machine never ended the pending in time to test the deadline")
}
