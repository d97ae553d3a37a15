// Package restart starts the new version once it is installed: exec in place
// (Exec), nothing (None) for callers that restart themselves, and the
// strategies for daemons and supervisors.
package restart

import (
	"context"
	"errors"
)

// ErrUnsupported means the platform cannot restart this way.
var ErrUnsupported = errors.New("restart: not supported on this platform")

// Restarter starts the executable at exe in place of the running program.
type Restarter interface {
	// Restart replaces the running program with exe. A successful Exec does
	// not return; other strategies return once the new process has taken
	// over, or with an error while the old one still runs.
	Restart(ctx context.Context, exe string) error
}

// None does not restart; the caller decides when the new version runs.
type None struct{}

// Restart does nothing.
func (None) Restart(context.Context, string) error { return nil }
