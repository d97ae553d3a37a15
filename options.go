package update

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/apply"
	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// Options configure an Updater. App, Version, Source and Verifier are
// required; every other field works at its zero value.
type Options struct {
	// App is the program's name, as the source's metadata names it.
	App string
	// Version is the running program's semantic version, usually set at
	// build time with -ldflags "-X main.version=1.2.3". If empty, the main
	// module's version from the build information is used, so that
	// go install example.com/app@v1.2.3 needs no flags. A version that is
	// not a release ("dev", "(devel)", "0.0.0-dev"... anything that is not
	// semantic) makes a development build, which never updates (see
	// AllowDevBuild).
	Version string
	// Source lists releases and serves their assets.
	Source source.Source
	// Verifier holds the public keys the program pins; signed metadata and
	// signatures are checked with it. Required unless InsecureSkipVerify.
	Verifier verify.Verifier
	// InsecureSkipVerify installs downloads that nothing vouches for. It
	// exists for tests and trusted networks; never set it in a release.
	InsecureSkipVerify bool

	// Applier installs the new version. If nil, &apply.Replace{} is used:
	// an atomic rename over the executable, keeping a backup beside it.
	Applier apply.Applier
	// Patcher, if not nil (delta.Patcher{}), fetches a release as a binary
	// patch from the installed executable when the signed metadata offers
	// one for its exact digest, and falls back to the full download on any
	// mismatch or error. If nil, releases are always fetched in full.
	Patcher Patcher
	// Restarter starts the new version after it is installed. If nil,
	// restart.Exec{} is used: the process re-executes itself in place.
	Restarter restart.Restarter
	// Target is the executable to replace. If empty, os.Executable().
	Target string
	// StateDir keeps what an update must not be able to rewrite: the highest
	// metadata counter seen from each source, the pending release, bad
	// releases, and the lock. If empty, <os.UserConfigDir()>/molt/<App>.
	StateDir string
	// Channel selects prereleases. Empty or "stable" offers only releases;
	// "prerelease" offers every prerelease too; any other name offers the
	// prereleases whose first identifier is that name ("beta" offers
	// 1.3.0-beta.2 but not 1.3.0-rc.1).
	Channel string
	// OS and Arch choose the platform of the asset. If empty, runtime.GOOS
	// and runtime.GOARCH.
	OS, Arch string
	// MaxAssetSize caps every download (and what is extracted from it): an
	// asset whose metadata promises more is refused before a byte is
	// fetched. If zero, 1 GiB: larger than any sane executable, small enough
	// that a hostile server cannot fill the disk.
	MaxAssetSize int64
	// Retries is how many times a broken download resumes before it fails,
	// waiting 1, 2, 4, 8... seconds (at most 30) between tries, so that the
	// default outlasts a short outage of about a minute. If zero, 6.
	Retries int
	// StallInterval and StallBytes are the stall watchdog of a download:
	// an attempt that reads less than StallBytes in any StallInterval is
	// cut and resumed from its last byte. If zero, 30 s and 16 KiB.
	StallInterval time.Duration
	StallBytes    int64
	// MaxStarts is how many times a pending version may start without
	// calling Confirm: the start after the MaxStarts-th rolls it back, in
	// New. The first start after the install counts as one. If zero, 3.
	MaxStarts int
	// ConfirmTimeout, if not zero, is how long a pending version may run
	// without calling Confirm before it is rolled back.
	ConfirmTimeout time.Duration
	// SkipProbe installs without first running the staged binary to ask
	// its version (see ProbeEnv). Set it for programs that cannot answer.
	SkipProbe bool
	// AllowDevBuild lets a development build update itself: one whose
	// Version is not a release, or that runs from the go build cache
	// (go run). Without it such a build never updates, so that go run of
	// edited code is never replaced by the published release.
	AllowDevBuild bool
	// RoundTimeout bounds one round of Watch (find, download, install), so
	// a stalled server never holds Watch from its next round. If zero, 30
	// minutes: a large download over a slow link fits, a hung one does not
	// block for a day. Check and Install are bounded by their ctx only.
	RoundTimeout time.Duration
	// Labels name groups this machine belongs to ("canary", "eu-west"),
	// for pins in the feed that hold a group at a version.
	Labels []string
	// Machine names this machine in events. If empty, os.Hostname().
	Machine string

	// OnEvent, if not nil, is called after every step ends, from the
	// goroutine that runs the update. The restart step's event comes just
	// before the Restarter runs (an exec never returns to report it), with
	// its end time then.
	OnEvent func(Event)
	// Progress, if not nil, is called as a download proceeds: once with
	// zero bytes at its start, at most every 50 ms, and once at the end.
	// Progress.Speed is the average since the start, ready to display.
	Progress func(Progress)
	// Logger receives a line per step. If nil, slog.Default().
	Logger *slog.Logger

	self bool                    // Target was empty: this program updates its own executable
	now  func() time.Time        // test seam; nil means time.Now
	wait func(int) time.Duration // test seam: the wait before a resume; nil means backoff
}

// validate reports mistakes in the options: programming errors, never
// trouble with the environment.
func (o *Options) validate() error {
	var errs []error
	if o.App == "" {
		errs = append(errs, errors.New("App is empty"))
	}
	if o.Source == nil {
		errs = append(errs, errors.New("Source is nil"))
	}
	if o.Verifier == nil && !o.InsecureSkipVerify {
		errs = append(errs, ErrNoVerifier)
	}
	if o.MaxAssetSize < 0 || o.Retries < 0 || o.MaxStarts < 0 || o.RoundTimeout < 0 {
		errs = append(errs, errors.New("MaxAssetSize, Retries, MaxStarts and RoundTimeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("update: options: %w", err)
	}
	return nil
}

// setDefaults fills the zero fields. What it cannot find in the
// environment (the executable, a config dir) it returns as the reason not
// to update, without failing.
func (o *Options) setDefaults() (off error) {
	if o.Version == "" {
		o.Version, _ = o.mainVersion()
	}
	if o.Applier == nil {
		o.Applier = &apply.Replace{}
	}
	if o.Restarter == nil {
		o.Restarter = restart.Exec{}
	}
	if o.Target == "" {
		o.self = true
		exe, err := os.Executable()
		if err != nil {
			off = &StateError{Path: "the executable", Err: fmt.Errorf("cannot find it: %w; set Options.Target", err)}
		}
		o.Target = exe
	}
	if o.StateDir == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			off = &StateError{Path: "<user config dir>/molt/" + o.App, Err: fmt.Errorf("%w; set Options.StateDir", err)}
		} else {
			o.StateDir = filepath.Join(dir, "molt", o.App)
		}
	}
	if o.OS == "" {
		o.OS = runtime.GOOS
	}
	if o.Arch == "" {
		o.Arch = runtime.GOARCH
	}
	if o.MaxAssetSize == 0 {
		o.MaxAssetSize = 1 << 30
	}
	if o.Retries == 0 {
		o.Retries = 6
	}
	if o.MaxStarts == 0 {
		o.MaxStarts = 3
	}
	if o.StallInterval <= 0 {
		o.StallInterval = defaultStallInterval
	}
	if o.StallBytes <= 0 {
		o.StallBytes = defaultStallBytes
	}
	if o.RoundTimeout == 0 {
		o.RoundTimeout = 30 * time.Minute
	}
	if o.Machine == "" {
		o.Machine, _ = os.Hostname()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.wait == nil {
		o.wait = backoff
	}
	return off
}

// devBuild returns ErrDevBuild, saying why, when this is a development
// build that was not allowed to update.
func (o *Options) devBuild() error {
	if o.AllowDevBuild {
		if _, err := semver.NewVersion(o.Version); err != nil {
			return fmt.Errorf("%w: Version %q is not a semantic version, so nothing can be newer", ErrDevBuild, o.Version)
		}
		return nil
	}
	if v, err := semver.NewVersion(o.Version); err != nil || o.Version == "(devel)" || isDevPrerelease(v) {
		return fmt.Errorf("%w: Version %q is not a release (set it with -ldflags \"-X main.version=1.2.3\", or set AllowDevBuild)", ErrDevBuild, o.Version)
	}
	if o.self && inBuildCache(o.Target) {
		return fmt.Errorf("%w: %s runs from the go build cache (go run); build it to update it, or set AllowDevBuild", ErrDevBuild, o.Target)
	}
	return nil
}

// inBuildCache reports whether exe is a binary that go run built: it lives
// in a go-build folder of the temporary directory, or in GOCACHE.
func inBuildCache(exe string) bool {
	for _, part := range strings.Split(filepath.ToSlash(exe), "/") {
		if strings.HasPrefix(part, "go-build") {
			return true
		}
	}
	if c := os.Getenv("GOCACHE"); c != "" && strings.HasPrefix(exe, filepath.Clean(c)+string(filepath.Separator)) {
		return true
	}
	return false
}

// mainVersion is the main module's version from the build information:
// v1.2.3 for go install example.com/app@v1.2.3, "(devel)" for a build in
// a checkout.
func (o *Options) mainVersion() (string, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", errors.New("no build information")
	}
	return bi.Main.Version, nil
}

// isDevPrerelease reports a version such as 0.0.0-dev or 1.3.0-dev.5, which
// semver parses but which names a development build, not a release.
func isDevPrerelease(v *semver.Version) bool {
	first, _, _ := strings.Cut(v.Prerelease(), ".")
	return strings.EqualFold(first, "dev")
}
