// Package git keeps track of a branch of a git repository, so that an agent
// can build and run each new commit of another program (see the deploy
// package and examples/runner).
//
// A Repo polls the branch with git ls-remote, which is cheap, and fetches
// only when the branch moved. Fetched objects live in a bare mirror under
// Options.Workdir; each version is checked out into a fresh workspace of its
// own, and the configured build commands run there. Every commit is a release
// whose version is the semver of its tag when it is tagged, and a Go
// pseudo-version otherwise (v0.0.0-20260102150405-abcdefabcdef, or
// v1.2.4-0.20260102150405-abcdefabcdef after a v1.2.3 tag), so versions
// sort the way the go command sorts them.
//
// Everything is done with the git command, so the user's credentials,
// proxies and SSH keys work as they do in a shell. git is never allowed to
// prompt: a repository that wants a password it does not have fails at once.
package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/molt-go/update/source"
)

// Errors returned by this package, to be tested with errors.Is. ErrNoRepo
// and ErrNoBranch also match source.ErrNotFound.
var (
	// ErrNoRepo means the repository does not exist or cannot be read.
	ErrNoRepo = errors.New("git: repository not found")
	// ErrNoBranch means the repository has no such branch.
	ErrNoBranch = errors.New("git: branch not found")
	// ErrGit means a git command failed for another reason; the error
	// carries git's own message.
	ErrGit = errors.New("git: command failed")
	// ErrBuildFailed means a build command exited with an error.
	ErrBuildFailed = errors.New("git: build failed")
	// ErrBuildTimeout means the build ran longer than Options.BuildTimeout
	// and was killed, with every process it started.
	ErrBuildTimeout = errors.New("git: build timed out")
	// ErrNoGit means the git command is not installed.
	ErrNoGit = errors.New("git: git command not found")
)

// Defaults of Options.
const (
	DefaultBranch       = "main"
	DefaultBuildTimeout = 10 * time.Minute
	DefaultGitTimeout   = 5 * time.Minute
)

// Options says which repository and branch to follow and how to build it.
// The zero value of every field but Repo works.
type Options struct {
	// Repo is what git clone accepts: a URL, an scp-like address or a local
	// path. Required.
	Repo string
	// Branch is the branch to follow. If empty, DefaultBranch ("main").
	Branch string
	// Workdir holds the mirror and the workspaces. If empty, a directory
	// named molt-git under os.UserCacheDir().
	Workdir string
	// Build are shell commands run one after the other in the workspace
	// (sh -c on unix, cmd /C on windows), such as "go build -o app .".
	// If empty, nothing is built.
	Build []string
	// BuildEnv is added to the environment of the build commands.
	BuildEnv []string
	// BuildTimeout bounds all build commands of one version together; a
	// build that runs longer is killed with every process it started. If
	// zero, DefaultBuildTimeout (10 minutes).
	BuildTimeout time.Duration
	// GitTimeout bounds each git command, so that a server that never
	// answers cannot stall the watcher. If zero, DefaultGitTimeout.
	GitTimeout time.Duration

	// gitPath is a test seam: the git executable; empty means look it up.
	gitPath string
}

// Repo follows one branch of one repository. Its methods may be called from
// several goroutines; fetches into the mirror are serialized.
type Repo struct {
	o      Options
	git    string
	mirror string
	mu     sync.Mutex // guards the mirror
	hook   chan struct{}
}

// New checks o and returns a Repo. It does not touch the network; Head does.
func New(o Options) (*Repo, error) {
	if o.Repo == "" {
		return nil, fmt.Errorf("git: Options.Repo is empty: %w", ErrNoRepo)
	}
	if o.Branch == "" {
		o.Branch = DefaultBranch
	}
	if o.BuildTimeout <= 0 {
		o.BuildTimeout = DefaultBuildTimeout
	}
	if o.GitTimeout <= 0 {
		o.GitTimeout = DefaultGitTimeout
	}
	if o.Workdir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("git: no Options.Workdir and %w", err)
		}
		o.Workdir = filepath.Join(cache, "molt-git")
	}
	wd, err := filepath.Abs(o.Workdir)
	if err != nil {
		return nil, fmt.Errorf("git: %w", err)
	}
	o.Workdir = wd
	// A local path is made absolute, since git runs in other directories.
	if fi, err := os.Stat(o.Repo); err == nil && fi.IsDir() {
		if abs, err := filepath.Abs(o.Repo); err == nil {
			o.Repo = abs
		}
	}
	gitPath := o.gitPath
	if gitPath == "" {
		gitPath, err = exec.LookPath("git")
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoGit, err)
		}
	}
	return &Repo{o: o, git: gitPath, mirror: filepath.Join(wd, "mirror.git"), hook: make(chan struct{}, 1)}, nil
}

// Branch is the branch followed.
func (r *Repo) Branch() string { return r.o.Branch }

// URL is the repository followed, as given (local paths made absolute).
func (r *Repo) URL() string { return r.o.Repo }

// gitError is the error of one git command, with git's message.
type gitError struct {
	args []string
	msg  string
	err  error // the exec error
	kind error // ErrGit, ErrNoRepo or ErrNoBranch
}

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.msg)
	if msg == "" {
		msg = e.err.Error()
	}
	return fmt.Sprintf("%v: git %s: %s", e.kind, strings.Join(e.args, " "), msg)
}

func (e *gitError) Unwrap() []error {
	errs := []error{e.kind, e.err}
	if e.kind == ErrNoRepo || e.kind == ErrNoBranch {
		errs = append(errs, source.ErrNotFound)
	}
	return errs
}

// run runs git with args in dir and returns its standard output. Standard
// error goes to log when it is not nil, and into the error.
func (r *Repo) run(ctx context.Context, dir string, log io.Writer, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.GitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.git, args...)
	cmd.Dir = dir
	// Never prompt for a password: there is nobody to answer. LC_ALL=C keeps
	// messages in English for whoever reads the log.
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GCM_INTERACTIVE=never", "LC_ALL=C")
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if log != nil {
		cmd.Stderr = io.MultiWriter(&stderr, log)
	}
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (after %v)", ctx.Err(), r.o.GitTimeout)
		}
		return stdout.Bytes(), &gitError{args: args, msg: stderr.String(), err: err, kind: ErrGit}
	}
	return stdout.Bytes(), nil
}
