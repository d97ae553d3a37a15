package update

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/molt-go/update/apply"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// Errors returned by the Updater. They can be tested against with errors.Is;
// every error from Check, Find and Install is also an *Error naming the step
// that failed. Several are the same values as the sentinels of the lower
// packages, so errors.Is works whichever name the caller uses.
var (
	// ErrUpToDate means no release newer than the running version is on offer.
	ErrUpToDate = errors.New("update: up to date")
	// ErrNoAsset means a newer release exists but has no asset for this
	// operating system and architecture.
	ErrNoAsset = source.ErrNoAsset
	// ErrNotVerified means nothing trusted vouches for the download, or what
	// does disagrees with it. Nothing was installed.
	ErrNotVerified = verify.ErrNotVerified
	// ErrNoVerifier means Options has neither a Verifier nor
	// InsecureSkipVerify.
	ErrNoVerifier = errors.New("update: no verifier: set Options.Verifier (or InsecureSkipVerify, which is unsafe)")
	// ErrInProgress means another updater holds the lock of the same state
	// directory.
	ErrInProgress = errors.New("update: another update is in progress")
	// ErrExpired means the source's signed metadata is past its expiry: a
	// mirror may be serving a frozen feed.
	ErrExpired = errors.New("update: metadata expired")
	// ErrReplayed means the source's signed metadata has a lower version
	// counter than metadata seen before: somebody is replaying an old feed.
	ErrReplayed = errors.New("update: metadata older than seen before")
	// ErrWrongApp means the signed metadata was made for another program.
	ErrWrongApp = errors.New("update: metadata is for another app")
	// ErrTooLarge means the download is larger than the metadata promised.
	ErrTooLarge = errors.New("update: download larger than promised")
	// ErrStalled means a download made too little progress for too long
	// (see Options.StallInterval) and was cut; it is resumed like a broken
	// connection, and returned only when every retry stalled too.
	ErrStalled = errors.New("update: download stalled")
	// ErrTruncated means the download stayed shorter than promised after
	// every resume attempt.
	ErrTruncated = errors.New("update: download shorter than promised")
	// ErrRolledBack means the new version was installed, failed, and the
	// previous one was put back. The release is recorded as bad.
	ErrRolledBack = errors.New("update: rolled back")
	// ErrProbe means the staged binary answered the probe with another
	// version than the metadata promised, or cannot run here (see
	// ProbeEnv). Nothing was installed, and the release is marked bad.
	ErrProbe = errors.New("update: staged binary failed its probe")
	// ErrProbeNoAnswer means the staged binary ran but never answered the
	// probe: it does not call update.New (or AnswerProbe) before doing its
	// work, or it hung. Nothing was installed; the release is not marked
	// bad, so a fixed build of the same version installs.
	ErrProbeNoAnswer = errors.New("update: staged binary did not answer the probe: call update.New or update.AnswerProbe first thing in main")
	// ErrDevBuild means the running program is a development build (its
	// version is not a release, such as "dev" or "(devel)", or it runs from
	// the go build cache under go run), which never updates itself unless
	// Options.AllowDevBuild says so.
	ErrDevBuild = errors.New("update: development build: not updating")
	// ErrState means the state directory cannot be used (a corrupt or
	// unreadable state file, no home directory, a read-only folder).
	// Updating is off until it is fixed; the program runs on. The error is
	// a *StateError naming the file.
	ErrState = errors.New("update: state unusable")
	// ErrNoBackup means there is no previous version to roll back to.
	ErrNoBackup = apply.ErrNoBackup
	// ErrNotFound, ErrUnavailable, ErrAccess, ErrBadMetadata and
	// ErrInsecureRedirect come from the source.
	ErrNotFound         = source.ErrNotFound
	ErrUnavailable      = source.ErrUnavailable
	ErrAccess           = source.ErrAccess
	ErrBadMetadata      = source.ErrBadMetadata
	ErrInsecureRedirect = source.ErrInsecureRedirect
)

// Error is the error of one failed step. Unwrap gives the cause.
type Error struct {
	Step Step   // the step that failed
	From string // the running version
	To   string // the version being installed, if one was chosen
	Err  error  // the cause
}

func (e *Error) Error() string {
	// The sentinels say "update: " themselves; once is enough.
	cause := strings.TrimPrefix(e.Err.Error(), "update: ")
	if e.To != "" {
		return fmt.Sprintf("update: %s %s -> %s: %s", e.Step, e.From, e.To, cause)
	}
	return fmt.Sprintf("update: %s: %s", e.Step, cause)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// StateError says which state file or folder cannot be used, and why.
type StateError struct {
	Path string // the file or folder
	Err  error  // the cause
}

func (e *StateError) Error() string {
	return fmt.Sprintf("state %s: %v (updating is off until it is fixed; removing the file forgets the replay counters and bad releases)", e.Path, e.Err)
}

// Unwrap returns ErrState and the cause.
func (e *StateError) Unwrap() []error { return []error{ErrState, e.Err} }

// Skipped is a newer release that Check and Find passed over, and why.
type Skipped struct {
	Version string
	Why     string    // what went wrong with it here
	Since   time.Time // when it was marked; zero if unknown
}
