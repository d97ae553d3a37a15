package server

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/delta"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// generous bounds what these tests wait for: a loaded machine under -race.
const generous = 5 * time.Minute

// signedPatches returns the signed feed's serial and the patches of its
// release version.
func signedPatches(t *testing.T, s *Server, keys *verify.Keys, version string) (int64, []feed.Patch) {
	t.Helper()
	body, err := s.Feed("hello")
	if err != nil {
		t.Fatal(err)
	}
	p, err := feed.Parse(body, keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Releases {
		if r.Version == version {
			return p.Serial, r.Assets[0].Patches
		}
	}
	t.Fatalf("the feed lists no %s", version)
	return 0, nil
}

// A publish is in the feed at once; its patch, made in the background,
// appears in a feed signed later, and is served and correct.
func TestPatchesInBackground(t *testing.T) {
	t.Parallel()
	dir, built := t.TempDir(), t.TempDir()
	bins := buildHello(t, built, "1.0.0", "1.1.0")
	copyInto(t, bins["1.0.0"], dir)
	signer, keys := newKey(t)
	s, err := New(Options{Dir: dir, Signer: signer, Logger: testLogger(t), Patches: DefaultPatches})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	started, release := make(chan struct{}), make(chan struct{})
	s.patcher.diff = func(ctx context.Context, old, new []byte, w io.Writer) error {
		close(started)
		<-release
		return delta.DiffContext(ctx, old, new, w, nil)
	}

	copyInto(t, bins["1.1.0"], dir) // the publish
	feedDone := make(chan error, 1)
	go func() { _, err := s.Feed("hello"); feedDone <- err }()
	select {
	case err := <-feedDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(generous):
		t.Fatal("the feed waits for its patches")
	}
	select {
	case <-started:
	case <-time.After(generous):
		t.Fatal("no patch is being made")
	}
	// The patch is being made (and held): the feed lists 1.1.0 without it.
	serial1, patches := signedPatches(t, s, keys, "1.1.0")
	if len(patches) != 0 {
		t.Fatalf("patches listed before they are made: %+v", patches)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()

	close(release)
	var serial2 int64
	deadline := time.Now().Add(generous)
	for len(patches) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the patch never appeared in the feed")
		}
		time.Sleep(20 * time.Millisecond)
		serial2, patches = signedPatches(t, s, keys, "1.1.0")
	}
	if len(patches) != 1 || serial2 <= serial1 {
		t.Fatalf("serial %d -> %d, patches %+v: want one patch in a newer feed", serial1, serial2, patches)
	}
	body := getStatus(t, hs.URL+"/hello/"+patches[0].URL, http.StatusOK)
	if int64(len(body)) != patches[0].Size || sha256hex(string(body)) != patches[0].SHA256 {
		t.Fatalf("served %d bytes; the feed says %d", len(body), patches[0].Size)
	}
	oldFile, err := os.Open(bins["1.0.0"])
	if err != nil {
		t.Fatal(err)
	}
	defer oldFile.Close()
	var out bytes.Buffer
	if _, err := delta.Apply(context.Background(), oldFile, bytes.NewReader(body), &out, nil); err != nil {
		t.Fatal(err)
	}
	if want, _ := os.ReadFile(bins["1.1.0"]); !bytes.Equal(out.Bytes(), want) {
		t.Fatal("the patch does not make 1.1.0")
	}
}

// Close while a patch is being made stops it and leaves no partial file in
// the cache; the server goes on serving without patches.
func TestPatchesCloseWhileMaking(t *testing.T) {
	t.Parallel()
	dir, built := t.TempDir(), t.TempDir()
	bins := buildHello(t, built, "1.0.0", "1.1.0")
	copyInto(t, bins["1.0.0"], dir)
	signer, keys := newKey(t)
	s, err := New(Options{Dir: dir, Signer: signer, Logger: testLogger(t), Patches: DefaultPatches})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var diffErr error
	s.patcher.diff = func(ctx context.Context, old, new []byte, w io.Writer) error {
		// Half a patch, written; then the rest waits for the shutdown.
		if _, err := w.Write(make([]byte, 4096)); err != nil {
			return err
		}
		close(started)
		<-ctx.Done()
		diffErr = ctx.Err()
		return diffErr
	}
	copyInto(t, bins["1.1.0"], dir)
	if _, err := s.Feed("hello"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(generous):
		t.Fatal("no patch is being made")
	}
	if m := making(t, dir); len(m) != 1 {
		t.Fatalf("half-made files %v, want the one being written", m)
	}

	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(generous):
		t.Fatal("Close does not return")
	}
	if !errors.Is(diffErr, context.Canceled) {
		t.Fatalf("the diff ended with %v, want context.Canceled", diffErr)
	}
	if m := making(t, dir); len(m) != 0 {
		t.Fatalf("left in the cache after Close: %v", m)
	}
	if ps, _ := filepath.Glob(filepath.Join(dir, ".patches", "hello", "*"+PatchExt)); len(ps) != 0 {
		t.Fatalf("a patch was kept: %v", ps)
	}
	// Still serving, without the patch, and making nothing more.
	if _, patches := signedPatches(t, s, keys, "1.1.0"); len(patches) != 0 {
		t.Fatalf("patches listed: %+v", patches)
	}
	writeFile(t, dir, "hello-1.2.0-"+runtime.GOOS+"-"+runtime.GOARCH, "not a binary", time.Now())
	if _, err := s.Feed("hello"); err != nil {
		t.Fatal(err)
	}
	s.patcher.mu.Lock()
	made := s.patcher.made
	s.patcher.mu.Unlock()
	if made != 1 {
		t.Fatalf("made %d patches, want only the one abandoned", made)
	}
	s.Close() // a second Close is fine
}

// making lists the half-made patch files in dir's cache.
func making(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".patches", "*", makingPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The executable inside an archive is extracted to make a patch once;
// what it is stays known by the archive's digest, so listing the patches
// again (a refresh, a restart) extracts and makes nothing.
func TestPatchesArchiveExecutableCached(t *testing.T) {
	t.Parallel()
	dir, built := t.TempDir(), t.TempDir()
	bins := buildHello(t, built, "1.0.0", "1.1.0")
	for v, p := range bins {
		tarGz(t, p, filepath.Join(dir, "hello-"+v+"-"+runtime.GOOS+"-"+runtime.GOARCH+".tar.gz"))
	}
	s := newPatchServer(t, Options{Dir: dir})
	a := assetOf(t, s, "1.1.0")
	if len(a.Patches) != 1 {
		t.Fatalf("1.1.0.tar.gz lists %+v, want one patch", a.Patches)
	}
	want, _ := os.ReadFile(bins["1.1.0"])
	if p := a.Patches[0]; p.ToSize != int64(len(want)) || p.ToSHA256 != sha256hex(string(want)) {
		t.Fatalf("the patch makes %d bytes %s, want the executable inside the archive", p.ToSize, p.ToSHA256)
	}
	recs, _ := filepath.Glob(filepath.Join(dir, ".patches", "hello", "*.executable"))
	if len(recs) != 2 {
		t.Fatalf("executable records %v, want one per archive", recs)
	}

	// A refresh (a new unrelated file) lists the patch from memory: no job,
	// so no round of the worker.
	writeFile(t, dir, "README", "hi", time.Now())
	s.mu.Lock()
	if err := s.refreshLocked(); err != nil {
		t.Fatal(err)
	}
	s.patcher.mu.Lock()
	pending := len(s.patcher.pending)
	s.patcher.mu.Unlock()
	s.mu.Unlock()
	if pending != 0 || len(assetOf(t, s, "1.1.0").Patches) != 1 {
		t.Fatalf("after a refresh: %d jobs, patches %+v", pending, assetOf(t, s, "1.1.0").Patches)
	}

	// A restart lists it from the records, at once: no worker starts.
	signer, _ := newKey(t)
	s2, err := New(Options{Dir: dir, Signer: signer, Logger: testLogger(t), Patches: DefaultPatches})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.patcher.mu.Lock()
	startedWorker := s2.patcher.work.cancel != nil
	s2.patcher.mu.Unlock()
	if got := assetOf(t, s2, "1.1.0").Patches; startedWorker || len(got) != 1 || got[0] != a.Patches[0] {
		t.Fatalf("after a restart: worker started %v, patches %+v, want %+v", startedWorker, got, a.Patches)
	}

	// A record that does not match its archive is not trusted: the
	// archive is extracted again.
	for _, r := range recs {
		if err := os.WriteFile(r, []byte(strings.Repeat("0", 64)+" 1 "+runtime.GOOS+" \"other\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s3 := newPatchServer(t, Options{Dir: dir})
	if got := assetOf(t, s3, "1.1.0").Patches; len(got) != 1 || got[0] != a.Patches[0] {
		t.Fatalf("with broken records: %+v, want %+v", got, a.Patches)
	}
	if s3.patcher.made != 0 {
		t.Fatalf("made %d patches, want 0: the patch is cached", s3.patcher.made)
	}
}

// copyInto copies the file at src into dir, keeping its name.
func copyInto(t *testing.T, src, dir string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(src)), b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// tarGz writes a .tar.gz at dst holding the executable at src as "hello".
func tarGz(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	name := "hello"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(b)
	tw.Close()
	gz.Close()
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
