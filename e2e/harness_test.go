package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source/feed"
)

// bins holds the example programs built once for all tests.
var bins struct {
	dir  string
	once sync.Once
	err  error
	mu   sync.Mutex
	made map[string]string // "pkg@version" -> path
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// Every test here builds and runs real programs against real
		// servers: none is a unit test.
		fmt.Println("e2e: end-to-end tests are skipped under -short")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "molt-e2e-bins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.dir = dir
	bins.made = map[string]string{}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const helloPkg = "github.com/molt-go/update/examples/hello"

// program builds pkg with main.version set to version, once per test run,
// and returns the path of the built file. Tests copy it before changing it.
func program(t testing.TB, pkg, version string) string {
	t.Helper()
	key := pkg + "@" + version
	bins.mu.Lock()
	defer bins.mu.Unlock()
	if p, ok := bins.made[key]; ok {
		return p
	}
	out := filepath.Join(bins.dir, strings.ReplaceAll(filepath.Base(pkg)+"-"+version, "/", "_")+exeSuffix())
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+version, "-o", out, pkg)
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build %s: %v\n%s", key, err, msg.Bytes())
	}
	bins.made[key] = out
	return out
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// platformName is the gupper file name of app at version for this machine.
func platformName(app, version string) string {
	return fmt.Sprintf("%s-%s-%s-%s%s", app, version, runtime.GOOS, runtime.GOARCH, exeSuffix())
}

// copyFile copies src to dst with mode.
func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}

// readFile is os.ReadFile that fails the test.
func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeFile is os.WriteFile with syscall.ForkLock held for reading, so
// that no goroutine of this test binary forks while the file is open for
// writing. A child forked then inherits the write descriptor until its own
// exec, and running the file in that window fails with "text file busy"
// (ETXTBSY, golang/go#22315): these tests run in parallel and fork all the
// time. ForkLock is what fork takes for writing.
func writeFile(name string, data []byte, mode os.FileMode) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	return os.WriteFile(name, data, mode)
}

// keys makes a fresh signing key and writes its public half to dir.
func keys(t testing.TB, dir string) (*feed.Signer, string) {
	t.Helper()
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := feed.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "update.pub")
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return s, pubFile
}

// world is one test's setup: a releases folder served by the reference
// server in this process on 127.0.0.1, an installed hello 1.0.0, and a key.
type world struct {
	t        testing.TB
	releases string // folder the server serves
	bin      string // folder of the installed program
	target   string // the installed program
	state    string // the updater's state dir
	pub      string // public key file
	pubPEM   []byte
	signer   *feed.Signer
	server   *server.Server
	http     *httptest.Server
	wrap     func(http.Handler) http.Handler // fault injection, set before requests
	mu       sync.Mutex
}

func newWorld(t testing.TB) *world {
	t.Helper()
	root := t.TempDir()
	w := &world{t: t, releases: filepath.Join(root, "releases"), bin: filepath.Join(root, "bin"), state: filepath.Join(root, "state")}
	for _, d := range []string{w.releases, w.bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.signer, w.pub = keys(t, root)
	w.pubPEM, _ = os.ReadFile(w.pub)
	var err error
	w.server, err = server.New(server.Options{Dir: w.releases, Signer: w.signer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w.http = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		wrap := w.wrap
		w.mu.Unlock()
		var h http.Handler = w.server
		if wrap != nil {
			h = wrap(h)
		}
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.http.Close)
	w.target = filepath.Join(w.bin, "hello"+exeSuffix())
	copyFile(t, program(t, helloPkg, "1.0.0"), w.target, 0o755)
	return w
}

func (w *world) feedURL() string { return w.http.URL + "/hello/" }

func (w *world) setWrap(f func(http.Handler) http.Handler) {
	w.mu.Lock()
	w.wrap = f
	w.mu.Unlock()
}

// publish puts hello at version into the releases folder under its gupper name.
func (w *world) publish(version string) string {
	w.t.Helper()
	dst := filepath.Join(w.releases, platformName("hello", version))
	copyFile(w.t, program(w.t, helloPkg, version), dst, 0o755)
	return dst
}

// runHello runs the installed hello against the world's feed and returns
// its stdout and stderr.
func (w *world) runHello(args ...string) (stdout, stderr string) {
	w.t.Helper()
	return run(w.t, w.target, append([]string{"-feed", w.feedURL(), "-key", w.pub, "-state", w.state}, args...)...)
}

func run(t testing.TB, exe string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstdout: %s\nstderr: %s", exe, args, err, out.Bytes(), errb.Bytes())
	}
	return out.String(), errb.String()
}

// versionOf runs exe -version.
func versionOf(t testing.TB, exe string) string {
	t.Helper()
	out, _ := run(t, exe, "-version")
	return strings.TrimSpace(out)
}

// snapshot records a folder's names, and a file's bytes and mode, to check
// that a refused update changed nothing.
type snapshot struct {
	names []string
	data  []byte
	mode  os.FileMode
}

func snap(t testing.TB, target string) snapshot {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(target))
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot
	for _, e := range ents {
		s.names = append(s.names, e.Name())
	}
	if s.data, err = os.ReadFile(target); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	s.mode = fi.Mode()
	return s
}

// unchanged fails the test unless target and its folder are as in before.
func unchanged(t testing.TB, target string, before snapshot) {
	t.Helper()
	after := snap(t, target)
	if !bytes.Equal(before.data, after.data) {
		t.Errorf("%s changed after a refused update", target)
	}
	if before.mode != after.mode {
		t.Errorf("mode of %s changed: %v -> %v", target, before.mode, after.mode)
	}
	if !slices.Equal(before.names, after.names) {
		t.Errorf("folder of %s changed: %v -> %v (stray files?)", target, before.names, after.names)
	}
}
