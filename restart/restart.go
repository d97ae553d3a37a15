// Package restart starts the new version once it is installed: exec in
// place (Exec), a zero-downtime listener handoff (Handoff), exit for a
// supervisor (Exit), or nothing (None) for callers that restart themselves.
//
// A Restarter says what it did as an Outcome, so the updater knows whether
// this process may go on updating without asking which type it holds: a
// wrapped restarter (one that logs, or flushes first) works like the one it
// wraps.
package restart

import (
	"context"
	"errors"
)

// ErrUnsupported means the platform cannot restart this way.
var ErrUnsupported = errors.New("restart: not supported on this platform")

// Outcome says what a Restarter did.
type Outcome int

// The outcomes of a restart.
const (
	// NotStarted: nothing was started; this process goes on running the
	// old code, and the new version runs from the next start. The updater
	// may install again (a newer release over the one just installed).
	NotStarted Outcome = iota
	// Replaced: this process was replaced by the new version (an exec
	// that returned only on a platform that cannot exec in place, where a
	// child was started and this process must exit at once).
	Replaced
	// HandedOver: a new process runs the new version and serves; this one
	// only drains and exits. It must never install again: the executable
	// and the state belong to the new process.
	HandedOver
	// Exiting: the new version is left to a supervisor (systemd, a
	// container runtime) that starts it once this process has exited.
	Exiting
	// RestartedOther: the restarter replaced a program it runs (a
	// supervisor's child), not this process, which goes on and may
	// install again.
	RestartedOther
)

// Continues reports whether the process that called Restart goes on
// owning the executable, so it may update again.
func (o Outcome) Continues() bool { return o == NotStarted || o == RestartedOther }

func (o Outcome) String() string {
	switch o {
	case NotStarted:
		return "not started"
	case Replaced:
		return "replaced"
	case HandedOver:
		return "handed over"
	case Exiting:
		return "exiting for a supervisor"
	case RestartedOther:
		return "restarted the supervised program"
	}
	return "unknown outcome"
}

// Restarter starts the executable at exe in place of the running program.
type Restarter interface {
	// Restart starts exe and says what it did. A successful exec does not
	// return; other strategies return once the new process has taken
	// over, or with an error while the old one still runs (the Outcome
	// is then NotStarted).
	Restart(ctx context.Context, exe string) (Outcome, error)
}

// None does not restart; the caller decides when the new version runs.
type None struct{}

// Restart does nothing and returns NotStarted.
func (None) Restart(context.Context, string) (Outcome, error) { return NotStarted, nil }
