// Package testtool finds the outside programs that integration tests run
// (git, versitygw, chromium, PostgreSQL, goreleaser...). Tests never
// install software: a missing tool skips the test with a message saying
// how to get it, and CI, which installs every tool first, sets RequireEnv
// so that any such skip fails instead.
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequireEnv, set to 1 (as .ci/run does), turns a missing tool from a
// skip into a failure, so CI never passes by skipping.
const RequireEnv = "MOLT_REQUIRE_TOOLS"

// Find returns the path of the first of names found on PATH or in the
// directories of the Go toolchain's installs ($GOBIN, $(go env GOPATH)/bin).
// When none is found it skips t (or fails it under RequireEnv) with how,
// the command that installs the tool.
func Find(t testing.TB, how string, names ...string) string {
	t.Helper()
	Integration(t)
	if p := Lookup(names...); p != "" {
		return p
	}
	Missing(t, names[0]+" is not installed", how)
	return ""
}

// Lookup returns the path of the first of names found, or "".
func Lookup(names ...string) string {
	return LookupIn(nil, names...)
}

// FindIn is Find that also looks in dirs, after PATH and the Go bins, in
// order: for tools that a package installs off PATH, such as Debian's
// PostgreSQL in /usr/lib/postgresql/<major>/bin.
func FindIn(t testing.TB, how string, dirs []string, names ...string) string {
	t.Helper()
	Integration(t)
	if p := LookupIn(dirs, names...); p != "" {
		return p
	}
	Missing(t, names[0]+" is not installed", how)
	return ""
}

// LookupIn returns the path of the first of names found on PATH, in the Go
// bins or in dirs, or "".
func LookupIn(dirs []string, names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	for _, dir := range append(goBins(), dirs...) {
		for _, n := range names {
			p := filepath.Join(dir, n)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	return ""
}

// Missing skips t, or fails it under RequireEnv, saying what is missing
// and how to get it.
func Missing(t testing.TB, what, how string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1 forbids skipping); get it with: %s", what, RequireEnv, how)
	}
	t.Skipf("%s; get it with: %s", what, how)
}

// goBins are where go install puts commands, without running the go tool.
func goBins() []string {
	var dirs []string
	if b := os.Getenv("GOBIN"); b != "" {
		dirs = append(dirs, b)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, p := range filepath.SplitList(gopath) {
		if strings.TrimSpace(p) != "" {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	return dirs
}

// Integration skips t under go test -short: a test that runs an outside
// program is not a unit test.
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test (runs outside programs): skipped under -short")
	}
}
