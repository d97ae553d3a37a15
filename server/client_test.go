package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/molt-go/update/source/feed"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

func versionsOf(l *source.Listing) []string {
	var vs []string
	for _, r := range l.Releases {
		vs = append(vs, r.Version)
	}
	return vs
}

func TestClientReleasesUsesETag(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	c := f.client("hello")
	ctx := context.Background()

	l1, err := c.Releases(ctx, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := c.Releases(ctx, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	if f.count.count(http.StatusOK) != 1 || f.count.count(http.StatusNotModified) != 1 {
		t.Fatalf("responses: %d OK, %d Not Modified; want the second to be a 304",
			f.count.count(http.StatusOK), f.count.count(http.StatusNotModified))
	}
	if l1.Serial != l2.Serial || !slices.Equal(versionsOf(l1), versionsOf(l2)) {
		t.Errorf("the 304 gave a different listing: %+v, %+v", l1, l2)
	}
	a := l2.Releases[0].Assets[0]
	if a.URL != f.http.URL+"/hello/hello-1.0.0-linux-amd64" || a.Digest.String() != "sha256:"+sha256hex("one") {
		t.Errorf("asset from the kept feed: %+v", a)
	}

	// A new file: a new feed, not the kept one.
	writeFile(t, f.dir, "hello-1.1.0-linux-amd64", "two", epoch)
	l3, err := c.Releases(ctx, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	if f.count.count(http.StatusOK) != 2 || !slices.Equal(versionsOf(l3), []string{"1.1.0", "1.0.0"}) || l3.Serial <= l1.Serial {
		t.Errorf("after a change: %d OK, versions %v, serial %d", f.count.count(http.StatusOK), versionsOf(l3), l3.Serial)
	}
}

func TestClientKeptFeedIsVerifiedAgain(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	c := f.client("hello")
	if _, err := c.Releases(context.Background(), f.keys); err != nil {
		t.Fatal(err)
	}
	_, stranger := newKey(t)
	_, err := c.Releases(context.Background(), stranger)
	if !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("kept feed with another verifier: err = %v, want ErrBadSignature", err)
	}
	if f.count.count(http.StatusNotModified) != 1 {
		t.Errorf("the second request was not a 304")
	}
}

func TestClientKeepsOnlyVerifiedFeeds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	c := f.client("hello")
	ctx := context.Background()
	// Without verification nothing is kept, so nothing is sent back.
	for range 2 {
		if _, err := c.Releases(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A feed that does not verify is not kept either.
	_, stranger := newKey(t)
	if _, err := c.Releases(ctx, stranger); !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("stranger: %v", err)
	}
	if _, err := c.Releases(ctx, f.keys); err != nil {
		t.Fatal(err)
	}
	if n := f.count.count(http.StatusOK); n != 4 || f.count.count(http.StatusNotModified) != 0 {
		t.Errorf("%d OK, %d Not Modified; want every answer in full", n, f.count.count(http.StatusNotModified))
	}
}

func TestClientURLForms(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	for _, u := range []string{f.http.URL + "/hello", f.http.URL + "/hello/", f.http.URL + "/hello/feed.json"} {
		l, err := (&feed.Client{URL: u}).Releases(context.Background(), f.keys)
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		if got := l.Releases[0].Assets[0].URL; got != f.http.URL+"/hello/hello-1.0.0-linux-amd64" {
			t.Errorf("%s: asset URL %s", u, got)
		}
	}
	for _, u := range []string{"", "ftp://x/y", "::"} {
		if _, err := feed.New(u).Releases(context.Background(), f.keys); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
}

func TestClientOpenResumes(t *testing.T) {
	t.Parallel()
	content := "the whole binary, in bytes"
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": content})
	c := f.client("hello")
	ctx := context.Background()
	l, err := c.Releases(ctx, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	a := l.Releases[0].Assets[0]
	for _, off := range []int64{0, 1, 10, int64(len(content) - 1)} {
		rc, err := c.Open(ctx, a, off)
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != content[off:] {
			t.Errorf("offset %d: %q, %v; want %q", off, got, err, content[off:])
		}
	}
	if f.count.count(http.StatusPartialContent) != 3 {
		t.Errorf("%d ranged answers, want 3", f.count.count(http.StatusPartialContent))
	}
	// Past the end: the file changed; start over later.
	if _, err := c.Open(ctx, a, int64(len(content)+5)); !errors.Is(err, source.ErrUnavailable) {
		t.Errorf("offset past the end: %v, want ErrUnavailable", err)
	}
	if _, err := c.Open(ctx, a, -1); err == nil {
		t.Error("negative offset accepted")
	}
}

// rangeIgnorer serves content whole, whatever Range asks, as some static
// hosts do, or with a Content-Range that starts in the wrong place.
func rangeIgnorer(content string, wrongRange bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wrongRange {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(content)-1, len(content)))
			w.WriteHeader(http.StatusPartialContent)
		}
		io.WriteString(w, content)
	})
}

func TestClientOpenServerIgnoresRange(t *testing.T) {
	t.Parallel()
	content := "0123456789"
	srv := httptest.NewServer(rangeIgnorer(content, false))
	defer srv.Close()
	c := &feed.Client{HTTPClient: srv.Client()}
	rc, err := c.Open(context.Background(), source.Asset{Name: "x", URL: srv.URL + "/x"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); string(got) != content[4:] {
		t.Errorf("got %q, want %q", got, content[4:])
	}
	if _, err := c.Open(context.Background(), source.Asset{Name: "x", URL: srv.URL + "/x"}, 20); !errors.Is(err, source.ErrUnavailable) {
		t.Errorf("offset past a whole answer: %v, want ErrUnavailable", err)
	}

	wrong := httptest.NewServer(rangeIgnorer(content, true))
	defer wrong.Close()
	_, err = c.Open(context.Background(), source.Asset{Name: "x", URL: wrong.URL + "/x"}, 4)
	if !errors.Is(err, source.ErrUnavailable) {
		t.Errorf("206 from the wrong place: %v, want ErrUnavailable", err)
	}
}

func TestClientStatusMapping(t *testing.T) {
	t.Parallel()
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	c := &feed.Client{URL: srv.URL + "/hello", HTTPClient: srv.Client()}
	sentinels := []error{source.ErrNotFound, source.ErrAccess, source.ErrUnavailable}
	for code, want := range map[int]error{
		http.StatusNotFound:            source.ErrNotFound,
		http.StatusUnauthorized:        source.ErrAccess,
		http.StatusForbidden:           source.ErrAccess,
		http.StatusInternalServerError: source.ErrUnavailable,
		http.StatusServiceUnavailable:  source.ErrUnavailable,
	} {
		status.Store(int32(code))
		_, errFeed := c.Releases(context.Background(), nil)
		_, errOpen := c.Open(context.Background(), source.Asset{Name: "a", URL: srv.URL + "/hello/a"}, 0)
		for _, err := range []error{errFeed, errOpen} {
			for _, s := range sentinels {
				if errors.Is(err, s) != (s == want) {
					t.Errorf("%d: %v; errors.Is %v = %v", code, err, s, !(s == want))
				}
			}
		}
	}
	// The network failing is ErrUnavailable too.
	srv.Close()
	if _, err := c.Releases(context.Background(), nil); !errors.Is(err, source.ErrUnavailable) {
		t.Errorf("closed server: %v, want ErrUnavailable", err)
	}
}

func TestClientRefusesHTTPSToHTTPRedirect(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, f.http.URL+r.URL.Path, http.StatusFound)
	}))
	defer secure.Close()
	c := &feed.Client{URL: secure.URL + "/hello", HTTPClient: secure.Client()}
	if _, err := c.Releases(context.Background(), f.keys); !errors.Is(err, source.ErrInsecureRedirect) {
		t.Fatalf("Releases: %v, want ErrInsecureRedirect", err)
	}
	_, err := c.Open(context.Background(), source.Asset{Name: "a", URL: secure.URL + "/hello/hello-1.0.0-linux-amd64"}, 0)
	if !errors.Is(err, source.ErrInsecureRedirect) {
		t.Fatalf("Open: %v, want ErrInsecureRedirect", err)
	}
	if n := f.count.count(http.StatusOK); n != 0 {
		t.Errorf("the plain server answered %d times", n)
	}
}

func TestClientFeedSizeCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	c := f.client("hello")
	c.MaxFeedBytes = 64
	if _, err := c.Releases(context.Background(), f.keys); !errors.Is(err, source.ErrBadMetadata) {
		t.Fatalf("feed over MaxFeedBytes: %v, want ErrBadMetadata", err)
	}
}

func TestClientContextCanceled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"hello-1.0.0-linux-amd64": "one"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client("hello").Releases(ctx, f.keys)
	if !errors.Is(err, context.Canceled) || errors.Is(err, source.ErrUnavailable) {
		t.Fatalf("canceled: %v, want context.Canceled only", err)
	}
}
