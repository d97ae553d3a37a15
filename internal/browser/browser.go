// Package browser drives headless Chromium for tests that must see a web
// page as a browser renders it: the DOM after parsing (and after the page's
// scripts ran), and a screenshot.
//
// Chromium is Debian's chromium package. Find installs it with apt-get when
// it is missing and the process runs as root, and otherwise fails with
// ErrNoBrowser, so a test never silently skips its browser half.
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// ErrNoBrowser means no Chromium could be found or installed.
var ErrNoBrowser = errors.New("browser: chromium not found")

// candidates are the names Chromium goes by, in the order they are tried.
var candidates = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// installMu serializes apt-get runs of tests in one process: dpkg takes a
// lock and a second apt-get would fail.
var installMu sync.Mutex

// Find returns the path of Chromium, installing Debian's chromium package
// first when none is found and the process runs as root (apt-get update is
// run when the first install attempt fails).
func Find(ctx context.Context) (string, error) {
	if p := lookup(); p != "" {
		return p, nil
	}
	installMu.Lock()
	defer installMu.Unlock()
	if p := lookup(); p != "" {
		return p, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w: install the chromium package (not root, so not installing it)", ErrNoBrowser)
	}
	var log bytes.Buffer
	install := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "chromium")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = &log, &log
		return cmd.Run()
	}
	if err := install(); err != nil {
		update := exec.CommandContext(ctx, "apt-get", "update")
		update.Stdout, update.Stderr = &log, &log
		if uerr := update.Run(); uerr != nil {
			return "", fmt.Errorf("%w: apt-get update: %w\n%s", ErrNoBrowser, uerr, log.Bytes())
		}
		if err := install(); err != nil {
			return "", fmt.Errorf("%w: apt-get install chromium: %w\n%s", ErrNoBrowser, err, log.Bytes())
		}
	}
	if p := lookup(); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("%w: installed, yet not found\n%s", ErrNoBrowser, log.Bytes())
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
