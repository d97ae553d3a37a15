// Package apply installs a verified new version of an executable.
//
// An Applier works in two moves so that nothing unverified ever reaches the
// target path: Stage hands out a file on the same file system as the target
// (a rename never crosses file systems), the updater streams, verifies and
// extracts into it, and only then Apply swaps it in, keeping the previous
// version so that Revert can bring it back.
package apply

import (
	"context"
	"errors"
	"os"
)

// Errors returned by appliers, to be tested with errors.Is.
var (
	// ErrNoBackup means there is no previous version to revert to.
	ErrNoBackup = errors.New("apply: no previous version kept")
	// ErrUnsupported means the platform cannot do what was asked.
	ErrUnsupported = errors.New("apply: not supported on this platform")
)

// Applier installs new versions of an executable.
type Applier interface {
	// Stage creates an empty file where a new version of target can be
	// written; the caller writes it, closes it and either passes its name to
	// Apply or removes it.
	Stage(target string) (*os.File, error)
	// Apply installs the staged file as target, at version. When it returns
	// an error, target is as it was before.
	Apply(ctx context.Context, c Change) error
	// Revert puts back the version that the last Apply replaced.
	Revert(ctx context.Context, target string) error
}

// Change is one installation.
type Change struct {
	// Target is the executable's path as the program knows it, usually
	// os.Executable(). It may be a symbolic link.
	Target string
	// Staged is the verified new file, made by Stage(Target).
	Staged string
	// Version is the version being installed.
	Version string
}

// Cleaner is implemented by appliers that can remove what an update killed
// halfway left behind (staged files nobody will finish). The updater calls
// Clean while it holds its lock, before it stages anything, so no live
// update's files are touched.
type Cleaner interface {
	Clean(target string) error
}
