package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/source/feed"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// memStore is a Store in memory that logs every Put, and can be told to
// fail from the nth Put on.
type memStore struct {
	mu      sync.Mutex
	objects map[string][]byte
	sums    map[string]string
	puts    []string
	failAt  int // 1-based; 0 never fails
}

var errInjected = errors.New("injected failure")

func newMemStore() *memStore {
	return &memStore{objects: map[string][]byte{}, sums: map[string]string{}}
}

func (m *memStore) Get(ctx context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[key]
	if !ok {
		return nil, fmt.Errorf("%w: %s", source.ErrNotFound, key)
	}
	return bytes.Clone(b), nil
}

func (m *memStore) Has(ctx context.Context, key string, size int64, sum string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.objects[key])) == size && m.sums[key] == sum, nil
}

func (m *memStore) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAt > 0 && len(m.puts)+1 >= m.failAt {
		return errInjected
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if int64(len(b)) != size || sha256hex(string(b)) != sum {
		return errChanged
	}
	m.objects[key], m.sums[key] = b, sum
	m.puts = append(m.puts, key)
	return nil
}

func (m *memStore) putLog() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.puts)
}

// releaseDir writes release files named by names, each holding its name.
func releaseDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		writeFile(t, dir, n, "bytes of "+n, epoch)
	}
	return dir
}

func publishOpts(t *testing.T, c *clock) PublishOptions {
	o := PublishOptions{Logger: testLogger(t)}
	if c != nil {
		o.now = c.now
	}
	return o
}

// TestPublishPutsTheFeedLast: every asset of an app is in the store before
// the feed that names it.
func TestPublishPutsTheFeedLast(t *testing.T) {
	t.Parallel()
	signer, keys := newKey(t)
	dir := releaseDir(t, "hello-1.0.0-linux-amd64", "hello-1.1.0-linux-amd64", "hello-1.1.0-windows-amd64.exe",
		"other-2.0.0-linux-arm64", "README.md")
	st := newMemStore()
	res, err := Publish(context.Background(), dir, signer, st, publishOpts(t, &clock{t: epoch}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].App != "hello" || res[1].App != "other" || len(res[0].Uploaded) != 3 {
		t.Fatalf("report %+v", res)
	}
	want := []string{
		"hello/hello-1.1.0-linux-amd64", "hello/hello-1.1.0-windows-amd64.exe", "hello/hello-1.0.0-linux-amd64",
		"hello/feed.json",
		"other/other-2.0.0-linux-arm64", "other/feed.json",
	}
	if got := st.putLog(); !slices.Equal(got, want) {
		t.Fatalf("puts in order:\n%v\nwant\n%v", got, want)
	}
	body, _ := st.Get(context.Background(), "hello/feed.json")
	p, err := feed.Parse(body, keys)
	if err != nil {
		t.Fatal(err)
	}
	if p.App != "hello" || p.Serial != epoch.Unix() || len(p.Releases) != 2 ||
		!p.Expires.Equal(epoch.Add(DefaultLifetime)) {
		t.Fatalf("feed %+v", p)
	}
	for _, r := range p.Releases {
		for _, a := range r.Assets {
			if got := st.objects["hello/"+a.Name]; sha256hex(string(got)) != a.SHA256 || a.URL != a.Name {
				t.Errorf("asset %s: stored %q, feed says sha256 %s url %s", a.Name, got, a.SHA256, a.URL)
			}
		}
	}
}

// TestPublishInterrupted: an upload that fails halfway leaves the old feed
// exactly as it was, still naming only files that are there.
func TestPublishInterrupted(t *testing.T) {
	t.Parallel()
	signer, keys := newKey(t)
	dir := releaseDir(t, "hello-1.0.0-linux-amd64")
	st := newMemStore()
	if _, err := Publish(context.Background(), dir, signer, st, publishOpts(t, nil)); err != nil {
		t.Fatal(err)
	}
	before, _ := st.Get(context.Background(), "hello/feed.json")
	writeFile(t, dir, "hello-1.1.0-linux-amd64", "new", epoch)
	writeFile(t, dir, "hello-1.2.0-linux-amd64", "newer", epoch)
	st.failAt = len(st.putLog()) + 2 // the second new asset fails
	_, err := Publish(context.Background(), dir, signer, st, publishOpts(t, nil))
	if !errors.Is(err, errInjected) {
		t.Fatalf("Publish: %v, want the injected failure", err)
	}
	after, _ := st.Get(context.Background(), "hello/feed.json")
	if !bytes.Equal(before, after) {
		t.Fatal("a failed publish changed the feed")
	}
	p, err := feed.Parse(after, keys)
	if err != nil || len(p.Releases) != 1 || p.Releases[0].Version != "1.0.0" {
		t.Fatalf("feed after a failed publish: %+v, %v", p, err)
	}
}

// TestPublishSerialNeverGoesDown: the serial is the clock, or one more
// than the current feed's if that is ahead.
func TestPublishSerialNeverGoesDown(t *testing.T) {
	t.Parallel()
	signer, keys := newKey(t)
	dir := releaseDir(t, "hello-1.0.0-linux-amd64")
	st := newMemStore()
	c := &clock{t: epoch}
	serial := func() int64 {
		t.Helper()
		res, err := Publish(context.Background(), dir, signer, st, publishOpts(t, c))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := st.Get(context.Background(), "hello/feed.json")
		p, err := feed.Parse(body, keys)
		if err != nil || p.Serial != res[0].Serial {
			t.Fatalf("stored feed %+v, %v; report says serial %d", p, err, res[0].Serial)
		}
		return p.Serial
	}
	if s := serial(); s != epoch.Unix() {
		t.Fatalf("first serial %d, want the clock %d", s, epoch.Unix())
	}
	// Twice in one second, and after the clock went back an hour.
	if s := serial(); s != epoch.Unix()+1 {
		t.Fatalf("second serial %d, want %d", s, epoch.Unix()+1)
	}
	c.add(-time.Hour)
	if s := serial(); s != epoch.Unix()+2 {
		t.Fatalf("serial after the clock went back: %d, want %d", s, epoch.Unix()+2)
	}
	c.add(2 * time.Hour)
	if s := serial(); s != epoch.Add(time.Hour).Unix() {
		t.Fatalf("serial an hour later: %d, want the clock", s)
	}
}

// TestPublishCurrentFeedChecked: a current feed that the signing key does
// not verify, or that is for another app, stops the publish unless
// Overwrite is set.
func TestPublishCurrentFeedChecked(t *testing.T) {
	t.Parallel()
	signer, _ := newKey(t)
	other, _ := newKey(t)
	dir := releaseDir(t, "hello-1.0.0-linux-amd64")
	for _, c := range []struct {
		name string
		feed func() []byte
		want error
	}{
		{"signed by another key", func() []byte {
			b, _ := feed.Sign(testPayload(), other)
			return b
		}, verify.ErrBadSignature},
		{"for another app", func() []byte {
			p := testPayload()
			p.App = "other"
			b, _ := feed.Sign(p, signer)
			return b
		}, source.ErrBadMetadata},
		{"garbage", func() []byte { return []byte("{") }, source.ErrBadMetadata},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := newMemStore()
			st.objects["hello/feed.json"] = c.feed()
			if _, err := Publish(context.Background(), dir, signer, st, publishOpts(t, nil)); !errors.Is(err, c.want) {
				t.Fatalf("Publish: %v, want %v", err, c.want)
			}
			if len(st.putLog()) != 0 {
				t.Fatalf("a refused publish put %v", st.putLog())
			}
			o := publishOpts(t, nil)
			o.Overwrite = true
			if _, err := Publish(context.Background(), dir, signer, st, o); err != nil {
				t.Fatalf("Publish with Overwrite: %v", err)
			}
		})
	}
}

// TestPublishExtraSigners: a feed signed during a key rotation verifies
// with either key, and the next publish with the new key alone accepts it.
func TestPublishExtraSigners(t *testing.T) {
	t.Parallel()
	oldKey, oldKeys := newKey(t)
	newSigner, newKeys := newKey(t)
	dir := releaseDir(t, "hello-1.0.0-linux-amd64")
	st := newMemStore()
	o := publishOpts(t, nil)
	o.ExtraSigners = []*feed.Signer{newSigner}
	if _, err := Publish(context.Background(), dir, oldKey, st, o); err != nil {
		t.Fatal(err)
	}
	body, _ := st.Get(context.Background(), "hello/feed.json")
	for _, k := range []*verify.Keys{oldKeys, newKeys} {
		if _, err := feed.Parse(body, k); err != nil {
			t.Fatalf("feed signed by both keys: %v", err)
		}
	}
	if _, err := Publish(context.Background(), dir, newSigner, st, publishOpts(t, nil)); err != nil {
		t.Fatalf("publish with the new key alone: %v", err)
	}
}

func TestPublishBadArguments(t *testing.T) {
	t.Parallel()
	signer, _ := newKey(t)
	dir := releaseDir(t, "hello-1.0.0-linux-amd64")
	ctx := context.Background()
	empty := t.TempDir()
	for name, call := range map[string]func() error{
		"nil store":    func() error { _, err := Publish(ctx, dir, signer, nil, PublishOptions{}); return err },
		"nil signer":   func() error { _, err := Publish(ctx, dir, nil, newMemStore(), PublishOptions{}); return err },
		"empty folder": func() error { _, err := Publish(ctx, empty, signer, newMemStore(), publishOpts(t, nil)); return err },
		"unknown app": func() error {
			_, err := Publish(ctx, dir, signer, newMemStore(), PublishOptions{Apps: []string{"nope"}, Logger: testLogger(t)})
			return err
		},
		"missing folder": func() error {
			_, err := Publish(ctx, filepath.Join(empty, "nope"), signer, newMemStore(), publishOpts(t, nil))
			return err
		},
	} {
		if err := call(); err == nil {
			t.Errorf("%s: Publish succeeded", name)
		}
	}
}

// TestDirStoreServedByAFileServer: a folder published to is a feed that a
// Client reads from a plain static file server.
func TestDirStoreServedByAFileServer(t *testing.T) {
	t.Parallel()
	signer, keys := newKey(t)
	dir := releaseDir(t, "hello-1.0.0-linux-amd64", "hello-1.1.0-linux-amd64")
	root := filepath.Join(t.TempDir(), "www")
	st := &DirStore{Dir: root}
	res, err := Publish(context.Background(), dir, signer, st, publishOpts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Publish(context.Background(), dir, signer, st, publishOpts(t, nil))
	if err != nil || len(again[0].Skipped) != 2 || again[0].Serial <= res[0].Serial {
		t.Fatalf("second publish: %+v, %v; want both assets skipped and a higher serial", again, err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	defer srv.Close()
	c := feed.New(srv.URL + "/hello/")
	l, err := c.Releases(context.Background(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if l.Serial != again[0].Serial || len(l.Releases) != 2 {
		t.Fatalf("listing %+v", l)
	}
	a := l.Releases[0].Assets[0]
	rc, err := c.Open(context.Background(), a, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "bytes of "+a.Name {
		t.Fatalf("asset %s served as %q", a.Name, got)
	}
	// Written atomically: no temporary file is left, and files are
	// readable by a web server running as another user.
	ents, _ := os.ReadDir(filepath.Join(root, "hello"))
	for _, e := range ents {
		fi, _ := e.Info()
		if strings.HasPrefix(e.Name(), ".") || fi.Mode().Perm()&0o044 != 0o044 {
			t.Errorf("%s (mode %v) in the published folder", e.Name(), fi.Mode())
		}
	}
	if len(ents) != 3 {
		t.Errorf("published folder holds %d files, want 3", len(ents))
	}
}

// TestDirStorePut: bytes that do not match their digest, a cancelled
// context and keys leaving the folder all leave nothing behind.
func TestDirStorePut(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	st := &DirStore{Dir: root}
	ctx := context.Background()
	good := []byte("the release")
	sum := sha256hex(string(good))
	if err := st.Put(ctx, "hello/x", bytes.NewReader([]byte("other bytes")), int64(len(good)), sum); !errors.Is(err, errChanged) {
		t.Fatalf("Put of other bytes: %v, want errChanged", err)
	}
	if err := st.Put(ctx, "hello/x", bytes.NewReader(append(bytes.Clone(good), '!')), int64(len(good)), sum); !errors.Is(err, errChanged) {
		t.Fatalf("Put of longer bytes: %v, want errChanged", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := st.Put(cancelled, "hello/x", bytes.NewReader(good), int64(len(good)), sum); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context: %v", err)
	}
	for _, bad := range []string{"../x", "hello/../../x", "/etc/x", "hello/.hidden", ""} {
		if err := st.Put(ctx, bad, bytes.NewReader(good), int64(len(good)), sum); err == nil {
			t.Errorf("Put(%q) succeeded", bad)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(root, "hello"))
	if len(ents) != 0 {
		t.Fatalf("refused Puts left %v", ents)
	}
	if _, err := st.Get(ctx, "hello/x"); !errors.Is(err, source.ErrNotFound) {
		t.Fatalf("Get of a missing file: %v, want ErrNotFound", err)
	}
	if err := st.Put(ctx, "hello/x", bytes.NewReader(good), int64(len(good)), sum); err != nil {
		t.Fatal(err)
	}
	if has, err := st.Has(ctx, "hello/x", int64(len(good)), sum); err != nil || !has {
		t.Fatalf("Has: %v, %v", has, err)
	}
	if has, _ := st.Has(ctx, "hello/x", int64(len(good)), sha256hex("else")); has {
		t.Fatal("Has matched another digest")
	}
}
