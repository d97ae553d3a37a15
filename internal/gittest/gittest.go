// Package gittest makes real git repositories for tests.
package gittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molt-go/update/internal/testtool"
)

// Git returns the path of the git command, or skips the test (fails it
// under testtool.RequireEnv) when git is not installed.
func Git(t testing.TB) string {
	t.Helper()
	return testtool.Find(t, "apt-get install -y git", "git")
}

// Repo is a repository in the test's temporary folder, on branch main,
// with a local identity and no commit signing.
type Repo struct {
	t   testing.TB
	git string
	Dir string
}

// New makes an empty repository.
func New(t testing.TB) *Repo {
	t.Helper()
	r := &Repo{t: t, git: Git(t), Dir: filepath.Join(t.TempDir(), "origin")}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.Run("init", "--quiet", "--initial-branch=main")
	r.Run("config", "user.name", "Test")
	r.Run("config", "user.email", "test@example.com")
	r.Run("config", "commit.gpgsign", "false")
	return r
}

// Run runs git with args in the repository and returns its trimmed output;
// a failure fails the test.
func (r *Repo) Run(args ...string) string {
	r.t.Helper()
	cmd := exec.Command(r.git, args...)
	cmd.Dir = r.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Write writes a file of the work tree.
func (r *Repo) Write(name, text string) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.Dir, name), []byte(text), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// Commit writes name with text, commits everything with msg and returns
// the commit's hash.
func (r *Repo) Commit(name, text, msg string) string {
	r.t.Helper()
	r.Write(name, text)
	r.Run("add", ".")
	r.Run("commit", "--quiet", "-m", msg)
	return r.Run("rev-parse", "HEAD")
}
