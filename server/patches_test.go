package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/delta"
	"github.com/molt-go/update/source/feed"
)

const helloSource = `package main

import "fmt"

var version = "dev"

func main() { fmt.Println("hello", version) }
`

// buildHello builds the tiny program at each version into dir as
// hello-<version>-<os>-<arch>[.exe], skipping the test without a go tool.
func buildHello(t *testing.T, dir string, versions ...string) map[string]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool:", err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module hello\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(helloSource), 0o644); err != nil {
		t.Fatal(err)
	}
	paths := make(map[string]string)
	for _, v := range versions {
		name := "hello-" + v + "-" + runtime.GOOS + "-" + runtime.GOARCH
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		out := filepath.Join(dir, name)
		cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags", "-s -w -X main.version="+v, "-o", out, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", v, err, b)
		}
		paths[v] = out
	}
	return paths
}

func newPatchServer(t *testing.T, o Options) *Server {
	t.Helper()
	signer, _ := newKey(t)
	o.Signer = signer
	o.Logger = testLogger(t)
	if o.Patches == 0 {
		o.Patches = DefaultPatches
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	settle(t, s)
	return s
}

// settle waits until the server's background worker has made every patch
// its folder calls for, and its payloads list them.
func settle(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute) // a loaded machine, under -race
	for {
		s.mu.Lock()
		err := s.refreshLocked()
		pt := s.patcher
		pt.mu.Lock()
		idle := len(pt.pending) == 0 && !pt.work.running && !pt.stale.Load()
		pt.mu.Unlock()
		s.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the patches are still being made after 5 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// asset returns the app's asset of version from the server's payloads.
func assetOf(t *testing.T, s *Server, version string) feed.Asset {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.apps["hello"].Releases {
		if r.Version == version {
			return r.Assets[0]
		}
	}
	t.Fatalf("no release %s", version)
	return feed.Asset{}
}

func TestPatches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bins := buildHello(t, dir, "1.0.0", "1.1.0")
	signer, keys := newKey(t)
	s, err := New(Options{Dir: dir, Signer: signer, Logger: testLogger(t), Patches: DefaultPatches})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	settle(t, s)
	old := assetOf(t, s, "1.0.0")
	a := assetOf(t, s, "1.1.0")
	if len(old.Patches) != 0 {
		t.Errorf("1.0.0 lists patches: %+v", old.Patches)
	}
	if len(a.Patches) != 1 {
		t.Fatalf("1.1.0 lists %d patches, want 1: %+v", len(a.Patches), a.Patches)
	}
	p := a.Patches[0]
	if p.From != old.SHA256 || p.ToSHA256 != a.SHA256 || p.ToSize != a.Size {
		t.Errorf("patch %+v\nfrom asset %+v\nto asset %+v", p, old, a)
	}
	if !strings.HasSuffix(p.Name, "-1.1.0-"+runtime.GOOS+"-"+runtime.GOARCH+PatchExt) || p.URL != p.Name {
		t.Errorf("patch name %q, url %q", p.Name, p.URL)
	}
	if _, err := os.Stat(filepath.Join(dir, ".patches", "hello", p.Name)); err != nil {
		t.Errorf("cache: %v", err)
	}
	t.Logf("patch %d bytes for a %d-byte binary", p.Size, a.Size)

	// Served at /<app>/<name>, and only there.
	hs := httptest.NewServer(s)
	defer hs.Close()
	body := getStatus(t, hs.URL+"/hello/"+p.URL, http.StatusOK)
	if int64(len(body)) != p.Size || sha256hex(string(body)) != p.SHA256 {
		t.Fatalf("served %d bytes, sha256 %s; feed says %d, %s", len(body), sha256hex(string(body)), p.Size, p.SHA256)
	}
	getStatus(t, hs.URL+"/download/"+p.Name, http.StatusNotFound)
	getStatus(t, hs.URL+"/other/"+p.Name, http.StatusNotFound)
	getStatus(t, hs.URL+"/hello/"+strings.Repeat("0", 16)+"-1.1.0-linux-amd64"+PatchExt, http.StatusNotFound)

	// The signed feed lists it.
	fj, err := s.Feed("hello")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := feed.Parse(fj, keys)
	if err != nil {
		t.Fatal(err)
	}
	if got := signed.Releases[0].Assets[0].Patches; len(got) != 1 || got[0] != p {
		t.Errorf("signed feed lists %+v, want %+v", got, p)
	}

	// Applying it to 1.0.0 makes exactly 1.1.0.
	oldFile, err := os.Open(bins["1.0.0"])
	if err != nil {
		t.Fatal(err)
	}
	defer oldFile.Close()
	var out bytes.Buffer
	if _, err := delta.Apply(context.Background(), oldFile, bytes.NewReader(body), &out, nil); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(bins["1.1.0"])
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatal("the patch does not make 1.1.0")
	}

	// A second server on the folder (a restart) reuses the cache.
	s2 := newPatchServer(t, Options{Dir: dir})
	if got := assetOf(t, s2, "1.1.0").Patches; len(got) != 1 || got[0] != p {
		t.Errorf("after a restart: %+v, want %+v", got, p)
	}
	if s2.patcher.made != 0 {
		t.Errorf("a restart made %d patches, want 0 (cached)", s2.patcher.made)
	}
	if s.patcher.made != 1 {
		t.Errorf("made %d patches, want 1", s.patcher.made)
	}
}

func TestPatchesOff(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	buildHello(t, dir, "1.0.0", "1.1.0")
	s := newPatchServer(t, Options{Dir: dir, Patches: -1})
	if got := assetOf(t, s, "1.1.0").Patches; len(got) != 0 {
		t.Errorf("Patches -1 lists %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ".patches")); !os.IsNotExist(err) {
		t.Errorf("cache made with patches off: %v", err)
	}
}

func TestPatchesTooLarge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	buildHello(t, dir, "1.0.0", "1.1.0")
	s := newPatchServer(t, Options{Dir: dir, PatchMaxFraction: 0.0001})
	if got := assetOf(t, s, "1.1.0").Patches; len(got) != 0 {
		t.Errorf("a patch over the fraction is listed: %+v", got)
	}
	if s.patcher.made != 1 {
		t.Errorf("made %d, want 1", s.patcher.made)
	}
	// Not made again: the skip is cached too.
	s2 := newPatchServer(t, Options{Dir: dir, PatchMaxFraction: 0.0001})
	if s2.patcher.made != 0 || len(assetOf(t, s2, "1.1.0").Patches) != 0 {
		t.Errorf("restart made %d patches, listed %+v", s2.patcher.made, assetOf(t, s2, "1.1.0").Patches)
	}
	if _, err := New(Options{Dir: dir, Signer: s.signers[0], PatchMaxFraction: 1.5}); err == nil {
		t.Error("PatchMaxFraction 1.5 accepted")
	}
}

// Only the Patches newest earlier releases get a patch to the new one.
func TestPatchesNewestN(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("makes two patches: slow under -race")
	}
	dir := t.TempDir()
	buildHello(t, dir, "1.0.0", "1.1.0", "1.2.0")
	s := newPatchServer(t, Options{Dir: dir, Patches: 1})
	if got := assetOf(t, s, "1.2.0").Patches; len(got) != 1 || got[0].From != assetOf(t, s, "1.1.0").SHA256 {
		t.Errorf("1.2.0 with Patches 1: %+v", got)
	}
	if got := assetOf(t, s, "1.1.0").Patches; len(got) != 1 || got[0].From != assetOf(t, s, "1.0.0").SHA256 {
		t.Errorf("1.1.0 with Patches 1: %+v", got)
	}
}

func TestPublishPatches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	buildHello(t, dir, "1.0.0", "1.1.0")
	signer, keys := newKey(t)
	out := t.TempDir()
	res, err := Publish(context.Background(), dir, signer, &DirStore{Dir: out}, PublishOptions{Logger: testLogger(t), Patches: DefaultPatches})
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(out, "hello", "feed.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := feed.Parse(body, keys)
	if err != nil {
		t.Fatal(err)
	}
	pa := p.Releases[0].Assets[0].Patches
	if len(pa) != 1 {
		t.Fatalf("published feed lists %+v", pa)
	}
	b, err := os.ReadFile(filepath.Join(out, "hello", pa[0].Name))
	if err != nil || int64(len(b)) != pa[0].Size || sha256hex(string(b)) != pa[0].SHA256 {
		t.Fatalf("published patch: %d bytes, %v", len(b), err)
	}
	if len(res) != 1 || len(res[0].Uploaded) != 3 {
		t.Errorf("published %+v", res)
	}
}

func getStatus(t *testing.T, url string, status int) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d", url, resp.StatusCode, status)
	}
	return b
}
