package update

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
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
	// build time with -ldflags "-X main.version=1.2.3".
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
	// Restarter starts the new version after it is installed. If nil,
	// restart.Exec{} is used: the process re-executes itself in place.
	Restarter restart.Restarter
	// Target is the executable to replace. If empty, os.Executable().
	Target string
	// HTTPClient is handed to sources that make HTTP requests and were not
	// given a client of their own. If nil, each source uses its default.
	HTTPClient *http.Client
	// StateDir keeps what an update must not be able to rewrite: the highest
	// metadata counter and release seen, the pending release, bad releases,
	// and the lock. If empty, <os.UserConfigDir()>/molt/<App>.
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
	// Retries is how many times a broken download resumes before it fails.
	// If zero, 4.
	Retries int
	// MaxStarts is how many times a pending version may start without
	// calling Confirm before New rolls it back. If zero, 3.
	MaxStarts int
	// ConfirmTimeout, if not zero, is how long a pending version may run
	// without calling Confirm before it is rolled back.
	ConfirmTimeout time.Duration
	// SkipProbe installs without first running the staged binary to ask
	// its version (see ProbeEnv). Set it for programs that cannot answer.
	SkipProbe bool
	// Machine names this machine in events. If empty, os.Hostname().
	Machine string

	// OnEvent, if not nil, is called after every step, from the goroutine
	// that runs the update.
	OnEvent func(Event)
	// Progress, if not nil, is called as a download proceeds.
	Progress func(Progress)
	// Logger receives a line per step. If nil, slog.Default().
	Logger *slog.Logger

	now func() time.Time // test seam; nil means time.Now
}

func (o *Options) validate() error {
	var errs []error
	if o.App == "" {
		errs = append(errs, errors.New("App is empty"))
	}
	if _, err := semver.NewVersion(o.Version); err != nil {
		errs = append(errs, fmt.Errorf("Version %q is not a semantic version: %w", o.Version, err))
	}
	if o.Source == nil {
		errs = append(errs, errors.New("Source is nil"))
	}
	if o.Verifier == nil && !o.InsecureSkipVerify {
		errs = append(errs, ErrNoVerifier)
	}
	if o.MaxAssetSize < 0 || o.Retries < 0 || o.MaxStarts < 0 {
		errs = append(errs, errors.New("MaxAssetSize, Retries and MaxStarts must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("update: options: %w", err)
	}
	return nil
}

func (o *Options) setDefaults() error {
	if o.Applier == nil {
		o.Applier = &apply.Replace{}
	}
	if o.Restarter == nil {
		o.Restarter = restart.Exec{}
	}
	if o.Target == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("update: finding the executable: %w", err)
		}
		o.Target = exe
	}
	if o.StateDir == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return fmt.Errorf("update: no StateDir and no user config dir: %w", err)
		}
		o.StateDir = filepath.Join(dir, "molt", o.App)
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
		o.Retries = 4
	}
	if o.MaxStarts == 0 {
		o.MaxStarts = 3
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
	return nil
}
