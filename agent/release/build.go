package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/molt-go/update/agent/git"
	"github.com/molt-go/update/internal/platform"
)

// Platform is one OS and architecture a release is built for. Arch may
// be an ARM level as feed names write it (armv6, armv7): GOARCH=arm with
// GOARM set.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Host is the platform this program runs on.
func Host() Platform { return Platform{OS: runtime.GOOS, Arch: runtime.GOARCH} }

// ParsePlatforms reads a comma list of os/arch pairs
// (linux/amd64,linux/arm64,windows/amd64); "" is the host's. A pair the
// feed's file names cannot carry is refused with ErrBadOption.
func ParsePlatforms(s string) ([]Platform, error) {
	if strings.TrimSpace(s) == "" {
		return []Platform{Host()}, nil
	}
	var out []Platform
	for _, part := range strings.Split(s, ",") {
		goos, arch, ok := strings.Cut(strings.TrimSpace(part), "/")
		p := Platform{OS: goos, Arch: arch}
		// The one table of names: a platform is valid if a feed file
		// named for it parses back to it.
		e, parsed := platform.ParseFeedName(platform.FeedName("app", "1.0.0", goos, arch, platform.Bare))
		if !ok || !parsed || e.OS != goos || e.Arch != arch {
			return nil, fmt.Errorf("%w: platform %q is not os/arch as Go names them (linux/amd64)", ErrBadOption, part)
		}
		for _, q := range out {
			if q == p {
				return nil, fmt.Errorf("%w: platform %s is listed twice", ErrBadOption, p)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// goEnv is the environment that makes go build target p.
func (p Platform) goEnv() []string {
	env := []string{"GOOS=" + p.OS, "GOARCH=" + p.Arch}
	if level, ok := strings.CutPrefix(p.Arch, "armv"); ok {
		env = []string{"GOOS=" + p.OS, "GOARCH=arm", "GOARM=" + level}
	}
	return env
}

// DefaultVersionVar is the variable the version is linked into, as
// examples/hello and the README build it (-X main.version=1.2.3).
const DefaultVersionVar = "main.version"

// Builder cross-builds a Go program of a workspace for each platform of
// a release: go build -trimpath -ldflags "-s -w -X main.version=V", with
// cgo off, so each file is a static, stripped executable that names its
// version. App is required; the zero value of every other field works.
type Builder struct {
	// Repo runs the builds (git.Repo.Command: the build environment, and
	// the whole process group killed when they are cut). Required.
	Repo *git.Repo
	// App names the files: <app>-<version>-<os>-<arch>[.exe], as the
	// package server reads them. Required.
	App string
	// Package is the main package to build, relative to the workspace.
	// If empty, ".".
	Package string
	// VersionVar is the string variable set to the version at link time.
	// If empty, DefaultVersionVar.
	VersionVar string
	// Platforms to build for. If empty, the host's.
	Platforms []Platform
	// Timeout bounds the builds of one release together. If zero,
	// git.DefaultBuildTimeout.
	Timeout time.Duration
	// Go is the go command. If empty, "go" from PATH.
	Go string
}

func (b *Builder) validate() error {
	switch {
	case b.Repo == nil:
		return fmt.Errorf("%w: Builder.Repo is nil", ErrBadOption)
	case b.App == "" || platform.FeedName(b.App, "1.0.0", "linux", "amd64", platform.Bare) == "" ||
		strings.ContainsAny(b.App, `/\ `) || strings.HasPrefix(b.App, "."):
		return fmt.Errorf("%w: app name %q is empty or not a plain name", ErrBadOption, b.App)
	case strings.ContainsAny(b.VersionVar, " '\""):
		return fmt.Errorf("%w: version variable %q", ErrBadOption, b.VersionVar)
	}
	return nil
}

// errBuildDeadline is the cause of the build context when Timeout
// passes, which tells a timeout from the caller's cancellation.
var errBuildDeadline = errors.New("release build deadline")

// Build builds version (without "v") from the workspace ws into the
// folder out, one file per platform, and returns the files' paths. The
// builds' commands and output go to log. A failed build is an error
// wrapping git.ErrBuildFailed, one cut by Timeout git.ErrBuildTimeout;
// either way the files already built are removed, so out never holds part
// of a release.
func (b *Builder) Build(ctx context.Context, ws, version, out string, log io.Writer) (files []string, err error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = git.DefaultBuildTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errBuildDeadline)
	defer cancel()
	pkg, vvar, goCmd := b.Package, b.VersionVar, b.Go
	if pkg == "" {
		pkg = "."
	}
	if vvar == "" {
		vvar = DefaultVersionVar
	}
	if goCmd == "" {
		goCmd = "go"
	}
	platforms := b.Platforms
	if len(platforms) == 0 {
		platforms = []Platform{Host()}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	defer func() {
		if err != nil {
			for _, f := range files {
				os.Remove(f)
			}
			files = nil
		}
	}()
	for _, p := range platforms {
		file := filepath.Join(out, platform.FeedName(b.App, version, p.OS, p.Arch, platform.Bare))
		// -s -w: no symbol table or DWARF, a third smaller; -trimpath: no
		// build machine's paths inside, so builds compare across machines.
		err := b.Repo.Command(ctx, ws, append(p.goEnv(), "CGO_ENABLED=0"), log,
			goCmd, "build", "-trimpath", "-ldflags=-s -w -X "+vvar+"="+version, "-o", file, pkg)
		if context.Cause(ctx) == errBuildDeadline {
			os.Remove(file)
			return files, fmt.Errorf("%w: the builds of %s ran past %v", git.ErrBuildTimeout, version, timeout)
		}
		if err != nil {
			os.Remove(file)
			return files, fmt.Errorf("release: %s for %s: %w", version, p, err)
		}
		files = append(files, file)
	}
	return files, nil
}
