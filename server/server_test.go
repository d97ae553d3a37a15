package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/source/feed"

	"github.com/molt-go/update/source"
)

// do sends a request to the fixture and returns the response with its body
// read.
func (f *fixture) do(t *testing.T, method, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, f.http.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// payload fetches and verifies the app's feed through HTTP.
func (f *fixture) payload(t *testing.T, app string) *feed.Payload {
	t.Helper()
	resp, body := f.do(t, http.MethodGet, "/"+app+"/feed.json", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("feed: %s", resp.Status)
	}
	p, err := feed.Parse(body, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServerFeedSerialAndExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "binary one"})
	p := f.payload(t, "hello")
	if p.App != "hello" || p.Serial != epoch.Unix() {
		t.Errorf("app %q serial %d, want hello %d (the clock in seconds)", p.App, p.Serial, epoch.Unix())
	}
	if !p.Issued.Equal(epoch) || !p.Expires.Equal(epoch.Add(DefaultLifetime)) {
		t.Errorf("issued %v expires %v, want %v and a week later", p.Issued, p.Expires, epoch)
	}
	// The asset's digest is the file's sha256.
	a := p.Releases[0].Assets[0]
	if a.SHA256 != sha256hex("binary one") || a.Size != int64(len("binary one")) {
		t.Errorf("asset %+v", a)
	}

	// Before half the lifetime: the same signed bytes.
	first, _ := f.srv.Feed("hello")
	f.clock.add(DefaultLifetime/2 - time.Second)
	if again, _ := f.srv.Feed("hello"); string(again) != string(first) {
		t.Error("the feed was signed again before half its lifetime")
	}
	// At half the lifetime: signed again, later expiry, higher serial.
	f.clock.add(time.Second)
	p2 := f.payload(t, "hello")
	if p2.Serial <= p.Serial || !p2.Expires.After(p.Expires) {
		t.Errorf("re-signed feed: serial %d expires %v; before %d %v", p2.Serial, p2.Expires, p.Serial, p.Expires)
	}
	if _, err := f.srv.Feed("nobody"); !errors.Is(err, source.ErrNotFound) {
		t.Errorf("feed of an unknown app: %v, want ErrNotFound", err)
	}
}

func TestServerRescansFolder(t *testing.T) {
	t.Parallel()
	const relist = 20 * time.Millisecond
	f := newFixtureWith(t, map[string]string{"hello-1.0.0-linux-amd64": "one"}, func(o *Options) { o.Relist = relist })
	p1 := f.payload(t, "hello")

	// A file being written under a dot name is not listed...
	writeFile(t, f.dir, ".hello-1.1.0-linux-amd64", "one one", epoch)
	if p := f.payload(t, "hello"); p.Serial != p1.Serial || len(p.Releases) != 1 {
		t.Fatalf("a dot file changed the feed: %+v", p)
	}
	// ...until it is renamed into place. The clock has not moved: the
	// serial still grows.
	if err := os.Rename(filepath.Join(f.dir, ".hello-1.1.0-linux-amd64"), filepath.Join(f.dir, "hello-1.1.0-linux-amd64")); err != nil {
		t.Fatal(err)
	}
	p2 := f.payload(t, "hello")
	if p2.Serial != p1.Serial+1 {
		t.Errorf("serial after a new file: %d, want %d", p2.Serial, p1.Serial+1)
	}
	if len(p2.Releases) != 2 || p2.Releases[0].Version != "1.1.0" || p2.Releases[0].Assets[0].SHA256 != sha256hex("one one") {
		t.Fatalf("new release not listed: %+v", p2.Releases)
	}

	// A file replaced in place is hashed again, once Relist has passed:
	// the folder's time does not show it.
	writeFile(t, f.dir, "hello-1.1.0-linux-amd64", "fixed", epoch.Add(time.Minute))
	time.Sleep(relist)
	p3 := f.payload(t, "hello")
	if p3.Serial <= p2.Serial || p3.Releases[0].Assets[0].SHA256 != sha256hex("fixed") {
		t.Errorf("replaced file: serial %d, asset %+v", p3.Serial, p3.Releases[0].Assets[0])
	}

	// All files gone: 404; back again: the serial still grows.
	for _, name := range []string{"hello-1.0.0-linux-amd64", "hello-1.1.0-linux-amd64"} {
		if err := os.Remove(filepath.Join(f.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if resp, _ := f.do(t, http.MethodGet, "/hello/feed.json", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("feed of an emptied app: %s", resp.Status)
	}
	writeFile(t, f.dir, "hello-1.0.0-linux-amd64", "one", epoch)
	if p := f.payload(t, "hello"); p.Serial <= p3.Serial {
		t.Errorf("serial went from %d to %d", p3.Serial, p.Serial)
	}
}

func TestServerFeedETag(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	resp, body := f.do(t, http.MethodGet, "/hello/feed.json", nil)
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("feed headers: %v", resp.Header)
	}
	resp, _ = f.do(t, http.MethodGet, "/hello/feed.json", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("unchanged feed with its ETag: %s, want 304", resp.Status)
	}
	writeFile(t, f.dir, "hello-1.1.0-linux-amd64", "two", epoch)
	resp, body2 := f.do(t, http.MethodGet, "/hello/feed.json", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag || string(body2) == string(body) {
		t.Errorf("changed feed with the old ETag: %s, ETag %s", resp.Status, resp.Header.Get("ETag"))
	}
	resp, head := f.do(t, http.MethodHead, "/hello/feed.json", nil)
	if resp.StatusCode != http.StatusOK || len(head) != 0 || resp.ContentLength != int64(len(body2)) {
		t.Errorf("HEAD: %s, %d bytes, length %d", resp.Status, len(head), resp.ContentLength)
	}
}

func TestServerAssets(t *testing.T) {
	t.Parallel()
	content := "0123456789abcdef"
	f := newFixture(t, map[string]string{
		"hello-1.0.0-linux-amd64":       content,
		"other-1.0.0-linux-amd64":       "other",
		"notes.txt":                     "not served",
		"hello-1.0.0-darwin-arm64":      "mac",
		"hello-1.0.0-windows-amd64.exe": "win",
	})
	resp, body := f.do(t, http.MethodGet, "/hello/hello-1.0.0-linux-amd64", nil)
	if resp.StatusCode != http.StatusOK || string(body) != content {
		t.Fatalf("asset: %s %q", resp.Status, body)
	}
	etag := resp.Header.Get("ETag")
	if etag != `"`+sha256hex(content)+`"` {
		t.Errorf("asset ETag %s, want its sha256", etag)
	}
	resp, body = f.do(t, http.MethodGet, "/hello/hello-1.0.0-linux-amd64", map[string]string{"Range": "bytes=10-"})
	if resp.StatusCode != http.StatusPartialContent || string(body) != content[10:] {
		t.Errorf("range: %s %q", resp.Status, body)
	}
	resp, _ = f.do(t, http.MethodGet, "/hello/hello-1.0.0-linux-amd64", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %s", resp.Status)
	}
	resp, body = f.do(t, http.MethodGet, "/hello/hello-1.0.0-linux-amd64",
		map[string]string{"Range": "bytes=10-", "If-Range": `"stale"`})
	if resp.StatusCode != http.StatusOK || string(body) != content {
		t.Errorf("If-Range with a stale ETag: %s %q, want the whole file", resp.Status, body)
	}

	for path, want := range map[string]int{
		"/hello/other-1.0.0-linux-amd64":      http.StatusNotFound, // another app's file
		"/hello/notes.txt":                    http.StatusNotFound, // not a release file
		"/hello/missing-1.0.0-linux-amd64":    http.StatusNotFound,
		"/hello/../hello/feed.json":           http.StatusNotFound, // never leaves the folder
		"/hello":                              http.StatusNotFound,
		"/":                                   http.StatusNotFound,
		"/a/b/c":                              http.StatusNotFound,
		"/download/..%2f..%2fetc%2fpasswd":    http.StatusNotFound,
		"/hello/..%2fhello-1.0.0-linux-amd64": http.StatusNotFound,
	} {
		if resp, _ := f.do(t, http.MethodGet, path, nil); resp.StatusCode != want {
			t.Errorf("GET %s: %s, want %d", path, resp.Status, want)
		}
	}
	if resp, _ := f.do(t, http.MethodPost, "/hello/feed.json", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s", resp.Status)
	}
}

func TestServerGupperRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"hello-1.0.0-linux-amd64":      "one",
		"tool-2.0.0-windows-amd64.zip": "zip",
		"README.md":                    "readme",
	})
	resp, body := f.do(t, http.MethodGet, "/list", nil)
	var names []string
	if err := json.Unmarshal(body, &names); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/list: %s %q %v", resp.Status, body, err)
	}
	if want := []string{"hello-1.0.0-linux-amd64", "tool-2.0.0-windows-amd64.zip"}; !slices.Equal(names, want) {
		t.Errorf("/list = %v, want %v", names, want)
	}
	resp, body = f.do(t, http.MethodGet, "/download/tool-2.0.0-windows-amd64.zip", nil)
	if resp.StatusCode != http.StatusOK || string(body) != "zip" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "tool-2.0.0-windows-amd64.zip") {
		t.Errorf("/download: %s %q %v", resp.Status, body, resp.Header)
	}
	if resp, _ := f.do(t, http.MethodGet, "/download/README.md", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/download of a non-release file: %s", resp.Status)
	}
	writeFile(t, f.dir, "hello-1.1.0-linux-amd64", "two", epoch)
	_, body = f.do(t, http.MethodGet, "/list", nil)
	if !strings.Contains(string(body), "hello-1.1.0-linux-amd64") {
		t.Errorf("/list after a new file: %s", body)
	}
}

func TestNewServerOptions(t *testing.T) {
	t.Parallel()
	s, _ := newKey(t)
	dir := t.TempDir()
	for name, o := range map[string]Options{
		"no dir":        {Signer: s},
		"no signer":     {Dir: dir},
		"missing dir":   {Dir: filepath.Join(dir, "missing"), Signer: s},
		"negative life": {Dir: dir, Signer: s, Lifetime: -time.Hour},
		"nil extra":     {Dir: dir, Signer: s, ExtraSigners: []*feed.Signer{nil}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: NewServer succeeded", name)
		}
	}
	srv, err := New(Options{Dir: dir, Signer: s})
	if err != nil {
		t.Fatal(err)
	}
	if srv.lifetime != DefaultLifetime || srv.log == nil {
		t.Errorf("defaults: lifetime %v, logger %v", srv.lifetime, srv.log)
	}
}

func TestServerSignsWithExtraSigners(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "hello-1.0.0-linux-amd64", "one", epoch)
	oldS, oldKeys := newKey(t)
	newS, newKeys := newKey(t)
	srv, err := New(Options{Dir: dir, Signer: newS, ExtraSigners: []*feed.Signer{oldS}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	data, err := srv.Feed("hello")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feed.Parse(data, oldKeys); err != nil {
		t.Errorf("old key: %v", err)
	}
	if _, err := feed.Parse(data, newKeys); err != nil {
		t.Errorf("new key: %v", err)
	}
}
