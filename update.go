package update

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/apply"
	"github.com/molt-go/update/internal/lock"
	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/source"
)

// Updater finds, downloads, verifies, installs and restarts into new
// versions of one program. Its methods are safe for concurrent use; updates
// run one at a time, within the process by a mutex and across processes by
// a lock file in the state directory.
type Updater struct {
	o       Options
	log     *slog.Logger
	machine string

	mu       sync.Mutex      // one update at a time in this process
	current  *semver.Version // the running version, or the one installed since
	timer    *time.Timer     // rolls back an unconfirmed version at its deadline
	replaced bool            // the Restarter handed over to another process; this one is on its way out
}

// Result says what Check or Install did.
type Result struct {
	From, To string          // the running version, and the version found (empty if none)
	Updated  bool            // a new version was installed
	Release  *source.Release // the release chosen, if any
	Asset    *source.Asset   // its asset for this platform
}

// New returns an Updater. Call it early in main: it answers the probe that
// an updater runs on a staged binary before installing it, and it finishes
// what an earlier run left, rolling back a pending version that has started
// Options.MaxStarts times without Confirm (it then restarts into the
// previous version, or, if the restarter returns, returns an error wrapping
// ErrRolledBack: the caller should exit).
func New(o Options) (*Updater, error) {
	answerProbe(o.Version)
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	if o.HTTPClient != nil {
		if s, ok := o.Source.(interface{ UseHTTPClient(*http.Client) }); ok {
			s.UseHTTPClient(o.HTTPClient)
		}
	}
	// The state dir holds the lock, so it must exist before anything else.
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("update: state dir: %w", err)
	}
	u := &Updater{o: o, log: o.Logger, machine: o.Machine}
	u.current, _ = semver.NewVersion(o.Version) // validated above
	if o.InsecureSkipVerify {
		u.log.Warn("update: InsecureSkipVerify is set: downloads are installed unverified")
	}
	if err := u.startup(context.Background()); err != nil {
		return nil, err
	}
	return u, nil
}

func (u *Updater) now() time.Time { return u.o.now() }

// Check looks for a newer release and, if there is one, downloads,
// verifies and installs it, then restarts into it with the Restarter. With
// restart.Exec a successful Check does not return. If the running version
// is the newest, Check returns a Result with Updated false and a nil error.
func (u *Updater) Check(ctx context.Context) (*Result, error) {
	res, err := u.run(ctx, func(rels []source.Release, cur *semver.Version, bad func(string) bool) (*candidate, error) {
		return choose(rels, cur, u.o.Channel, u.o.OS, u.o.Arch, bad)
	}, true)
	if errors.Is(err, ErrUpToDate) {
		return res, nil
	}
	return res, err
}

// Find looks for a newer release without installing anything. It returns
// an error wrapping ErrUpToDate if there is none.
func (u *Updater) Find(ctx context.Context) (*Result, error) {
	return u.run(ctx, func(rels []source.Release, cur *semver.Version, bad func(string) bool) (*candidate, error) {
		return choose(rels, cur, u.o.Channel, u.o.OS, u.o.Arch, bad)
	}, false)
}

// Install installs the release with exactly the given version, even an
// older one: the only way to downgrade. The release must still be listed
// in trusted metadata and is verified like any other.
func (u *Updater) Install(ctx context.Context, version string) (*Result, error) {
	return u.run(ctx, func(rels []source.Release, _ *semver.Version, _ func(string) bool) (*candidate, error) {
		return named(rels, version, u.o.OS, u.o.Arch)
	}, true)
}

// Watch runs Check every interval, give or take a tenth at random so that a
// fleet does not knock at once, until ctx is done; it then returns
// ctx.Err(). An error in one round is logged and reported as an event, and
// the next round goes on.
func (u *Updater) Watch(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("update: watch interval %v must be positive", interval)
	}
	for {
		if _, err := u.Check(ctx); err != nil && ctx.Err() == nil {
			u.log.Warn("update: check failed; trying again next round", "err", err)
		}
		jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(interval))
		if err := sleepCtx(ctx, interval+jitter); err != nil {
			return err
		}
	}
}

// Confirm tells the updater that the running version works. Until then it
// is pending and may be rolled back. When the running version is not
// pending, Confirm does nothing, so a program may call it at every start
// once it is healthy.
func (u *Updater) Confirm(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, err := loadState(u.o.StateDir)
	if err != nil {
		return &Error{Step: StepConfirm, From: u.o.Version, Err: err}
	}
	if s.Pending == nil || !sameVersion(s.Pending.Version, u.o.Version) {
		return nil
	}
	st := u.begin(StepConfirm, "")
	lk, err := lock.TryLock(u.lockPath())
	if err != nil {
		return st.end(lockErr(err))
	}
	defer lk.Unlock()
	// Read again under the lock: the first look was only to stay quiet
	// when there is nothing to do.
	if s, err = loadState(u.o.StateDir); err != nil {
		return st.end(err)
	}
	if s.Pending == nil || !sameVersion(s.Pending.Version, u.o.Version) {
		return st.end(nil)
	}
	st.ev.From, st.ev.To = s.Pending.From, s.Pending.Version
	s.Pending = nil
	if u.timer != nil {
		u.timer.Stop()
	}
	return st.end(saveState(u.o.StateDir, s))
}

type picker func(rels []source.Release, cur *semver.Version, bad func(string) bool) (*candidate, error)

func (u *Updater) run(ctx context.Context, pick picker, install bool) (*Result, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	res := &Result{From: u.current.Original()}
	if u.replaced {
		// A Handoff returned: the new process owns the executable and the
		// state now, and this one only drains. Installing anything from here
		// would pull the binary from under the new process.
		return res, &Error{Step: StepFind, From: res.From, Err: fmt.Errorf("%w: this process has handed over to a new one", ErrInProgress)}
	}
	lk, err := lock.TryLock(u.lockPath())
	if err != nil {
		return res, &Error{Step: StepFind, From: res.From, Err: lockErr(err)}
	}
	defer lk.Unlock()
	s, err := loadState(u.o.StateDir)
	if err != nil {
		return res, &Error{Step: StepFind, From: res.From, Err: err}
	}
	if cl, ok := u.o.Applier.(apply.Cleaner); ok && install {
		if err := cl.Clean(u.o.Target); err != nil {
			u.log.Warn("update: removing leftovers of an earlier update", "err", err)
		}
	}
	c, err := u.find(ctx, s, pick)
	if err != nil {
		return res, err
	}
	res.To, res.Release, res.Asset = c.version.Original(), &c.release, &c.asset
	if !install {
		return res, nil
	}
	staged, err := u.fetch(ctx, c)
	if err != nil {
		if errors.Is(err, ErrProbe) && ctx.Err() == nil {
			// A verified build that cannot run here (another architecture,
			// a broken link, the wrong version inside) will not get better:
			// never download it again. Versions are immutable, so a fixed
			// build comes as a new release.
			s.markBad(c.version.Original())
			if serr := saveState(u.o.StateDir, s); serr != nil {
				err = errors.Join(err, serr)
			}
		}
		return res, err
	}
	if err := u.install(ctx, s, c, staged); err != nil {
		return res, err
	}
	res.Updated = true
	u.current = c.version
	if err := u.restart(ctx, s, c); err != nil {
		return res, err
	}
	return res, nil
}

// find lists releases, enforces the metadata rules and picks a release.
func (u *Updater) find(ctx context.Context, s *state, pick picker) (*candidate, error) {
	st := u.begin(StepFind, "")
	l, err := u.o.Source.Releases(ctx, u.o.Verifier)
	if err != nil {
		return nil, st.end(err)
	}
	if err := u.checkListing(l, s); err != nil {
		return nil, st.end(err)
	}
	c, err := pick(l.Releases, u.current, s.isBad)
	if errors.Is(err, ErrUpToDate) {
		// Being up to date is news, not a failure of the step.
		st.end(nil)
		return nil, &Error{Step: StepFind, From: u.o.Version, Err: err}
	}
	if err != nil {
		return nil, st.end(err)
	}
	st.ev.To = c.version.Original()
	return c, st.end(nil)
}

// checkListing applies the trust rules to metadata the source verified:
// right app, not expired, not older than seen before. It records the
// highest counter and release seen.
func (u *Updater) checkListing(l *source.Listing, s *state) error {
	if l.App != "" && l.App != u.o.App {
		return fmt.Errorf("%w: metadata for %q, this is %q", ErrWrongApp, l.App, u.o.App)
	}
	if !l.Expires.IsZero() && u.now().After(l.Expires) {
		return fmt.Errorf("%w: at %s", ErrExpired, l.Expires.Format(time.RFC3339))
	}
	if l.Serial < s.Serial {
		return fmt.Errorf("%w: counter %d, seen %d", ErrReplayed, l.Serial, s.Serial)
	}
	changed := l.Serial > s.Serial
	s.Serial = l.Serial
	if !u.o.InsecureSkipVerify {
		for _, r := range l.Releases {
			v, err := semver.NewVersion(r.Version)
			if err != nil {
				continue
			}
			if h, err := semver.NewVersion(s.Highest); err != nil || v.GreaterThan(h) {
				s.Highest, changed = v.Original(), true
			}
		}
	}
	if changed {
		return saveState(u.o.StateDir, s)
	}
	return nil
}

// install swaps the staged file in and records the release as pending.
func (u *Updater) install(ctx context.Context, s *state, c *candidate, staged string) error {
	to := c.version.Original()
	st := u.begin(StepApply, to)
	s.Pending = &pending{Version: to, From: u.o.Version, Target: u.o.Target, Since: u.now()}
	if err := u.o.Applier.Apply(ctx, apply.Change{Target: u.o.Target, Staged: staged, Version: to}); err != nil {
		os.Remove(staged)
		return st.end(err)
	}
	if err := saveState(u.o.StateDir, s); err != nil {
		// Without a record of the pending version it could never be rolled
		// back, so put the old one back now.
		rerr := u.o.Applier.Revert(ctx, u.o.Target)
		return st.end(errors.Join(err, rerr))
	}
	return st.end(nil)
}

// restart starts the new version; if it cannot start, the old version is
// put back and the release marked bad.
func (u *Updater) restart(ctx context.Context, s *state, c *candidate) error {
	to := c.version.Original()
	// The event goes out before the restart: a successful exec never
	// comes back to report it.
	u.begin(StepRestart, to).end(nil)
	out, err := u.o.Restarter.Restart(ctx, u.o.Target)
	if err == nil {
		u.restarted(out)
		return nil
	}
	rerr := u.rollback(ctx, s)
	u.current, _ = semver.NewVersion(u.o.Version)
	return &Error{Step: StepRestart, From: u.o.Version, To: to, Err: fmt.Errorf("%w: %w", ErrRolledBack, errors.Join(err, rerr))}
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

func (u *Updater) lockPath() string { return filepath.Join(u.o.StateDir, "lock") }

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

// executableNames are the names the executable may have inside an archive.
func (u *Updater) executableNames(a string) []string {
	names := []string{u.o.App, strings.TrimSuffix(filepath.Base(u.o.Target), ".exe")}
	if a != "" {
		names = append([]string{a}, names...)
	}
	return names
}
