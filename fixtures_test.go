package update

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/apply"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// Helpers shared by the internal tests of download, extract, probe,
// confirm, install, startup, state, watch, lock and restart. The older
// helpers (memSource, newMem, testOptions, noKeys) live in update_test.go.

// asset returns an asset of body for this platform, with its digest.
func asset(name string, body []byte) source.Asset {
	sum := sha256.Sum256(body)
	return source.Asset{Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH, Size: int64(len(body)),
		Digest: verify.Digest{Algorithm: verify.SHA256, Sum: sum[:]}}
}

// memOf is a memSource listing one release per version, each with the
// asset given; files holds the bytes by asset name.
func memOf(serial int64, rels map[string]source.Asset, files map[string][]byte) *memSource {
	m := &memSource{listing: source.Listing{App: "app", Serial: serial}, files: files}
	versions := make([]string, 0, len(rels))
	for v := range rels {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		m.listing.Releases = append(m.listing.Releases, source.Release{Version: v, Assets: []source.Asset{rels[v]}})
	}
	return m
}

// setListing replaces what m serves, under its lock.
func (m *memSource) setListing(l source.Listing, files map[string][]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listing, m.files = l, files
}

// logBuffer collects log output for assertions; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// capture makes o log into a buffer it returns.
func capture(o *Options) *logBuffer {
	b := &logBuffer{}
	o.Logger = slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return b
}

// events records the events of an updater; safe for concurrent use.
type events struct {
	mu  sync.Mutex
	evs []Event
}

func (e *events) record(o *Options) *events {
	o.OnEvent = func(ev Event) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.evs = append(e.evs, ev)
	}
	return e
}

func (e *events) all() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.evs)
}

func (e *events) steps() []Step {
	var s []Step
	for _, ev := range e.all() {
		s = append(s, ev.Step)
	}
	return s
}

// of returns the events of step s.
func (e *events) of(s Step) []Event {
	var out []Event
	for _, ev := range e.all() {
		if ev.Step == s {
			out = append(out, ev)
		}
	}
	return out
}

// readStateFile reads StateDir/state.json as the updater does.
func readStateFile(t *testing.T, dir string) *state {
	t.Helper()
	s, err := loadState(dir)
	if err != nil {
		t.Fatalf("reading the state: %v", err)
	}
	return s
}

// rawState is the state file as JSON, for assertions on its form.
func rawState(t *testing.T, dir string) map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(statePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("state file %s: %v", data, err)
	}
	return m
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func content(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// onlyFiles fails if dir holds anything but the names given.
func onlyFiles(t *testing.T, dir string, keep ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(keep, e.Name()) {
			t.Errorf("left behind in %s: %s", dir, e.Name())
		}
	}
}

// backupName is where apply.Replace keeps the old version of target.
func backupName(t *testing.T, target string) string {
	t.Helper()
	p, err := apply.BackupPath(target)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(p)
}

// waitFor polls cond every 5 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tarGz builds a .tar.gz holding files (path -> bytes), in the order given
// by names.
func tarGz(t *testing.T, names []string, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	dirs := map[string]bool{}
	for _, n := range names {
		if d := filepath.Dir(n); d != "." && !dirs[d] {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				t.Fatal(err)
			}
		}
		b := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipOf builds a .zip holding files, in the order given by names.
func zipOf(t *testing.T, names []string, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// platformName is the feed's name for an asset of version for this
// platform, with ext (".tar.gz", ".zip" or "").
func platformName(app, version, ext string) string {
	return app + "-" + version + "-" + runtime.GOOS + "-" + runtime.GOARCH + ext
}

// sourceFunc adapts functions to a source.Source, for sources that
// misbehave in one way.
type sourceFunc struct {
	releases func(ctx context.Context) (*source.Listing, error)
	open     func(ctx context.Context, a source.Asset, off int64) (io.ReadCloser, error)
}

func (s *sourceFunc) Releases(ctx context.Context, _ verify.Verifier) (*source.Listing, error) {
	return s.releases(ctx)
}

func (s *sourceFunc) Open(ctx context.Context, a source.Asset, off int64) (io.ReadCloser, error) {
	return s.open(ctx, a, off)
}

// contains reports whether s contains every one of subs.
func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// opts is testOptions whose executable lock (in the shared temporary
// folder, see targetLockPath) is removed when the test ends, so that the
// tests leave nothing behind.
func opts(t *testing.T, src source.Source) Options {
	t.Helper()
	o := testOptions(t, src)
	forgetLock(t, o.Target)
	return o
}

// forgetLock removes target's lock file when the test ends.
func forgetLock(t *testing.T, target string) {
	t.Helper()
	path := targetLockPath(target)
	t.Cleanup(func() { os.Remove(path) })
}
