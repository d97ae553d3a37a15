package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molt-go/update/internal/ghfake"
	"github.com/molt-go/update/source"
)

// TestDocumentedShape serves the API's documented example page verbatim and
// checks that the fields the source needs come through.
func TestDocumentedShape(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "octocat", "Hello-World")
	raw, err := os.ReadFile("testdata/api/releases.json")
	if err != nil {
		t.Fatal(err)
	}
	f.Do(func(st *ghfake.State) { st.Verbatim = raw })
	s := newSource(t, f, Options{App: "example"})
	l, err := s.Releases(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Releases) != 1 {
		t.Fatalf("got %d releases, want 1", len(l.Releases))
	}
	r := l.Releases[0]
	if r.Version != "v1.0.0" || r.Notes != "Description of the release" ||
		!r.Published.Equal(time.Date(2013, 2, 27, 19, 35, 32, 0, time.UTC)) {
		t.Errorf("release = %+v", r)
	}
	// example.zip names no platform: it is not a program to install.
	if len(r.Assets) != 0 {
		t.Errorf("assets = %+v, want none", r.Assets)
	}
}

func manyReleases(n int) []ghfake.Release {
	rs := make([]ghfake.Release, n)
	for i := range rs {
		v := fmt.Sprintf("1.0.%d", i)
		rs[i] = ghfake.Release{Tag: "v" + v, Files: []ghfake.File{
			{Name: "hello_" + v + "_linux_amd64.tar.gz", Data: []byte("program " + v)},
		}}
	}
	return rs
}

// TestPaginationAndETag lists 130 releases over two pages on a prerelease
// channel, which reads the list: a second look asks for the first page
// with its ETag, gets a 304 and reads no other page; a new release changes
// the pages and shows.
func TestPaginationAndETag(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "acme", "hello")
	f.Add(manyReleases(130)...)
	s := newSource(t, f, Options{Channel: "prerelease"})
	ctx := context.Background()

	l, err := s.Releases(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Releases) != 130 {
		t.Fatalf("got %d releases, want 130", len(l.Releases))
	}
	var versions []string
	for _, r := range l.Releases {
		versions = append(versions, r.Version)
	}
	for i := range 130 {
		if !slices.Contains(versions, fmt.Sprintf("v1.0.%d", i)) {
			t.Fatalf("v1.0.%d missing from the listing", i)
		}
	}
	if full, nm := f.Counts(); full != 2 || nm != 0 {
		t.Fatalf("first look: %d full pages, %d not modified; want 2, 0", full, nm)
	}

	l2, err := s.Releases(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if full, nm := f.Counts(); full != 2 || nm != 1 {
		t.Fatalf("second look: %d full pages, %d not modified; want 2 (no new full fetch), 1 (the first page only)", full, nm)
	}
	if len(l2.Releases) != 130 {
		t.Fatalf("cached listing has %d releases, want 130", len(l2.Releases))
	}

	// A new release changes both pages; the new one must show.
	f.Add(ghfake.Release{Tag: "v1.1.0", Files: []ghfake.File{{Name: "hello_1.1.0_linux_amd64.tar.gz", Data: []byte("new")}}})
	l3, err := s.Releases(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(l3.Releases) != 131 || l3.Releases[0].Version != "v1.1.0" {
		t.Fatalf("after a new release: %d releases, newest %s", len(l3.Releases), l3.Releases[0].Version)
	}
	if full, _ := f.Counts(); full != 4 {
		t.Fatalf("after a new release: %d full pages in all, want 4", full)
	}
}

// TestStableChannelAsksForTheLatestFirst: on the stable channel a look
// asks for the latest release, and reads the list only when that changed.
func TestStableChannelAsksForTheLatestFirst(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "acme", "hello")
	f.Add(manyReleases(130)...)
	s := newSource(t, f, Options{})
	ctx := context.Background()
	api := func() (total, latest, latestNM, pages int) {
		f.Do(func(st *ghfake.State) {
			total, latest, latestNM, pages = st.API, st.Latest, st.LatestNotModified, st.FullPages+st.NotModified
		})
		return
	}
	if _, err := s.Releases(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if total, latest, _, pages := api(); total != 3 || latest != 1 || pages != 2 {
		t.Fatalf("first look: %d requests (%d latest, %d pages), want 3 (1, 2)", total, latest, pages)
	}
	// A new prerelease does not change the latest release: not read.
	f.Add(ghfake.Release{Tag: "v1.1.0-rc.1", Pre: true, Files: []ghfake.File{{Name: "hello_1.1.0-rc.1_linux_amd64.tar.gz", Data: []byte("rc")}}})
	l, err := s.Releases(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if total, _, nm, _ := api(); total != 4 || nm != 1 {
		t.Fatalf("second look: %d requests in all, %d answered 304; want 4, 1", total, nm)
	}
	if len(l.Releases) != 130 {
		t.Fatalf("second look: %d releases, want the 130 cached", len(l.Releases))
	}
	// A new stable release does.
	f.Add(ghfake.Release{Tag: "v1.2.0", Files: []ghfake.File{{Name: "hello_1.2.0_linux_amd64.tar.gz", Data: []byte("new")}}})
	if l, err = s.Releases(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if l.Releases[0].Version != "v1.2.0" || len(l.Releases) != 132 {
		t.Fatalf("after a new release: newest %s of %d, want v1.2.0 of 132", l.Releases[0].Version, len(l.Releases))
	}
	if total, _, _, _ := api(); total != 7 {
		t.Fatalf("third look: %d requests in all, want 7 (the latest and two pages)", total)
	}
}

// TestSkipped checks which releases are left out: drafts, tags that are not
// semantic versions, and releases GitHub calls prereleases whose tags say
// stable (the updater would offer them on the stable channel).
func TestSkipped(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "acme", "hello")
	file := func(v string) []ghfake.File {
		return []ghfake.File{{Name: "hello_" + v + "_linux_amd64.tar.gz", Data: []byte(v)}}
	}
	f.Add(
		ghfake.Release{Tag: "v1.0.0", Files: file("1.0.0")},
		ghfake.Release{Tag: "1.1.0", Files: file("1.1.0")}, // no "v" is fine
		ghfake.Release{Tag: "nightly", Files: file("nightly")},
		ghfake.Release{Tag: "v1.2", Files: file("1.2")},                  // two parts: v1.2.0
		ghfake.Release{Tag: "v1.3.0", Pre: true, Files: file("1.3.0")},   // the tag wins: stable
		ghfake.Release{Tag: "v1.4.0", Draft: true, Files: file("1.4.0")}, // not published
		ghfake.Release{Tag: "v1.5.0-rc.1", Files: file("1.5.0-rc.1")},    // not marked, still a prerelease
		ghfake.Release{Tag: "release-v1.6.0", Files: file("1.6.0")},
		ghfake.Release{Tag: "hello-v1.7.0", Files: file("1.7.0")},
		ghfake.Release{Tag: "other/v9.0.0", Files: file("9.0.0")}, // another program's
		ghfake.Release{Tag: "v1", Files: file("1")},               // a moving major tag
		ghfake.Release{Tag: "1.7.0", Files: file("1.7.0")},        // the same version again
	)
	l, err := newSource(t, f, Options{Channel: "prerelease"}).Releases(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range l.Releases {
		got = append(got, r.Version)
	}
	want := []string{"1.7.0", "v1.6.0", "v1.5.0-rc.1", "v1.3.0", "v1.2.0", "1.1.0", "v1.0.0"}
	if !slices.Equal(got, want) {
		t.Fatalf("versions = %q, want %q", got, want)
	}
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	reset := time.Unix(time.Now().Add(42*time.Minute).Unix(), 0)
	for _, mode := range []string{"primary", "secondary"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub(t, "acme", "hello")
			f.Add(manyReleases(1)...)
			s := newSource(t, f, Options{})
			l, err := s.Releases(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, a := find(t, l, "v1.0.0", "linux", "amd64")
			f.Do(func(st *ghfake.State) { st.Limit, st.ResetAt = mode, reset })

			before := time.Now()
			_, err = s.Releases(context.Background(), nil)
			after := time.Now()
			if !errors.Is(err, ErrRateLimited) || !errors.Is(err, source.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrRateLimited and source.ErrUnavailable", err)
			}
			rl, ok := errors.AsType[*RateLimitError](err)
			if !ok {
				t.Fatalf("err = %T, want *RateLimitError", err)
			}
			switch mode {
			case "primary":
				if !rl.Reset.Equal(reset) {
					t.Errorf("Reset = %v, want %v", rl.Reset, reset)
				}
			case "secondary": // Retry-After: 60
				if rl.Reset.Before(before.Add(60*time.Second)) || rl.Reset.After(after.Add(60*time.Second)) {
					t.Errorf("Reset = %v, want 60s after %v", rl.Reset, before)
				}
			}
			// Public downloads do not go through the API, so they still work.
			if got := readAll(t, s, a, 0); string(got) != "program 1.0.0" {
				t.Errorf("download = %q", got)
			}
		})
	}
}

// TestPrivateRepository reads a repository that answers 404 without the
// token, downloads its asset through the API with the token, and checks
// the token never reaches the storage host the API redirects to.
func TestPrivateRepository(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "acme", "secret")
	data := bytes.Repeat([]byte("0123456789"), 1000)
	f.Add(ghfake.Release{Tag: "v2.0.0", Files: []ghfake.File{{Name: "secret_2.0.0_linux_amd64.tar.gz", Data: data}}})
	f.Do(func(st *ghfake.State) { st.Token = "s3cr3t" })
	ctx := context.Background()

	t.Run("no token", func(t *testing.T) {
		_, err := newSource(t, f, Options{}).Releases(ctx, nil)
		if !errors.Is(err, source.ErrNotFound) {
			t.Fatalf("err = %v, want source.ErrNotFound", err)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		_, err := newSource(t, f, Options{Token: "wrong"}).Releases(ctx, nil)
		if !errors.Is(err, source.ErrNotFound) {
			t.Fatalf("err = %v, want source.ErrNotFound", err)
		}
	})
	t.Run("token", func(t *testing.T) {
		s := newSource(t, f, Options{Token: "s3cr3t"})
		l, err := s.Releases(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, a := find(t, l, "v2.0.0", "linux", "amd64")
		if got := readAll(t, s, a, 0); !bytes.Equal(got, data) {
			t.Fatalf("downloaded %d bytes, want %d", len(got), len(data))
		}
		// Resume from the middle, with Range carried to the storage host.
		if got := readAll(t, s, a, 4321); !bytes.Equal(got, data[4321:]) {
			t.Fatalf("resumed download has %d bytes, want %d", len(got), len(data)-4321)
		}
		f.Do(func(st *ghfake.State) {
			if st.APIAsset != 2 {
				t.Errorf("%d downloads through the API, want 2", st.APIAsset)
			}
			for _, acc := range st.APIAccept {
				if acc != "application/octet-stream" {
					t.Errorf("API asked with Accept %q", acc)
				}
			}
			for _, auth := range st.StoreAuth {
				if auth != "" {
					t.Errorf("the storage host got Authorization %q", auth)
				}
			}
			if !slices.Equal(st.StoreRanges, []string{"", "bytes=4321-"}) {
				t.Errorf("storage saw ranges %q", st.StoreRanges)
			}
		})
	})
}

// TestTokenEnv reads the token from the environment. It cannot run in
// parallel, since it sets an environment variable.
func TestTokenEnv(t *testing.T) {
	f := newFakeGitHub(t, "acme", "hello")
	f.Add(manyReleases(1)...)
	f.Do(func(st *ghfake.State) { st.Token = "from-env" })
	t.Setenv("MOLT_TEST_GITHUB_TOKEN", "from-env")
	l, err := newSource(t, f, Options{TokenEnv: "MOLT_TEST_GITHUB_TOKEN"}).Releases(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	find(t, l, "v1.0.0", "linux", "amd64")
	// An explicit token wins over the environment.
	if _, err := newSource(t, f, Options{Token: "other", TokenEnv: "MOLT_TEST_GITHUB_TOKEN"}).Releases(context.Background(), nil); !errors.Is(err, source.ErrNotFound) {
		t.Fatalf("with Token set: %v, want source.ErrNotFound", err)
	}
}

// TestOpenErrors covers a missing asset and a server that ignores Range.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "acme", "hello")
	f.Add(manyReleases(1)...)
	s := newSource(t, f, Options{})
	l, err := s.Releases(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, a := find(t, l, "v1.0.0", "linux", "amd64")
	gone := a
	gone.URL = f.StoreURL() + "/acme/hello/releases/download/v1.0.0/nothing.tar.gz"
	if _, err := s.Open(context.Background(), gone, 0); !errors.Is(err, source.ErrNotFound) {
		t.Errorf("Open(missing) = %v, want source.ErrNotFound", err)
	}

	// A plain server that answers 200 to a Range request.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("0123456789"))
	}))
	defer plain.Close()
	a.URL = plain.URL + "/file"
	if got := readAll(t, s, a, 4); string(got) != "456789" {
		t.Errorf("resumed from a server without Range: %q, want %q", got, "456789")
	}
}

// TestInsecureRedirect has an https API redirect a download to plain http.
func TestInsecureRedirect(t *testing.T) {
	t.Parallel()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("bytes"))
	}))
	defer plain.Close()
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/blob", http.StatusFound)
	}))
	defer api.Close()
	s, err := New(Options{Owner: "acme", Repo: "hello", BaseURL: api.URL, Token: "t", HTTPClient: api.Client()})
	if err != nil {
		t.Fatal(err)
	}
	a := source.Asset{Name: "hello_linux_amd64", URL: api.URL + "/repos/acme/hello/releases/assets/1"}
	if _, err := s.Open(context.Background(), a, 0); !errors.Is(err, source.ErrInsecureRedirect) {
		t.Fatalf("err = %v, want source.ErrInsecureRedirect", err)
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{
		{},
		{Owner: "acme"},
		{Owner: "acme/x", Repo: "hello"},
		{Owner: "acme", Repo: "hello", BaseURL: "ftp://example.invalid/"},
		{Owner: "acme", Repo: "hello", BaseURL: "http://example.invalid/api/v3/", Token: "t"},
	} {
		if _, err := New(o); !errors.Is(err, ErrOptions) {
			t.Errorf("New(%+v) = %v, want ErrOptions", o, err)
		}
	}
	if _, err := New(Options{Owner: "acme", Repo: "hello"}); err != nil {
		t.Errorf("New with defaults: %v", err)
	}
}

// TestHTTPClientOption checks that the caller's client makes the requests.
func TestHTTPClientOption(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "acme", "hello")
	f.Add(manyReleases(1)...)
	var used atomic.Int32
	counting := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	s := newSource(t, f, Options{HTTPClient: counting})
	if _, err := s.Releases(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if used.Load() == 0 {
		t.Fatal("the client given in Options.HTTPClient was not used")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
