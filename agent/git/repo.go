package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/molt-go/update/source"
)

// lsRemoteNoMatch is the exit status of git ls-remote --exit-code when the
// repository exists but has no matching ref.
const lsRemoteNoMatch = 2

// Head asks the repository which commit the branch points at, without
// fetching anything. A repository that does not exist or cannot be read
// gives an error wrapping ErrNoRepo; a missing branch, ErrNoBranch.
func (r *Repo) Head(ctx context.Context) (string, error) {
	ref := "refs/heads/" + r.o.Branch
	out, err := r.run(ctx, "", nil, "ls-remote", "--exit-code", r.o.Repo, ref)
	if err != nil {
		var ge *gitError
		var ee *exec.ExitError
		if errors.As(err, &ge) && errors.As(ge.err, &ee) && ctx.Err() == nil {
			switch ee.ExitCode() {
			case lsRemoteNoMatch:
				ge.kind = ErrNoBranch
				ge.msg = fmt.Sprintf("no branch %q in %s", r.o.Branch, r.o.Repo)
			case 128:
				// git's "fatal:" exit: the repository is missing, is not
				// a repository, or refused us.
				ge.kind = ErrNoRepo
			}
		}
		return "", err
	}
	for line := range strings.Lines(string(out)) {
		hash, name, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if ok && name == ref && isHash(hash) {
			return hash, nil
		}
	}
	return "", &gitError{args: []string{"ls-remote", r.o.Repo, ref}, msg: "unexpected output: " + string(out), err: source.ErrBadMetadata, kind: ErrGit}
}

var hashRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

func isHash(s string) bool { return hashRE.MatchString(s) }

// Fetch brings the branch and the tags into the mirror and resolves hash,
// which must be a commit of the branch (as Head returned it). git's progress
// messages go to log, if not nil.
func (r *Repo) Fetch(ctx context.Context, hash string, log io.Writer) (Commit, error) {
	if !isHash(hash) {
		return Commit{}, fmt.Errorf("%w: %q is not a commit hash", ErrGit, hash)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := os.Stat(filepath.Join(r.mirror, "HEAD")); err != nil {
		if err := os.MkdirAll(r.o.Workdir, 0o755); err != nil {
			return Commit{}, fmt.Errorf("git: %w", err)
		}
		if _, err := r.run(ctx, r.o.Workdir, log, "init", "--quiet", "--bare", r.mirror); err != nil {
			return Commit{}, err
		}
	}
	ref := "refs/heads/" + r.o.Branch
	if _, err := r.run(ctx, r.mirror, log, "fetch", "--quiet", "--prune", "--force", "--tags", r.o.Repo, "+"+ref+":"+ref); err != nil {
		return Commit{}, err
	}
	return r.resolve(ctx, hash)
}

// resolve reads hash's time, subject and tags from the mirror.
func (r *Repo) resolve(ctx context.Context, hash string) (Commit, error) {
	out, err := r.run(ctx, r.mirror, nil, "log", "-1", "--format=%H%x00%ct%x00%s", hash, "--")
	if err != nil {
		return Commit{}, err
	}
	parts := strings.SplitN(strings.TrimSpace(string(out)), "\x00", 3)
	if len(parts) != 3 {
		return Commit{}, fmt.Errorf("%w: git log %s: unexpected output %q", ErrGit, hash, out)
	}
	secs, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return Commit{}, fmt.Errorf("%w: git log %s: bad time %q", ErrGit, hash, parts[1])
	}
	pointsAt, err := r.run(ctx, r.mirror, nil, "tag", "--points-at", hash)
	if err != nil {
		return Commit{}, err
	}
	merged, err := r.run(ctx, r.mirror, nil, "tag", "--merged", hash)
	if err != nil {
		return Commit{}, err
	}
	c := Commit{Hash: parts[0], Time: time.Unix(secs, 0).UTC(), Subject: parts[2]}
	c.Version = Version(c.Time, c.Hash, strings.Fields(string(pointsAt)), strings.Fields(string(merged)))
	return c, nil
}

// Checkout makes a fresh workspace for c under Workdir/workspaces, named
// after its version, and checks the commit out there. The caller owns the
// directory and removes it when done (supervise.Supervisor does, for the
// workspaces it ran).
func (r *Repo) Checkout(ctx context.Context, c Commit, log io.Writer) (string, error) {
	root := filepath.Join(r.o.Workdir, "workspaces")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("git: %w", err)
	}
	ws, err := os.MkdirTemp(root, safeName(c.Version)+"-")
	if err != nil {
		return "", fmt.Errorf("git: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A local clone hard-links the mirror's objects: fast and small.
	if _, err := r.run(ctx, root, log, "clone", "--quiet", "--no-checkout", r.mirror, ws); err != nil {
		os.RemoveAll(ws)
		return "", err
	}
	if _, err := r.run(ctx, ws, log, "checkout", "--quiet", "--detach", c.Hash); err != nil {
		os.RemoveAll(ws)
		return "", err
	}
	return ws, nil
}

// safeName keeps a version usable as part of a file name everywhere.
func safeName(v string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '_'
	}, v)
}
