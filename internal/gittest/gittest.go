// Package gittest makes real git repositories for tests.
package gittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var install sync.Mutex

// Git returns the path of the git command. When git is missing and the test
// runs as root, it installs Debian's package first; otherwise the test
// fails, loudly: the tests that need git are never skipped.
func Git(t testing.TB) string {
	t.Helper()
	install.Lock()
	defer install.Unlock()
	if p, err := exec.LookPath("git"); err == nil {
		return p
	}
	if os.Geteuid() != 0 {
		t.Fatal("git is not installed and we are not root to install it: apt-get install -y git")
	}
	if out, err := exec.Command("apt-get", "install", "-y", "git").CombinedOutput(); err != nil {
		if out, err := exec.Command("apt-get", "update").CombinedOutput(); err != nil {
			t.Fatalf("apt-get update: %v\n%s", err, out)
		}
		if out2, err := exec.Command("apt-get", "install", "-y", "git").CombinedOutput(); err != nil {
			t.Fatalf("apt-get install git: %v\n%s\n%s", err, out, out2)
		}
	}
	p, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git still missing after apt-get install: %v", err)
	}
	return p
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
