package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// pair is one old and new binary to patch between.
type pair struct {
	name, desc string
	old, new   string // paths
}

// goBuild runs the go tool in dir with the environment the builds share:
// no VCS stamping (an archive has no .git), the local toolchain.
func goBuild(dir string, env []string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local"}, env...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return nil
}

const helloSource = `package main

import "fmt"

var version = "dev"

func main() { fmt.Println("hello, this is version", version) }
`

// buildHello builds a small program twice, stripped, with only the version
// string set at link time changed.
func buildHello(work string) (pair, error) {
	src := filepath.Join(work, "hello-src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte(helloSource), 0o644)
	p := pair{name: "hello", desc: "hello, -X main.version=1.0.0 -> 1.0.1", old: filepath.Join(work, "hello-1.0.0"), new: filepath.Join(work, "hello-1.0.1")}
	for _, b := range []struct{ v, out string }{{"1.0.0", p.old}, {"1.0.1", p.new}} {
		if err := goBuild(src, []string{"GOWORK=off"}, "build", "-trimpath", "-ldflags=-s -w -X main.version="+b.v, "-o", b.out, "."); err != nil {
			return p, err
		}
	}
	return p, nil
}

// buildPkgserver builds the package server at two commits of the
// repository, each from a clean `git archive` of it. paths lists where the
// package may be, first match wins per commit, since it moves.
func buildPkgserver(work, repo, oldRev, newRev, paths string) (pair, error) {
	var bins [2]string
	var names [2]string
	for i, rev := range []string{oldRev, newRev} {
		out, err := exec.Command("git", "-C", repo, "rev-parse", "--short", rev).Output()
		if err != nil {
			return pair{}, fmt.Errorf("git rev-parse %s: %v", rev, err)
		}
		hash := strings.TrimSpace(string(out))
		dir := filepath.Join(work, "pkgserver-src-"+hash)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return pair{}, err
		}
		archive := exec.Command("git", "-C", repo, "archive", hash)
		untar := exec.Command("tar", "-x", "-C", dir)
		if untar.Stdin, err = archive.StdoutPipe(); err != nil {
			return pair{}, err
		}
		if err := untar.Start(); err != nil {
			return pair{}, err
		}
		if err := archive.Run(); err != nil {
			return pair{}, fmt.Errorf("git archive %s: %v", hash, err)
		}
		if err := untar.Wait(); err != nil {
			return pair{}, fmt.Errorf("tar -x of %s: %v", hash, err)
		}
		pkg := ""
		for _, p := range strings.Split(paths, ",") {
			if _, err := os.Stat(filepath.Join(dir, p, "main.go")); err == nil {
				pkg = p
				break
			}
		}
		if pkg == "" {
			return pair{}, fmt.Errorf("commit %s has none of %s (set -pkgserver)", hash, paths)
		}
		bins[i] = filepath.Join(work, "pkgserver-"+hash)
		names[i] = hash + ":" + strings.TrimPrefix(pkg, "./")
		if err := goBuild(dir, nil, "build", "-trimpath", "-ldflags=-s -w", "-o", bins[i], "./"+strings.TrimPrefix(pkg, "./")); err != nil {
			return pair{}, err
		}
	}
	return pair{name: "pkgserver", desc: "pkgserver " + names[0] + " -> " + names[1], old: bins[0], new: bins[1]}, nil
}

// buildVersitygw installs two releases of versitygw from the module proxy,
// stripped, each into a folder of its own.
func buildVersitygw(work, oldV, newV string) (pair, error) {
	var bins [2]string
	for i, v := range []string{oldV, newV} {
		gobin := filepath.Join(work, "versitygw-"+v)
		if err := goBuild(work, []string{"GOWORK=off", "GOBIN=" + gobin}, "install", "-ldflags=-s -w", "github.com/versity/versitygw/cmd/versitygw@"+v); err != nil {
			return pair{}, err
		}
		bins[i] = filepath.Join(gobin, "versitygw")
	}
	return pair{name: "versitygw", desc: "versitygw " + oldV + " -> " + newV, old: bins[0], new: bins[1]}, nil
}
