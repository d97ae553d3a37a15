//go:build unix

// The first hour of a real program (the inode checks need unix): a host
// program that prints before it calls New, a broken build that never calls
// it, an install of the running version, go run, a corrupt state file.
// probe_test.go, devbuild_test.go, switch_test.go and exec_load_test.go
// hold the rest; the helpers shared by them are here.

package e2e

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source/feed"
)

const (
	bannerPkg = "github.com/molt-go/update/e2e/testdata/banner"
	nonewPkg  = "github.com/molt-go/update/e2e/testdata/nonew"
)

// hostWorld is one test of a host program (e2e/testdata/banner): a
// releases folder served as signed feeds, an installed program, its own
// state directory, and its own temporary folder (TMPDIR of every process
// the test runs, so the executable's lock file, which the updater keeps in
// the temporary folder, goes away with the test).
type hostWorld struct {
	t        *testing.T
	root     string
	releases string
	staging  string
	bin      string // the folder of the installed program
	target   string // the installed program
	state    string
	tmp      string
	pub      string // public key file
	signer   *feed.Signer
	base     string // the server's URL, ending in "/"

	// Set only for the in-process server (newHostWorld), which counts what
	// it serves.
	feedHits atomic.Int64
	mu       sync.Mutex
	assets   map[string]int // GETs of files other than the feed, by name
}

func newHostDirs(t *testing.T, installed string) *hostWorld {
	t.Helper()
	root := t.TempDir()
	w := &hostWorld{
		t:        t,
		root:     root,
		releases: filepath.Join(root, "releases"),
		staging:  filepath.Join(root, "staging"),
		bin:      filepath.Join(root, "bin"),
		state:    filepath.Join(root, "state"),
		tmp:      filepath.Join(root, "tmp"),
		assets:   map[string]int{},
	}
	for _, d := range []string{w.releases, w.staging, w.bin, w.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.target = filepath.Join(w.bin, "banner")
	copyFile(t, program(t, bannerPkg, installed), w.target, 0o755)
	return w
}

// newHostWorld serves the releases with the reference server in this
// process, counting the feed's fetches and every other GET.
func newHostWorld(t *testing.T, installed string) *hostWorld {
	t.Helper()
	w := newHostDirs(t, installed)
	w.signer, w.pub = keys(t, w.root)
	srv, err := server.New(server.Options{Dir: w.releases, Signer: w.signer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/feed.json") {
			w.feedHits.Add(1)
		} else {
			w.mu.Lock()
			w.assets[filepath.Base(r.URL.Path)]++
			w.mu.Unlock()
		}
		srv.ServeHTTP(rw, r)
	}))
	t.Cleanup(hs.Close)
	w.base = hs.URL + "/"
	return w
}

// newHostWorldPkgserver serves the releases with the real pkgserver
// command, whose key it makes with pkgserver keygen.
func newHostWorldPkgserver(t *testing.T, installed string) *hostWorld {
	t.Helper()
	w := newHostDirs(t, installed)
	ps := startPkgserver(t, filepath.Join(w.root, "pkgserver"))
	w.releases, w.pub, w.base = ps.releases, ps.pub, ps.base
	return w
}

// publish puts a build of pkg at version into the releases folder as
// banner's release, in one rename, and returns the build's path.
func (w *hostWorld) publish(pkg, version string) string {
	w.t.Helper()
	built := program(w.t, pkg, version)
	name := platformName("banner", version)
	tmp := filepath.Join(w.staging, name)
	copyFile(w.t, built, tmp, 0o755)
	if err := os.Rename(tmp, filepath.Join(w.releases, name)); err != nil {
		w.t.Fatal(err)
	}
	return built
}

func (w *hostWorld) feedURL() string { return w.base + "banner/" }

// env is the environment of the processes the test runs.
func (w *hostWorld) env() []string { return append(os.Environ(), "TMPDIR="+w.tmp) }

// run runs the installed program against the world's feed; it must exit 0.
func (w *hostWorld) run(args ...string) (stdout, stderr string) {
	w.t.Helper()
	return runWithEnv(w.t, w.env(), w.target, append([]string{"-feed", w.feedURL(), "-key", w.pub, "-state", w.state}, args...)...)
}

// downloads is how many times files other than the feed were fetched.
func (w *hostWorld) downloads() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.assets {
		n += c
	}
	return n
}

var verdictLine = regexp.MustCompile(`(?m)^banner: update (\S+): `)

// verdicts returns the kind of each "banner: update <kind>:" line of
// stderr, one per run of the program (an exec'd generation prints its own).
func verdicts(stderr string) []string {
	var out []string
	for _, m := range verdictLine.FindAllStringSubmatch(stderr, -1) {
		out = append(out, m[1])
	}
	return out
}

// verdictText is the first "banner: update" line of stderr.
func verdictText(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		if verdictLine.MatchString(line + "\n") {
			return line
		}
	}
	return ""
}

// wantVerdicts fails the test unless the program's runs said exactly want.
func wantVerdicts(t *testing.T, stderr string, want ...string) {
	t.Helper()
	if got := verdicts(stderr); !slices.Equal(got, want) {
		t.Fatalf("the program's updater said %q, want %q\nstderr:\n%s", got, want, stderr)
	}
}

// wantLines fails the test unless stdout is exactly the lines want.
func wantLines(t *testing.T, stdout, stderr string, want ...string) {
	t.Helper()
	got := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if !slices.Equal(got, want) {
		t.Fatalf("the program printed %q, want %q\nstderr:\n%s", got, want, stderr)
	}
}

// binHolds fails the test unless dir holds exactly the names want.
func binHolds(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %q, want exactly %q", dir, got, want)
	}
}

// stateFile is state.json as the updater writes it (see state.go).
type stateFile struct {
	Origins map[string]struct {
		Serial int64 `json:"serial"`
	} `json:"origins"`
	Pending *struct {
		Version string `json:"version"`
	} `json:"pending"`
	Bad []struct {
		Version string `json:"version"`
		Why     string `json:"why"`
	} `json:"bad"`
}

func readState(t *testing.T, dir string) stateFile {
	t.Helper()
	var s stateFile
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return s
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("state.json: %v\n%s", err, data)
	}
	return s
}

// noStrays fails the test if the state directory holds anything but the
// state file and the lock (a probe's answer file left, a staged file).
func noStrays(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "state.json" && e.Name() != "lock" {
			t.Errorf("the state directory %s holds a stray %s", dir, e.Name())
		}
	}
}

// fileID is what tells a file rewritten in place or replaced from one left
// alone.
type fileID struct {
	ino   uint64
	mtime time.Time
	size  int64
}

func idOf(t *testing.T, path string) fileID {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("no inode for %s", path)
	}
	return fileID{ino: uint64(st.Ino), mtime: fi.ModTime(), size: fi.Size()}
}

// TestInstallRunningVersion: Install of the version that runs says
// ErrUpToDate at once: the binary is not rewritten (same inode, same
// mtime) and nothing is fetched.
func TestInstallRunningVersion(t *testing.T) {
	t.Parallel()
	w := newHostWorld(t, "1.0.0")
	w.publish(bannerPkg, "1.0.0")
	w.publish(bannerPkg, "1.1.0")
	// An mtime in the past, so that a rewrite within the same clock tick
	// would still show.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(w.target, old, old); err != nil {
		t.Fatal(err)
	}
	before, snapBefore := idOf(t, w.target), snap(t, w.target)

	start := time.Now()
	out, errOut := w.run("-install", "1.0.0")
	took := time.Since(start)
	wantLines(t, out, errOut, "app 1.0.0 starting", "app 1.0.0 done")
	wantVerdicts(t, errOut, "up-to-date")
	if after := idOf(t, w.target); after != before {
		t.Errorf("the binary was touched by an install of the running version: %+v -> %+v", before, after)
	}
	unchanged(t, w.target, snapBefore)
	binHolds(t, w.bin, "banner")
	if n := w.downloads(); n != 0 {
		t.Errorf("an install of the running version downloaded %d files: %v", n, w.assets)
	}
	t.Logf("install of the running version: %v, %d feed fetches", took.Round(time.Millisecond), w.feedHits.Load())
	t.Run("no request at all", func(t *testing.T) {
		// "At once": nothing is to be installed, so nothing need be asked.
		if n := w.feedHits.Load(); n != 0 {
			t.Errorf("Install(%q) while %s runs fetched the feed %d times before saying ErrUpToDate; "+
				"want no request (update.go: Updater.run lists releases before it compares the version asked with the running one)",
				"1.0.0", "1.0.0", n)
		}
	})
}

// TestCorruptStateFile: with a state file that cannot be read, the
// program does its job and exits 0; its Check returns the state error,
// naming the file, and nothing is fetched, installed or reset.
func TestCorruptStateFile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		data []byte
		why  string // in the error
	}{
		{"truncated", []byte(`{"origins": {"http://127.0.0.1/banner/feed.json": {"serial": 17`), "corrupt"},
		{"not json", []byte("\x00\x01garbage\xff"), "corrupt"},
		{"wrong types", []byte(`{"origins": [1, 2, 3], "bad": 7}`), "corrupt"},
		// Valid JSON that the updater would read, but for its size.
		{"larger than the limit", []byte(`{"origins": {}, "padding": "` + strings.Repeat("a", 1<<20) + `"}`), "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newHostWorld(t, "1.0.0")
			w.publish(bannerPkg, "1.1.0")
			if err := os.MkdirAll(w.state, 0o700); err != nil {
				t.Fatal(err)
			}
			stateJSON := filepath.Join(w.state, "state.json")
			if err := os.WriteFile(stateJSON, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			before := snap(t, w.target)

			out, errOut := w.run() // exits 0, or the test fails
			wantLines(t, out, errOut, "app 1.0.0 starting", "app 1.0.0 done")
			wantVerdicts(t, errOut, "state")
			if !strings.Contains(verdictText(errOut), c.why) {
				t.Errorf("the state error does not say %q:\n%s", c.why, errOut)
			}
			if !strings.Contains(errOut, "banner: state file "+stateJSON+"\n") {
				t.Errorf("the state error does not name %s:\n%s", stateJSON, errOut)
			}
			if data, err := os.ReadFile(stateJSON); err != nil || !slices.Equal(data, c.data) {
				t.Errorf("the corrupt state file was changed (err %v): it holds the replay counters and must be left for a person", err)
			}
			if n, m := w.feedHits.Load(), w.downloads(); n != 0 || m != 0 {
				t.Errorf("with updating off, the program fetched the feed %d times and %d files", n, m)
			}
			unchanged(t, w.target, before)
			binHolds(t, w.bin, "banner")
		})
	}
}
