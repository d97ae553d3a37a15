//go:build unix

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGoRunIsADevBuild: go run of a host program, with a released version
// set by -ldflags, while a newer release is published: it runs its own
// code, says it did not update because it is a development build
// (ErrDevBuild), and replaces nothing: not a request reaches the server,
// and the installed copy of the program is as it was.
func TestGoRunIsADevBuild(t *testing.T) {
	t.Parallel()
	w := newHostWorld(t, "1.0.0")
	w.publish(bannerPkg, "1.1.0")
	before := snap(t, w.target)
	gotmp := filepath.Join(w.root, "gotmp")
	if err := os.MkdirAll(gotmp, 0o755); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "-ldflags", "-X main.version=1.0.0", bannerPkg,
		"-feed", w.feedURL(), "-key", w.pub, "-state", w.state)
	// go run builds into GOTMPDIR/go-build*; the program sees that path as
	// its executable.
	cmd.Env = append(w.env(), "GOTMPDIR="+gotmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run %s: %v\nstdout: %s\nstderr: %s", bannerPkg, err, stdout.Bytes(), stderr.Bytes())
	}
	t.Logf("go run took %v; it said: %s", time.Since(start).Round(time.Millisecond), verdictText(stderr.String()))

	out, errOut := stdout.String(), stderr.String()
	wantLines(t, out, errOut, "app 1.0.0 starting", "app 1.0.0 done")
	wantVerdicts(t, errOut, "dev-build")
	if !strings.Contains(verdictText(errOut), "go run") {
		t.Errorf("the program does not say that it runs under go run:\n%s", errOut)
	}
	if n, m := w.feedHits.Load(), w.downloads(); n != 0 || m != 0 {
		t.Errorf("a development build fetched the feed %d times and %d files", n, m)
	}
	unchanged(t, w.target, before)
	binHolds(t, w.bin, "banner")
	if s := readState(t, w.state); s.Pending != nil || len(s.Origins) != 0 {
		t.Errorf("a development build changed the state: %+v", s)
	}
	// go run removed its build folder; nothing else was left there.
	binHolds(t, gotmp)
}
