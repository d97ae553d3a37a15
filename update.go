package update

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/apply"
	"github.com/molt-go/update/internal/lock"
	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// Updater finds, downloads, verifies, installs and restarts into new
// versions of one program. Its methods are safe for concurrent use; updates
// run one at a time, within the process by a mutex and across processes by
// lock files on the state directory and on the executable.
type Updater struct {
	o       Options
	log     *slog.Logger
	machine string

	// off, when not nil, says why this updater never updates (a
	// development build, an unusable state directory); Check returns it.
	off     error
	offOnce sync.Once // off is logged once, not at every Watch round

	mu       sync.Mutex      // one update at a time in this process
	current  *semver.Version // the running version, or the one installed since
	timer    *time.Timer     // rolls back an unconfirmed version at its deadline
	replaced bool            // the Restarter handed over to another process; this one is on its way out

	installID atomic.Pointer[string] // this installation's ID, once the state has one
}

// Result says what Check, Find or Install did.
type Result struct {
	From, To string          // the running version, and the version found (empty if none)
	Updated  bool            // a new version was installed
	Release  *source.Release // the release chosen, if any
	Asset    *source.Asset   // its asset for this platform
	// Skipped lists newer releases that were passed over because they
	// failed here before (see Updater.Forget), newest first.
	Skipped []Skipped
	// NotYet lists newer releases that a staged rollout does not offer
	// this machine yet, newest first.
	NotYet []NotYet
}

// New returns an Updater. Call it first thing in main: it answers the
// probe that an updater runs on a staged binary before installing it, and
// it finishes what an earlier run left, rolling back a pending version
// that has started too often without Confirm (it then restarts into the
// previous version, or, if the restarter returns, returns an error
// wrapping ErrRolledBack: the caller should exit).
//
// New fails only for mistakes in the options. Trouble with the
// environment (no home directory, a corrupt state file, a read-only state
// folder) and development builds do not stop the program: New returns an
// Updater whose Check reports why it does not update (ErrState,
// ErrDevBuild), and the program goes on with its work.
func New(o Options) (*Updater, error) {
	answerProbe(o.Version)
	if err := o.validate(); err != nil {
		return nil, err
	}
	env := o.setDefaults()
	u := &Updater{o: o, log: o.Logger, machine: o.Machine, off: env}
	u.current, _ = semver.NewVersion(o.Version) // nil for a development build
	if u.off == nil {
		// The state dir holds the lock, so it must exist before anything else.
		if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
			u.off = &StateError{Path: o.StateDir, Err: err}
		}
	}
	if u.off == nil {
		u.off = o.devBuild()
	}
	if o.InsecureSkipVerify {
		u.log.Warn("update: InsecureSkipVerify is set: downloads are installed unverified")
	}
	if u.off != nil && !errors.Is(u.off, ErrDevBuild) {
		u.sayOff()
		return u, nil
	}
	if u.off != nil {
		u.sayOff()
		if u.current == nil {
			return u, nil
		}
		// A released version under go run keeps its state tidy all the
		// same (a pending version it is, say), but installs nothing.
	}
	if err := u.startup(context.Background()); err != nil {
		if errors.Is(err, ErrState) {
			u.off = err
			u.sayOff()
			return u, nil
		}
		return u, err
	}
	return u, nil
}

// sayOff logs, once, why this updater does not update.
func (u *Updater) sayOff() {
	u.offOnce.Do(func() {
		level := slog.LevelWarn
		if errors.Is(u.off, ErrDevBuild) {
			level = slog.LevelInfo
		}
		u.log.Log(context.Background(), level, "update: updating is off", "why", u.off)
	})
}

func (u *Updater) now() time.Time { return u.o.now() }

// Check looks for a newer release and, if there is one, downloads,
// verifies and installs it, then restarts into it with the Restarter. With
// restart.Exec a successful Check does not return. If the running version
// is the newest, Check returns a Result with Updated false and a nil error;
// Result.Skipped names newer releases passed over because they failed here.
func (u *Updater) Check(ctx context.Context) (*Result, error) {
	res, err := u.run(ctx, u.newest, true)
	if errors.Is(err, ErrUpToDate) {
		return res, nil
	}
	return res, err
}

// Find looks for a newer release without installing anything. It returns
// an error wrapping ErrUpToDate if there is none.
func (u *Updater) Find(ctx context.Context) (*Result, error) {
	return u.run(ctx, u.newest, false)
}

// Install installs the release with exactly the given version, even an
// older one (the only way to downgrade) or one marked bad (it says so in
// the log). The release must still be listed in trusted metadata and is
// verified like any other. Installing the running version does nothing and
// returns an error wrapping ErrUpToDate.
func (u *Updater) Install(ctx context.Context, version string) (*Result, error) {
	want, err := semver.NewVersion(version)
	if err != nil {
		return &Result{From: u.o.Version}, &Error{Step: StepFind, From: u.o.Version, Err: fmt.Errorf("version %q: %w", version, err)}
	}
	u.mu.Lock()
	cur := u.current
	u.mu.Unlock()
	if cur != nil && want.Equal(cur) {
		// Nothing to do, and nothing to ask the source: never a reinstall.
		return &Result{From: cur.Original(), To: cur.Original()}, &Error{Step: StepFind, From: cur.Original(), To: cur.Original(),
			Err: fmt.Errorf("%w: %s is the running version", ErrUpToDate, cur.Original())}
	}
	return u.run(ctx, func(l *source.Listing, s *state) (*candidate, []Skipped, []NotYet, error) {
		c, err := named(l.Releases, want, u.o.OS, u.o.Arch)
		if err == nil {
			if b := s.badMarkOf(c.version.Original()); b != nil {
				u.log.Warn("update: installing a release marked bad, as asked", "version", b.Version, "why", b.Why, "since", b.Since)
			}
		}
		return c, nil, nil, err
	}, true)
}

// Forget removes version's bad mark, so Check and Find offer it again:
// after a fix of the environment, or a republished build. It reports
// whether there was a mark.
func (u *Updater) Forget(version string) (bool, error) {
	if u.off != nil {
		return false, u.off
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	var had bool
	err := u.locked(func(s *state) (bool, error) {
		had = s.forget(version)
		return had, nil
	})
	return had, err
}

// Confirm tells the updater that the running version works. Until then it
// is pending and may be rolled back. When the running version is not
// pending, Confirm does nothing, so a program may call it at every start
// once it is healthy.
func (u *Updater) Confirm(ctx context.Context) error {
	if u.off != nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	s, err := loadState(u.o.StateDir)
	if err != nil {
		return &Error{Step: StepConfirm, From: u.o.Version, Err: err}
	}
	if !u.pendingIsMe(s) {
		return nil
	}
	st := u.begin(StepConfirm, "")
	return st.end(u.locked(func(s *state) (bool, error) {
		// Read again under the lock: the first look was only to stay
		// quiet when there is nothing to do.
		if !u.pendingIsMe(s) {
			return false, nil
		}
		st.ev.From, st.ev.To = s.Pending.From, s.Pending.Version
		s.Pending = nil
		if u.timer != nil {
			u.timer.Stop()
		}
		return true, nil
	}))
}

func (u *Updater) pendingIsMe(s *state) bool {
	return s.Pending != nil && sameVersion(s.Pending.Version, u.o.Version)
}

// picker chooses the release to install from a trusted listing.
type picker func(l *source.Listing, s *state) (*candidate, []Skipped, []NotYet, error)

// newest is the picker of Check and Find.
func (u *Updater) newest(l *source.Listing, s *state) (*candidate, []Skipped, []NotYet, error) {
	return chooser{
		current: u.current, channel: u.o.Channel, goos: u.o.OS, goarch: u.o.Arch, bad: s.badMarkOf,
		app: u.o.App, installID: s.InstallID, labels: u.o.Labels, now: u.now(), pins: l.Pins,
	}.choose(l.Releases)
}

func (u *Updater) run(ctx context.Context, pick picker, install bool) (*Result, error) {
	res := &Result{From: u.o.Version}
	// Find only looks, so a released version run by go run (or go test)
	// may still look; nothing else runs while updating is off.
	lookOnly := !install && u.current != nil && errors.Is(u.off, ErrDevBuild)
	if u.off != nil && !lookOnly {
		u.sayOff()
		return res, &Error{Step: StepFind, From: res.From, Err: u.off}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	res.From = u.current.Original()
	if u.replaced {
		// A Handoff returned: the new process owns the executable and the
		// state now, and this one only drains. Installing anything from here
		// would pull the binary from under the new process.
		return res, &Error{Step: StepFind, From: res.From, Err: fmt.Errorf("%w: this process has handed over to a new one", ErrInProgress)}
	}
	locks, err := u.lockAll()
	if err != nil {
		return res, &Error{Step: StepFind, From: res.From, Err: err}
	}
	defer locks.unlock()
	s, err := loadState(u.o.StateDir)
	if err != nil {
		return res, &Error{Step: StepFind, From: res.From, Err: err}
	}
	if install {
		u.clean()
	}
	c, skipped, notYet, err := u.find(ctx, s, pick)
	res.Skipped, res.NotYet = skipped, notYet
	if err != nil {
		return res, err
	}
	res.To, res.Release, res.Asset = c.version.Original(), &c.release, &c.asset
	if c.version.Equal(u.current) {
		// Never reinstall and restart into what runs: that is a loop.
		return res, &Error{Step: StepFind, From: res.From, To: res.To, Err: fmt.Errorf("%w: %s is the running version", ErrUpToDate, res.To)}
	}
	if !install {
		return res, nil
	}
	staged, sum, err := u.fetch(ctx, s, c)
	if err != nil {
		if errors.Is(err, ErrProbe) && ctx.Err() == nil {
			// A verified build that cannot run here (another architecture,
			// a broken link, the wrong version inside) will not get better:
			// skip it, and say so at every look, until Forget.
			s.markBad(c.version.Original(), "probe: "+rootCause(err), u.now())
			if serr := saveState(u.o.StateDir, s); serr != nil {
				err = errors.Join(err, serr)
			}
		}
		return res, err
	}
	if err := u.install(ctx, s, c, staged, sum); err != nil {
		return res, err
	}
	res.Updated = true
	u.current = c.version
	if err := u.restart(ctx, s, c); err != nil {
		return res, err
	}
	return res, nil
}

// clean removes what a killed update left: the applier's staged files and
// the state directory's temporary files. The caller holds the locks.
func (u *Updater) clean() {
	if cl, ok := u.o.Applier.(apply.Cleaner); ok {
		if err := cl.Clean(u.o.Target); err != nil {
			u.log.Warn("update: removing leftovers of an earlier update", "err", err)
		}
	}
	if err := cleanStateDir(u.o.StateDir); err != nil {
		u.log.Warn("update: removing leftovers in the state directory", "err", err)
	}
}

// find lists releases, applies the trust rules and picks a release.
func (u *Updater) find(ctx context.Context, s *state, pick picker) (*candidate, []Skipped, []NotYet, error) {
	st := u.begin(StepFind, "")
	l, err := u.o.Source.Releases(ctx, u.o.Verifier)
	if err != nil {
		return nil, nil, nil, st.end(err)
	}
	next, changed, err := admit(s, l, u.o.App, u.now())
	if err != nil {
		return nil, nil, nil, st.end(err)
	}
	if next.InstallID == "" {
		// Made once and kept: the machine's place in every rollout.
		next.InstallID, changed = newInstallID(), true
	}
	if changed {
		if err := saveState(u.o.StateDir, next); err != nil {
			return nil, nil, nil, st.end(err)
		}
		*s = *next
	}
	u.installID.Store(&s.InstallID)
	if slices.ContainsFunc(l.Withdrawn, func(v string) bool { return sameVersion(v, u.current.Original()) }) {
		st.end(nil)
		return nil, nil, nil, u.withdraw(ctx, s)
	}
	c, skipped, notYet, err := pick(l, s)
	for _, sk := range skipped {
		u.log.Warn("update: skipping a newer release that failed here", "version", sk.Version, "why", sk.Why, "since", sk.Since,
			"hint", "Updater.Forget offers it again")
	}
	if errors.Is(err, ErrUpToDate) {
		// Being up to date is news, not a failure of the step.
		st.end(nil)
		return nil, skipped, notYet, &Error{Step: StepFind, From: u.o.Version, Err: err}
	}
	if err != nil {
		return nil, skipped, notYet, st.end(err)
	}
	st.ev.To = c.version.Original()
	return c, skipped, notYet, st.end(nil)
}

// install swaps the staged file in and records the release as pending,
// and the new executable's digest sum (if known) for the next patch.
func (u *Updater) install(ctx context.Context, s *state, c *candidate, staged string, sum verify.Digest) error {
	to := c.version.Original()
	st := u.begin(StepApply, to)
	s.Pending = &pending{Version: to, From: u.current.Original(), Target: u.o.Target, Since: u.now()}
	s.Previous = u.current.Original()
	if err := u.o.Applier.Apply(ctx, apply.Change{Target: u.o.Target, Staged: staged, Version: to}); err != nil {
		os.Remove(staged)
		return st.end(err)
	}
	rememberInstalled(s, u.o.Target, sum)
	if err := saveState(u.o.StateDir, s); err != nil {
		// Without a record of the pending version it could never be rolled
		// back, so put the old one back now.
		rerr := u.o.Applier.Revert(ctx, u.o.Target)
		return st.end(errors.Join(err, rerr))
	}
	return st.end(nil)
}

// restart starts the new version; if it cannot start, the old version is
// put back and the release marked bad. The restart event is emitted before
// the Restarter runs: a successful exec never comes back to report it.
func (u *Updater) restart(ctx context.Context, s *state, c *candidate) error {
	to := c.version.Original()
	u.begin(StepRestart, to).end(nil)
	out, err := u.o.Restarter.Restart(ctx, u.o.Target)
	if err == nil {
		u.restarted(out)
		return nil
	}
	rerr := u.rollback(ctx, s, "restart failed: "+err.Error())
	if rerr != nil {
		// The new binary is still installed and pending: the next start
		// finishes the rollback (see startupPhase).
		return &Error{Step: StepRestart, From: u.o.Version, To: to, Err: fmt.Errorf("%w; rolling back failed too: %w", err, rerr)}
	}
	u.current, _ = semver.NewVersion(u.o.Version)
	return &Error{Step: StepRestart, From: u.o.Version, To: to, Err: fmt.Errorf("%w: %w", ErrRolledBack, err)}
}

// restarted records what the Restarter did: unless this process still owns
// the executable (nothing was started, or another program was restarted),
// it must never install again, or it would pull the binary from under the
// process that took over.
func (u *Updater) restarted(out restart.Outcome) {
	if !out.Continues() {
		u.replaced = true
	}
}

// lockPath is the lock of the state directory; the executable's is in the
// temporary folder (see lockAll).
func (u *Updater) lockPath() string { return filepath.Join(u.o.StateDir, "lock") }

// locks are the two locks an update holds.
type locks []*lock.Lock

func (l locks) unlock() {
	for i := len(l) - 1; i >= 0; i-- {
		l[i].Unlock()
	}
}

// lockAll takes the state directory's lock and then the executable's, so
// that two updaters of one binary never interleave even with different
// state directories. It fails with ErrInProgress naming the holder.
func (u *Updater) lockAll() (locks, error) {
	var held locks
	try := []func(string) (*lock.Lock, error){lock.TryLock, lock.TryLockTemp}
	for i, p := range []string{u.lockPath(), targetLockPath(u.o.Target)} {
		// The executable's lock lives in a shared temporary folder and is
		// removed when released, so they do not pile up there.
		lk, err := try[i](p)
		if err != nil {
			held.unlock()
			if errors.Is(err, lock.ErrLocked) {
				return nil, lockErr(err)
			}
			// A lock that cannot even be opened is a state folder (or a
			// temporary folder) this program cannot write.
			return nil, &StateError{Path: p, Err: err}
		}
		held = append(held, lk)
	}
	return held, nil
}

// targetLockPath is the lock file of an executable, the same for every
// updater of that file whatever its state directory: in the temporary
// folder, named by a hash of the executable's real path, so nothing is
// left beside the program. (A temporary-file cleaner that removes it while
// held could let two updaters through; they run minutes apart, if ever.)
func targetLockPath(target string) string {
	p, err := filepath.Abs(target)
	if err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
	}
	sum := sha256.Sum256([]byte(p))
	return filepath.Join(lockDir(), hex.EncodeToString(sum[:16])+".lock")
}

// lockDir is the shared folder of executable locks: sticky and writable by
// all, like the temporary folder, so every user can lock their programs.
func lockDir() string {
	d := filepath.Join(os.TempDir(), "molt-locks")
	if err := os.Mkdir(d, 0o700); err == nil {
		os.Chmod(d, 0o777|os.ModeSticky)
	}
	return d
}

// locked runs f on the state under both locks and saves the state if f
// says it changed it.
func (u *Updater) locked(f func(s *state) (changed bool, err error)) error {
	held, err := u.lockAll()
	if err != nil {
		return err
	}
	defer held.unlock()
	s, err := loadState(u.o.StateDir)
	if err != nil {
		return err
	}
	changed, err := f(s)
	if err != nil || !changed {
		return err
	}
	return saveState(u.o.StateDir, s)
}

func lockErr(err error) error {
	if errors.Is(err, lock.ErrLocked) {
		return fmt.Errorf("%w: %w", ErrInProgress, err)
	}
	return err
}

func sameVersion(a, b string) bool {
	va, err1 := semver.NewVersion(a)
	vb, err2 := semver.NewVersion(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return va.Equal(vb)
}

// rootCause is the message of the innermost error, for a bad mark's why.
func rootCause(err error) string {
	var e *Error
	if errors.As(err, &e) {
		err = e.Err
	}
	return strings.TrimPrefix(err.Error(), "update: ")
}

// executableNames are the names the executable may have inside an archive
// beside those the platform table gives (see archive.Options.Names).
func (u *Updater) executableNames() []string {
	base, _ := platform.TrimExe(filepath.Base(u.o.Target))
	return []string{base}
}

// InstallID is this installation's random ID, made at the first look and
// kept in the state directory: its place in staged rollouts, and what a
// pin names. It is empty before the first Check or Find.
func (u *Updater) InstallID() string {
	if p := u.installID.Load(); p != nil {
		return *p
	}
	return ""
}

// withdraw takes the running version back because the source withdrew it
// (an aborted rollout): the previous binary is put back, if there is one,
// and started. The caller holds the locks.
func (u *Updater) withdraw(ctx context.Context, s *state) error {
	cur, prev := u.current.Original(), s.Previous
	st := u.begin(StepRollback, prev)
	s.markBad(cur, "withdrawn by the publisher", u.now())
	s.Pending = nil
	if err := saveState(u.o.StateDir, s); err != nil {
		return st.end(err)
	}
	if err := u.o.Applier.Revert(ctx, u.o.Target); err != nil {
		return st.end(fmt.Errorf("%w: %s was withdrawn, and there is no earlier version to go back to: %w", ErrRolledBack, cur, err))
	}
	s.Previous = ""
	if err := saveState(u.o.StateDir, s); err != nil {
		u.log.Warn("update: saving the state after a rollback", "err", err)
	}
	st.end(nil)
	out, err := u.o.Restarter.Restart(ctx, u.o.Target)
	if err == nil {
		u.restarted(out)
	}
	return &Error{Step: StepRollback, From: cur, To: prev, Err: errors.Join(fmt.Errorf("%w: %s was withdrawn by the publisher", ErrRolledBack, cur), err)}
}
