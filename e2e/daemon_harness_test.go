//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source/feed"
)

// The daemon tests run examples/daemon as real processes: a first
// generation started by the test, and every generation it hands its
// listener to, all writing to one pipe that the test reads.

const daemonPkg = "github.com/molt-go/update/e2e/testdata/daemon"

// daemonWait bounds every wait of the daemon tests, so that a broken
// handoff fails instead of hanging; it is never what a test measures.
const daemonWait = 90 * time.Second

// daemonBuilds caches the daemon builds of one test run, by version, fail
// mode and architecture; different builds may link in parallel.
var daemonBuilds struct {
	mu   sync.Mutex
	made map[string]*daemonBuild
}

type daemonBuild struct {
	once sync.Once
	path string
	err  error
}

// daemonBin builds the daemon at version, with the test hook failMode
// ("" for none), for goarch ("" for this machine's), and returns its path.
func daemonBin(t testing.TB, version, failMode, goarch string) string {
	t.Helper()
	path, err := buildDaemon(version, failMode, goarch)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func buildDaemon(version, failMode, goarch string) (string, error) {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	key := version + "/" + failMode + "/" + goarch
	daemonBuilds.mu.Lock()
	if daemonBuilds.made == nil {
		daemonBuilds.made = map[string]*daemonBuild{}
	}
	b, ok := daemonBuilds.made[key]
	if !ok {
		b = &daemonBuild{}
		daemonBuilds.made[key] = b
	}
	daemonBuilds.mu.Unlock()
	b.once.Do(func() {
		b.path = filepath.Join(bins.dir, fmt.Sprintf("daemon-%s-%s-%s", version, failMode, goarch))
		flags := "-X main.version=" + version
		if failMode != "" {
			flags += " -X main.failMode=" + failMode
		}
		cmd := exec.Command("go", "build", "-ldflags", flags, "-o", b.path, daemonPkg)
		cmd.Env = append(os.Environ(), "GOARCH="+goarch, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", key, err, out)
		}
	})
	return b.path, b.err
}

// prebuild links the given versions of the daemon, two at a time.
func prebuild(t *testing.T, versions ...string) {
	t.Helper()
	sem := make(chan struct{}, 2)
	errs := make(chan error, len(versions))
	for _, v := range versions {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := buildDaemon(v, "", "")
			errs <- err
		}()
	}
	for range versions {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// daemonWorld is one daemon test's setup: a releases folder served as a
// signed feed by a server in this process, counting what it serves, and an
// installed daemon.
type daemonWorld struct {
	t        *testing.T
	root     string
	releases string
	target   string // the installed daemon
	state    string
	pidFile  string
	pub      string
	http     *httptest.Server
	feedHits atomic.Int64

	mu        sync.Mutex
	downloads map[string]int // GETs by file name
}

func newDaemonWorld(t *testing.T, first string) *daemonWorld {
	t.Helper()
	root := t.TempDir()
	w := &daemonWorld{
		t:         t,
		root:      root,
		releases:  filepath.Join(root, "releases"),
		target:    filepath.Join(root, "bin", "daemon"),
		state:     filepath.Join(root, "state"),
		pidFile:   filepath.Join(root, "daemon.pid"),
		downloads: map[string]int{},
	}
	for _, d := range []string{w.releases, filepath.Dir(w.target), filepath.Join(root, "staging")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var signer *feed.Signer
	signer, w.pub = keys(t, root)
	srv, err := server.New(server.Options{Dir: w.releases, Signer: signer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w.http = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/feed.json") {
			w.feedHits.Add(1)
		} else {
			w.mu.Lock()
			w.downloads[filepath.Base(r.URL.Path)]++
			w.mu.Unlock()
		}
		srv.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.http.Close)
	copyFile(t, daemonBin(t, first, "", ""), w.target, 0o755)
	return w
}

// assetName is the name under which a release of the daemon is published:
// always this machine's platform, whatever the build inside.
func assetName(version string) string { return platformName("daemon", version) }

// publish puts a build of the daemon into the releases folder, in one
// rename, so that the server never hashes a half-written file.
func (w *daemonWorld) publish(version, failMode, goarch string) {
	w.t.Helper()
	tmp := filepath.Join(w.root, "staging", assetName(version))
	copyFile(w.t, daemonBin(w.t, version, failMode, goarch), tmp, 0o755)
	if err := os.Rename(tmp, filepath.Join(w.releases, assetName(version))); err != nil {
		w.t.Fatal(err)
	}
}

// downloaded returns how many times the asset of version was fetched.
func (w *daemonWorld) downloaded(version string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.downloads[assetName(version)]
}

// waitChecks waits until the daemon has fetched the feed n more times:
// n more rounds of Watch.
func (w *daemonWorld) waitChecks(n int64) {
	w.t.Helper()
	want := w.feedHits.Load() + n
	waitUntil(w.t, fmt.Sprintf("%d feed fetches", want), func() bool { return w.feedHits.Load() >= want })
}

// installedIs fails the test unless the installed daemon is exactly the
// build of version (with no fail mode).
func (w *daemonWorld) installedIs(version string) {
	w.t.Helper()
	got, err := os.ReadFile(w.target)
	if err != nil {
		w.t.Fatal(err)
	}
	want, err := os.ReadFile(daemonBin(w.t, version, "", ""))
	if err != nil {
		w.t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		w.t.Errorf("the installed binary is not daemon %s (it says %s)", version, versionOf(w.t, w.target))
	}
}

// daemonProc is a running daemon, with every generation after it.
type daemonProc struct {
	t      *testing.T
	w      *daemonWorld
	base   string     // http://addr
	exited chan error // the first generation's exit
	eof    chan struct{}

	mu    sync.Mutex
	lines []string
	pids  map[int]bool
}

var pidAttr = regexp.MustCompile(`\bpid=(\d+)`)

// start runs the installed daemon on a free port of 127.0.0.1 and waits
// until it serves.
func (w *daemonWorld) start(args ...string) *daemonProc {
	w.t.Helper()
	d := &daemonProc{t: w.t, w: w, exited: make(chan error, 1), eof: make(chan struct{}), pids: map[int]bool{}}
	r, pw, err := os.Pipe()
	if err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.Command(w.target, append([]string{
		"-addr", "127.0.0.1:0", "-feed", w.http.URL + "/daemon/", "-key", w.pub,
		"-state", w.state, "-pidfile", w.pidFile,
	}, args...)...)
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	pw.Close()
	d.pids[cmd.Process.Pid] = true
	go func() { d.exited <- cmd.Wait() }()
	addr := make(chan string, 1)
	go func() {
		defer close(d.eof)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			if _, a, ok := strings.Cut(line, " serving on http://"); ok {
				select {
				case addr <- a: // the first generation's
				default:
				}
			}
			d.mu.Lock()
			d.lines = append(d.lines, line)
			if m := pidAttr.FindStringSubmatch(line); m != nil {
				pid, _ := strconv.Atoi(m[1])
				d.pids[pid] = true
			}
			d.mu.Unlock()
		}
		r.Close()
	}()
	w.t.Cleanup(d.stop)
	select {
	case a := <-addr:
		d.base = "http://" + a
	case err := <-d.exited:
		w.t.Fatalf("daemon exited before serving: %v\n%s", err, d.log())
	case <-time.After(daemonWait):
		w.t.Fatalf("daemon did not start\n%s", d.log())
	}
	waitUntil(w.t, "the PID file", func() bool { _, err := os.Stat(w.pidFile); return err == nil })
	return d
}

// stop terminates every generation and waits until all have exited.
func (d *daemonProc) stop() {
	d.mu.Lock()
	pids := make([]int, 0, len(d.pids))
	for pid := range d.pids {
		pids = append(pids, pid)
	}
	d.mu.Unlock()
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	select {
	case <-d.eof:
	case <-time.After(daemonWait):
		d.t.Error("a daemon generation is still running")
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if d.t.Failed() {
		d.t.Logf("daemon output:\n%s", d.log())
	}
}

func (d *daemonProc) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}

// logged reports whether a line holds every one of parts.
func (d *daemonProc) logged(parts ...string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, line := range d.lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// waitLog waits until a line holds every one of parts.
func (d *daemonProc) waitLog(parts ...string) {
	d.t.Helper()
	waitUntil(d.t, fmt.Sprintf("a log line with %q", parts), func() bool { return d.logged(parts...) })
}

// pid returns the pid that the PID file names: the generation that serves.
func (d *daemonProc) pid() int {
	d.t.Helper()
	b, err := os.ReadFile(d.w.pidFile)
	if err != nil {
		d.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		d.t.Fatal(err)
	}
	return pid
}

// get returns the body of GET / on a new connection.
func (d *daemonProc) get() string {
	d.t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: daemonWait}
	resp, err := client.Get(d.base + "/")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return string(b)
}

// upgradeTo asks the serving generation to check now (SIGHUP, as systemd's
// ExecReload does) until GET / answers version. The signal is sent again
// if a check found nothing, which happens when it raced the end of the
// previous handoff.
func (d *daemonProc) upgradeTo(version string) {
	d.t.Helper()
	want := "daemon " + version + "\n"
	deadline := time.Now().Add(daemonWait)
	for next := time.Now(); d.get() != want; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			d.t.Fatalf("GET / never answered %q", want)
		}
		if time.Now().After(next) {
			syscall.Kill(d.pid(), syscall.SIGHUP)
			next = time.Now().Add(5 * time.Second)
		}
	}
}

// waitUntil polls cond until it holds, or fails the test after daemonWait.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(daemonWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", daemonWait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
