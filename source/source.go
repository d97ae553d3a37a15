// Package source defines where releases come from: the Source interface and
// the Release and Asset types that every source (the signed feed, GitHub
// releases, an S3 bucket, a git repository) returns.
//
// A Source is transport plus metadata. It is not trusted to carry the right
// bytes: the updater hashes every download and compares it with a digest the
// source could only have taken from metadata that the caller's verifier
// accepted (a signed feed, a signed checksums file), or that came from an API
// the caller chose to trust (GitHub's asset digest over TLS).
package source

import (
	"context"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/molt-go/update/verify"
)

// Errors returned by sources. They can be tested against with errors.Is, and
// the update package re-exports them under the same values.
var (
	// ErrNotFound means the source, its feed or an asset does not exist.
	ErrNotFound = errors.New("source: not found")
	// ErrUnavailable means the source answered with a server error or could
	// not be reached; trying again later may work.
	ErrUnavailable = errors.New("source: unavailable")
	// ErrInsecureRedirect means an https request was redirected to plain http.
	ErrInsecureRedirect = errors.New("source: https redirected to http")
	// ErrBadMetadata means the feed, release list or checksums file could not
	// be parsed.
	ErrBadMetadata = errors.New("source: malformed metadata")
	// ErrNoAsset means a release has no asset for the wanted platform.
	ErrNoAsset = errors.New("source: no asset for this platform")
	// ErrAccess means the source refused the credentials (HTTP 401/403, S3
	// AccessDenied, a token without access).
	ErrAccess = errors.New("source: access denied")
	// ErrNoPush means the source cannot say when it changes here (a static
	// host, a server without the push endpoint): the caller polls instead.
	ErrNoPush = errors.New("source: push not offered")
)

// Source lists releases and opens their assets.
type Source interface {
	// Releases lists the releases the source offers. Metadata that vouches
	// for assets (a signed feed, a signed checksums file) is checked with v
	// before any digest from it is returned; v is nil only when the caller
	// explicitly chose to run without verification.
	Releases(ctx context.Context, v verify.Verifier) (*Listing, error)
	// Open returns the asset's bytes starting at offset, so that a broken
	// download can resume where it stopped. A source that cannot seek
	// returns an error for offset > 0.
	Open(ctx context.Context, a Asset, offset int64) (io.ReadCloser, error)
}

// Notifier is a Source that can say when it may have changed (push), so
// that Updater.Watch checks at once instead of at its next interval. It is
// optional: Watch polls a source without it, and one whose Wait fails.
type Notifier interface {
	// Wait blocks until the source may have changed since the last
	// Releases, or ctx ends (it then returns an error wrapping ctx.Err()).
	// A nil return only wakes the caller: it vouches for nothing, and the
	// caller calls Releases, which verifies as always. An error wrapping
	// ErrNoPush says the source cannot push here; other errors (the
	// network, the server) are worth trying again after a pause.
	Wait(ctx context.Context) error
}

// Listing is what a source returned in one look.
type Listing struct {
	// Origin names where the listing came from (the feed's URL, the
	// bucket and key, the repository), as the source was configured, never
	// as the metadata says. The updater keeps its trust state (counters,
	// releases seen) per origin, so that moving a program to another
	// source never bricks it, while a replay from the same one is refused.
	Origin string
	// App is the application the metadata was signed for; empty when the
	// source does not say. The updater refuses metadata for another app.
	App string
	// Serial is the metadata's version counter; the updater refuses a
	// listing whose serial is lower than the highest it has seen, so a
	// replayed old feed cannot hide newer releases. Zero means the source
	// has no counter.
	Serial int64
	// KeyEpoch is, for metadata signed under a key hierarchy (feed.Roots),
	// the version of the key list that first listed the key that signed
	// it; zero otherwise. The updater orders counters by (KeyEpoch,
	// Serial): a higher epoch than seen starts Serial afresh, so a counter
	// pushed to the top by a stolen key, since revoked, cannot lock out
	// the key that replaced it (no fast-forward); a lower epoch is a
	// replay. Zero leaves the epoch seen as it is and compares Serial.
	KeyEpoch int64
	// Expires is when the metadata stops being valid, so a frozen mirror
	// cannot serve a stale feed forever. Zero means no expiry.
	Expires time.Time
	// Releases in any order.
	Releases []Release
	// Pins hold chosen machines at a version: they neither upgrade past it
	// nor are offered another release while the pin stands.
	Pins []Pin
	// Withdrawn lists versions taken back (a rollout aborted): machines
	// that run one go back to the release they had before, if they still
	// have it.
	Withdrawn []string
}

// Rollout stages a release over a fleet: each installation is offered it
// once its own stable bucket (a hash of its install ID, the app and the
// version) falls under the current fraction. The client decides from
// signed data alone, so rollouts work from a folder or a bucket.
type Rollout struct {
	// Phases are fractions with the time each starts, in order; the
	// current fraction is that of the last phase started. Before the first
	// phase starts nobody is offered the release.
	Phases []Phase
	// Paused freezes the rollout at Percent: nobody new is offered it.
	Paused bool
	// Percent is the fraction while paused, or the plain current fraction
	// of a rollout without phases.
	Percent float64
}

// Phase is one step of a rollout.
type Phase struct {
	Percent float64   // 0 to 100
	Start   time.Time // when this fraction applies
}

// Pin holds the machines it names at Version.
type Pin struct {
	Version    string
	InstallIDs []string // machines by their install ID
	Labels     []string // machines by a label they set in Options.Labels
}

// Holds reports whether p names the machine with this install ID or one of
// these labels. An empty install ID is no machine's.
func (p Pin) Holds(installID string, labels []string) bool {
	if installID != "" && slices.Contains(p.InstallIDs, installID) {
		return true
	}
	return slices.ContainsFunc(labels, func(l string) bool { return slices.Contains(p.Labels, l) })
}

// PinnedAt is the version the first of pins that holds the machine names,
// or "" when none holds it: the one rule the updater follows and the
// reference server's fleet view shows.
func PinnedAt(pins []Pin, installID string, labels []string) string {
	for _, p := range pins {
		if p.Holds(installID, labels) {
			return p.Version
		}
	}
	return ""
}

// Release is one version of the program.
type Release struct {
	// Version is a semantic version, with or without a leading "v".
	Version string
	// Published is when the release was made; zero when unknown.
	Published time.Time
	// Notes are the release notes, if the source has any.
	Notes string
	// Assets are the files of the release, one per platform or so.
	Assets []Asset
	// Rollout, when not nil, stages the release over the fleet; nil offers
	// it to every machine.
	Rollout *Rollout
}

// Asset is one downloadable file of a release.
type Asset struct {
	// Name is the file name, such as hello-1.2.0-linux-amd64 or
	// hello_1.2.0_linux_amd64.tar.gz.
	Name string
	// OS and Arch are the platform in GOOS/GOARCH terms; empty when the
	// source does not say, in which case the updater matches the name.
	OS, Arch string
	// Size is the exact size in bytes; the download stops at Size+1 bytes.
	// Zero or negative means unknown (then a source-wide cap applies).
	Size int64
	// Digest is the trusted digest of the file; the zero Digest means
	// none is known, and the updater refuses to install the asset unless
	// verification was turned off.
	Digest verify.Digest
	// Signature, when not nil, is a signature over the asset's bytes to be
	// checked with the verifier after download (cosign sign-blob over the
	// file itself).
	Signature []byte
	// URL locates the asset for the source that listed it.
	URL string
	// Executable is the name of the executable inside an archive asset; empty
	// means the updater looks for the app's name.
	Executable string
	// Patches make this release's executable from an earlier one's,
	// for an updater with a Patcher; each comes from signed metadata.
	Patches []Patch
}

// Patch is a binary patch (package delta) from one exact earlier
// executable to this release's executable.
type Patch struct {
	// From is the digest of the installed executable it starts from; it is
	// used only when the installed file hashes to exactly this.
	From verify.Digest
	// Name, Size and Digest are the patch file's, and URL locates it as
	// an asset's URL does.
	Name   string
	Size   int64
	Digest verify.Digest
	URL    string
	// ToSize and To are the size and digest of the executable the patch
	// makes (for an archive asset, of the executable inside it).
	ToSize int64
	To     verify.Digest
}
