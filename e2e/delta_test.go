package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDeltaUpdateSendsThePatch: hello 1.0.0 updates to 1.1.0 through a
// patch the reference server made, and the bytes the server sent, counted
// by a proxy in front of it, are the patch's, not the binary's.
func TestDeltaUpdateSendsThePatch(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ps := startPkgserver(t, root, "-patches", "3")
	copyFile(t, program(t, helloPkg, "1.0.0"), filepath.Join(ps.releases, platformName("hello", "1.0.0")), 0o755)
	published := filepath.Join(ps.releases, platformName("hello", "1.1.0"))
	copyFile(t, program(t, helloPkg, "1.1.0"), published, 0o755)

	up, err := url.Parse(ps.base)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	sent := map[string]int64{} // bytes of response bodies, by path
	proxy := httputil.NewSingleHostReverseProxy(up)
	counting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		proxy.ServeHTTP(cw, r)
		mu.Lock()
		sent[r.URL.Path] += cw.n
		mu.Unlock()
	})
	front := httptest.NewServer(counting)
	defer front.Close()

	// The server makes its patches when it signs the feed; the first
	// request waits for them (seconds per patch of a 10 MB binary), so ask
	// once before the program does, with its 30 s metadata bound.
	ready := &http.Client{Timeout: 4 * time.Minute}
	resp, err := ready.Get(ps.base + "hello/feed.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	target := filepath.Join(root, "hello"+exeSuffix())
	copyFile(t, program(t, helloPkg, "1.0.0"), target, 0o755)
	out, errOut := run(t, target, "-feed", front.URL+"/hello/", "-key", ps.pub, "-state", filepath.Join(root, "state"), "-delta")
	if strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("hello printed %q, want hello 1.1.0\nstderr: %s", out, errOut)
	}
	sameBytes(t, target, published)
	mu.Lock()
	defer mu.Unlock()
	full := sent["/hello/"+platformName("hello", "1.1.0")]
	var patch int64
	for p, n := range sent {
		if strings.HasSuffix(p, ".molt-patch") {
			patch += n
		}
	}
	if full != 0 || patch == 0 {
		t.Fatalf("sent %d bytes of the binary and %d of patches, want only a patch; all: %v\n%s", full, patch, sent, errOut)
	}
	if !strings.Contains(errOut, "bytes saved") {
		t.Errorf("hello does not say the patch saved bytes:\n%s", errOut)
	}
	t.Logf("patch: %d bytes sent for a %s update", patch, platformName("hello", "1.1.0"))
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
