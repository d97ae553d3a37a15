// Package browser drives headless Chromium for tests that must see a web
// page as a browser renders it: the DOM after parsing (and after the page's
// scripts ran), and a screenshot.
//
// Chromium is Debian's chromium package. Nothing here installs it: a test
// that needs it calls Need, which skips without it (and fails under
// MOLT_REQUIRE_TOOLS=1, as in CI, so CI never skips its browser half).
package browser

import (
	"testing"

	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/molt-go/update/internal/testtool"
)

// ErrNoBrowser means no Chromium could be found or installed.
var ErrNoBrowser = errors.New("browser: chromium not found")

// candidates are the names Chromium goes by, in the order they are tried.
var candidates = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Find returns the path of Chromium, or ErrNoBrowser saying how to get
// it. Tests never install it; see testtool.
func Find(context.Context) (string, error) {
	if p := lookup(); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("%w: install Debian's chromium package (apt-get install -y chromium)", ErrNoBrowser)
}

// Need is Find for a test: it skips t when Chromium is missing, or fails
// it under testtool.RequireEnv.
func Need(t testing.TB) string {
	t.Helper()
	return testtool.Find(t, "apt-get install -y chromium", candidates...)
}

func lookup() string {
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	return ""
}

// Chromium is a headless Chromium with a profile of its own.
type Chromium struct {
	// Path is the executable, as Find returns it.
	Path string
	// Profile is the user data directory; a test's temporary directory, so
	// that no state is shared with anything else.
	Profile string
}

// args are the flags that make Chromium headless, quiet and offline but
// for the page asked: no sandbox (tests run as root in containers), no GPU,
// no first-run, update, sync or background traffic.
func (c Chromium) args(extra ...string) []string {
	return append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + c.Profile,
	}, extra...)
}

func (c Chromium) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.Path, c.args(args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("browser: %s: %w\n%s", filepath.Base(c.Path), err, stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// DumpDOM loads url and returns the DOM as Chromium serializes it once the
// page has loaded.
func (c Chromium) DumpDOM(ctx context.Context, url string) (string, error) {
	out, err := c.run(ctx, "--dump-dom", url)
	return string(out), err
}

// Screenshot loads url and writes a PNG of it to file.
func (c Chromium) Screenshot(ctx context.Context, url, file string) error {
	if _, err := c.run(ctx, "--screenshot="+file, "--window-size=1280,900", url); err != nil {
		return err
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() == 0 {
		return fmt.Errorf("browser: no screenshot written to %s (%v)", file, err)
	}
	return nil
}
