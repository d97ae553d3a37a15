package e2e

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const quickstartPkg = "github.com/molt-go/update/examples/quickstart"

// forbidden are the modules the quick-start program (update, source/feed
// and verify, nothing else) must not link: each is the weight of a feature
// that lives in a package of its own (cosign bundles, S3, GitHub, the
// server's database, progress bars) or of a decompressor that only
// programs importing compress/zstd or compress/xz get. A path ending in
// "/" forbids every module under it.
var forbidden = []string{
	"github.com/sigstore/",
	"google.golang.org/protobuf",
	"github.com/google/go-containerregistry",
	"github.com/aws/",
	"github.com/google/go-github/",
	"modernc.org/",
	"github.com/schollz/progressbar",
	"github.com/klauspost/compress",
	"github.com/ulikunitz/xz",
}

// isForbidden reports whether module path is in the forbidden list.
func isForbidden(path string) bool {
	for _, f := range forbidden {
		if strings.HasSuffix(f, "/") {
			if strings.HasPrefix(path, f) {
				return true
			}
		} else if path == f || strings.HasPrefix(path, f+"/") {
			return true
		}
	}
	return false
}

// TestWeightQuickstart builds the README's quick-start program and fails
// if a forbidden module is linked into it (what go version -m lists), then
// runs it with an unreachable feed: the update check fails at once, and
// the program greets and exits 0 all the same.
func TestWeightQuickstart(t *testing.T) {
	exe := program(t, quickstartPkg, "1.0.0")

	bi, err := buildinfo.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	var linked []string
	core := false
	for _, m := range bi.Deps {
		paths := []string{m.Path}
		if m.Replace != nil {
			paths = append(paths, m.Replace.Path)
		}
		for _, p := range paths {
			linked = append(linked, p)
			if p == "github.com/molt-go/update" {
				core = true
			}
			if isForbidden(p) {
				t.Errorf("the quick-start program links %s %s, which it must not", p, m.Version)
			}
		}
	}
	if !core {
		t.Fatalf("github.com/molt-go/update is not among the modules linked into %s: %v", exe, linked)
	}
	if fi, err := os.Stat(exe); err == nil {
		t.Logf("quick-start program: %d bytes (not stripped), modules linked: %v", fi.Size(), linked)
	}

	// Nothing listens on port 1 of the loopback: the check fails fast.
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-feed", "http://127.0.0.1:1/hello/")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "APPDATA="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("quickstart: %v after %v\nstdout: %s\nstderr: %s", err, time.Since(start), stdout.Bytes(), stderr.Bytes())
	}
	if got, want := stdout.String(), "hello 1.0.0\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	// The check did run (this is a release, not a development build) and
	// its failure was logged, not fatal.
	if !strings.Contains(stderr.String(), "127.0.0.1:1") {
		t.Errorf("stderr does not log the failed check against the feed:\n%s", stderr.Bytes())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("quickstart took %v with an unreachable feed, want a few seconds at most", d)
	}
}
