package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// TestDeltaUpdateSendsThePatch: hello 1.0.0 updates to 1.1.0 through a
// patch the reference server made, and the bytes the server sent, counted
// by a proxy in front of it, are the patch's, not the binary's.
func TestDeltaUpdateSendsThePatch(t *testing.T) {
	t.Parallel()
	d, oldBytes, _ := startHelloDeltaServer(t)
	h := d.install(t, "client", oldBytes)
	out, errOut := h.run(t)
	if strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("hello printed %q, want hello 1.1.0\nstderr: %s", out, errOut)
	}
	sameBytes(t, h.target, d.published)
	full, patch := d.sentBytes()
	if full != 0 || patch == 0 {
		t.Fatalf("sent %d bytes of the binary and %d of patches, want only a patch; all: %v\n%s", full, patch, d.sentAll(), errOut)
	}
	if !strings.Contains(errOut, "bytes saved") {
		t.Errorf("hello does not say the patch saved bytes:\n%s", errOut)
	}
	t.Logf("patch: %d bytes sent for a %s update", patch, platformName("hello", "1.1.0"))
}

// shared are the patches the real pkgserver makes in the background, once
// per test run (tens of seconds each for hello's 40 MB on a loaded
// machine): from hello 1.0.0 to 1.1.0, in the server's cache folder, and
// from 1.0.0 to hello 6.6.6, another program, made under the same name (as
// app "evil"). Each test's own server starts with a copy of that cache.
var shared struct {
	once  sync.Once
	cache string // the cache folder of app hello
	evil  []byte // the patch from 1.0.0 to 6.6.6
	ok    bool
}

func sharedPatches(t *testing.T) (cache string, evil []byte) {
	t.Helper()
	shared.once.Do(func() {
		root, err := os.MkdirTemp(bins.dir, "patches-") // outlives this test
		if err != nil {
			t.Fatal(err)
		}
		d := startDeltaServer(t, root, "", readFile(t, program(t, helloPkg, "1.0.0")), readFile(t, program(t, helloPkg, "1.1.0")))
		for v, exe := range map[string]string{"1.0.0": program(t, helloPkg, "1.0.0"), "1.1.0": program(t, helloPkg, "6.6.6")} {
			copyFile(t, exe, filepath.Join(d.ps.releases, platformName("evil", v)), 0o755)
		}
		d.waitForPatch(t, "hello")
		p := d.waitForPatch(t, "evil")
		shared.cache = filepath.Join(d.ps.releases, ".patches", "hello")
		shared.evil = readFile(t, filepath.Join(d.ps.releases, ".patches", "evil", p.Name))
		shared.ok = true
	})
	if !shared.ok {
		t.Fatal("the server did not make the shared patches (see the first test that asked)")
	}
	return shared.cache, shared.evil
}

// startHelloDeltaServer runs pkgserver with patches on over hello 1.0.0
// and 1.1.0, its cache holding the patch between them already.
func startHelloDeltaServer(t *testing.T) (d *deltaServer, oldBytes, newBytes []byte) {
	t.Helper()
	cache, _ := sharedPatches(t)
	oldBytes = readFile(t, program(t, helloPkg, "1.0.0"))
	newBytes = readFile(t, program(t, helloPkg, "1.1.0"))
	d = startDeltaServer(t, t.TempDir(), cache, oldBytes, newBytes)
	d.patch = d.waitForPatch(t, "hello")
	return d, oldBytes, newBytes
}

// deltaServer is the real pkgserver making patches between two releases
// of hello, behind a proxy in the test that counts the bytes of each
// response and can answer in the server's place.
type deltaServer struct {
	ps        *pkgserverProc
	root      string
	url       string     // the proxy's base URL, ending in "/"
	published string     // the newer release's file
	key       string     // the server's signing key file
	patch     feed.Patch // the patch from 1.0.0 to 1.1.0, once waited for

	mu   sync.Mutex
	sent map[string]int64 // bytes of response bodies, by path
	// answer, if set, answers a request instead of the server when it
	// returns true.
	answer func(w http.ResponseWriter, r *http.Request) bool
}

// startDeltaServer runs pkgserver with patches on over releases 1.0.0 and
// 1.1.0 of hello whose files hold oldBytes and newBytes; with seed, its
// patch cache for hello starts as a copy of that folder.
func startDeltaServer(t *testing.T, root, seed string, oldBytes, newBytes []byte) *deltaServer {
	t.Helper()
	ps := startPkgserver(t, root, "-patches", "3")
	d := &deltaServer{ps: ps, root: root, sent: map[string]int64{},
		published: filepath.Join(ps.releases, platformName("hello", "1.1.0")),
		key:       filepath.Join(root, "keys", "update.key")}
	if seed != "" {
		// Before the releases: the server looks in its cache when it
		// first sees them.
		copyDir(t, seed, filepath.Join(ps.releases, ".patches", "hello"))
	}
	if err := writeFile(filepath.Join(ps.releases, platformName("hello", "1.0.0")), oldBytes, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(d.published, newBytes, 0o755); err != nil {
		t.Fatal(err)
	}
	up, err := url.Parse(ps.base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(up)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		d.mu.Lock()
		answer := d.answer
		d.mu.Unlock()
		if answer == nil || !answer(cw, r) {
			proxy.ServeHTTP(cw, r)
		}
		d.mu.Lock()
		d.sent[r.URL.Path] += cw.n
		d.mu.Unlock()
	}))
	t.Cleanup(front.Close)
	d.url = front.URL + "/"
	return d
}

// waitForPatch waits until the server's feed of app lists a patch from
// 1.0.0 to 1.1.0, which the server makes in the background after it first
// sees the two (unless it has it cached), and returns it.
func (d *deltaServer) waitForPatch(t *testing.T, app string) feed.Patch {
	t.Helper()
	pub, err := verify.Signature(readFile(t, d.ps.pub))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: time.Minute}
	deadline := time.Now().Add(10 * time.Minute) // a patch of two 40 MB binaries takes minutes on a loaded machine
	for {
		resp, err := c.Get(d.ps.base + app + "/feed.json")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		p, err := feed.Parse(body, pub)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Releases {
			if r.Version == "1.1.0" && len(r.Assets) > 0 && len(r.Assets[0].Patches) > 0 {
				return r.Assets[0].Patches[0]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's feed of %s lists no patch after 10 minutes", app)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// setAnswer makes f answer requests before the server, until reset.
func (d *deltaServer) setAnswer(f func(w http.ResponseWriter, r *http.Request) bool) {
	d.mu.Lock()
	d.answer = f
	d.mu.Unlock()
}

// reset forgets the bytes counted and the answer set.
func (d *deltaServer) reset() {
	d.mu.Lock()
	d.sent = map[string]int64{}
	d.answer = nil
	d.mu.Unlock()
}

// sentBytes returns how many bytes of the full 1.1.0 and of patches the
// proxy sent since the last reset.
func (d *deltaServer) sentBytes() (full, patch int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for p, n := range d.sent {
		switch {
		case p == "/hello/"+platformName("hello", "1.1.0"):
			full += n
		case strings.HasSuffix(p, ".molt-patch"):
			patch += n
		}
	}
	return full, patch
}

func (d *deltaServer) sentAll() map[string]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int64, len(d.sent))
	for k, v := range d.sent {
		out[k] = v
	}
	return out
}

// installed is one hello installed in a folder of its own, with its own
// state directory, that updates from a deltaServer with -delta.
type installed struct {
	d      *deltaServer
	bin    string
	target string
	state  string
}

func (d *deltaServer) install(t *testing.T, name string, exe []byte) *installed {
	t.Helper()
	h := &installed{d: d, bin: filepath.Join(d.root, name, "bin"), state: filepath.Join(d.root, name, "state")}
	if err := os.MkdirAll(h.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	h.target = filepath.Join(h.bin, "hello"+exeSuffix())
	if err := writeFile(h.target, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *installed) args() []string {
	return []string{"-feed", h.d.url + "hello/", "-key", h.d.ps.pub, "-state", h.state, "-delta"}
}

// run runs the installed hello once, to its end.
func (h *installed) run(t *testing.T) (stdout, stderr string) {
	t.Helper()
	return run(t, h.target, h.args()...)
}

// names lists a folder's entries, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// onlyProgramAndBackup fails unless the installed program's folder holds
// the program and the updater's backup of the old one, nothing else.
func (h *installed) onlyProgramAndBackup(t *testing.T) {
	t.Helper()
	base := filepath.Base(h.target)
	if got, want := names(t, h.bin), []string{"." + base + ".old", base}; !slices.Equal(got, want) {
		t.Errorf("beside the program: %v, want %v", got, want)
	}
}

// copyDir copies the files of folder src into a new folder dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names(t, src) {
		copyFile(t, filepath.Join(src, n), filepath.Join(dst, n), 0o644)
	}
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

// Flush lets a trickling answer push its bytes out as it writes them.
func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
