package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/molt-go/update/source/feed"
)

// keyDir writes into dir a keys.json with one root and the given signers
// listed until expires, and returns the root and the key file.
func keyDir(t *testing.T, dir string, expires time.Time, signers ...*feed.Signer) (*feed.Signer, *feed.KeyFile) {
	t.Helper()
	root, _ := newKey(t)
	kf, err := feed.NewKeyFile(1, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range signers {
		pub, _ := s.PublicKeyPEM()
		if _, err := kf.AddKey(pub, expires); err != nil {
			t.Fatal(err)
		}
	}
	writeKeys(t, dir, kf, root)
	return root, kf
}

func writeKeys(t *testing.T, dir string, kf *feed.KeyFile, roots ...*feed.Signer) []byte {
	t.Helper()
	b, err := kf.Sign(time.Now(), roots...)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, feed.KeysFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func get(t *testing.T, url string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func TestWithKeyListServesTheFolderKeyList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "hello-1.0.0-linux-amd64", "one", epoch)
	signer, _ := newKey(t)
	root, kf := keyDir(t, dir, time.Now().Add(time.Hour), signer)
	srv, err := New(Options{Dir: dir, Signer: signer, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := srv.WithKeyList()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	want, _ := os.ReadFile(filepath.Join(dir, feed.KeysFile))
	for _, path := range []string{"/keys.json", "/hello/keys.json"} {
		code, body, hdr := get(t, ts.URL+path)
		if code != http.StatusOK || !bytes.Equal(body, want) || hdr.Get("ETag") == "" || hdr.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: %d, %d bytes, headers %v", path, code, len(body), hdr)
		}
	}
	if code, _, _ := get(t, ts.URL+"/hello/feed.json"); code != http.StatusOK {
		t.Errorf("the feed behind the key list: %d", code)
	}

	// A new list is served once written; a broken one is not.
	next := writeKeys(t, dir, kf, root)
	os.Chtimes(filepath.Join(dir, feed.KeysFile), time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	if _, body, _ := get(t, ts.URL+"/keys.json"); !bytes.Equal(body, next) {
		t.Error("the rewritten key list was not served")
	}
	os.WriteFile(filepath.Join(dir, feed.KeysFile), []byte("{broken"), 0o644)
	os.Chtimes(filepath.Join(dir, feed.KeysFile), time.Now().Add(2*time.Minute), time.Now().Add(2*time.Minute))
	if _, body, _ := get(t, ts.URL+"/keys.json"); !bytes.Equal(body, next) {
		t.Error("a broken key list replaced the good one")
	}
	os.Remove(filepath.Join(dir, feed.KeysFile))
	if code, _, _ := get(t, ts.URL+"/keys.json"); code != http.StatusNotFound {
		t.Errorf("no keys.json: %d, want 404", code)
	}
}

func TestWithKeyListRefusesAnUnlistedSigner(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	listed, _ := newKey(t)
	unlisted, _ := newKey(t)
	keyDir(t, dir, time.Now().Add(time.Hour), listed)
	srv, err := New(Options{Dir: dir, Signer: unlisted, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WithKeyList(); err == nil {
		t.Error("a server whose key is not in keys.json started")
	}
	// Expired counts as not listed.
	dir2 := t.TempDir()
	keyDir(t, dir2, time.Now().Add(-time.Hour), listed)
	srv2, _ := New(Options{Dir: dir2, Signer: listed, Logger: testLogger(t)})
	if _, err := srv2.WithKeyList(); err == nil {
		t.Error("a server whose key expired started")
	}
	// No keys.json at all: the legacy setup.
	srv3, _ := New(Options{Dir: t.TempDir(), Signer: unlisted, Logger: testLogger(t)})
	if _, err := srv3.WithKeyList(); err != nil {
		t.Errorf("without keys.json: %v", err)
	}
}

func TestPublishKeyList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "hello-1.0.0-linux-amd64", "one", epoch)
	writeFile(t, dir, "bye-1.0.0-linux-amd64", "two", epoch)
	signer, _ := newKey(t)
	root, kf := keyDir(t, dir, time.Now().Add(time.Hour), signer)
	v1, _ := os.ReadFile(filepath.Join(dir, feed.KeysFile))
	store := &DirStore{Dir: t.TempDir()}
	ctx := context.Background()
	version, err := PublishKeyList(ctx, dir, store, nil)
	if err != nil || version != 1 {
		t.Fatalf("PublishKeyList: %d, %v", version, err)
	}
	for _, key := range []string{"keys.json", "hello/keys.json", "bye/keys.json"} {
		if got, err := store.Get(ctx, key); err != nil || !bytes.Equal(got, v1) {
			t.Errorf("%s: %v", key, err)
		}
	}
	// A newer list goes out; the older one cannot come back.
	writeKeys(t, dir, kf, root)
	if v, err := PublishKeyList(ctx, dir, store, []string{"hello"}); err != nil || v != 2 {
		t.Fatalf("the newer list: %d, %v", v, err)
	}
	os.WriteFile(filepath.Join(dir, feed.KeysFile), v1, 0o644)
	if _, err := PublishKeyList(ctx, dir, store, nil); err == nil {
		t.Error("an older key list was published over a newer one")
	}
	if _, err := PublishKeyList(ctx, t.TempDir(), store, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no keys.json: %v", err)
	}
}
