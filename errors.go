package update

import (
	"errors"
	"fmt"

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
	// ErrTruncated means the download stayed shorter than promised after
	// every resume attempt.
	ErrTruncated = errors.New("update: download shorter than promised")
	// ErrRolledBack means the new version was installed, failed, and the
	// previous one was put back. The release is recorded as bad.
	ErrRolledBack = errors.New("update: rolled back")
	// ErrProbe means the staged binary did not answer the probe with the
	// version the metadata promised (see ProbeEnv). Nothing was installed.
	ErrProbe = errors.New("update: staged binary failed its probe")
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
	if e.To != "" {
		return fmt.Sprintf("update: %s %s -> %s: %v", e.Step, e.From, e.To, e.Err)
	}
	return fmt.Sprintf("update: %s: %v", e.Step, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
