package github

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molt-go/update/internal/ghfake"
)

// TestCacheDir: a program started again with the same CacheDir asks
// GitHub one conditional question for an unchanged repository, downloads
// no file again, and lists the same; a cache made garbage is ignored.
func TestCacheDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	progs := programs("1.2.3")
	sums := sumsOf(progs...)
	files := append(append([]ghfake.File(nil), progs...), ghfake.File{Name: "SHA256SUMS", Data: sums},
		ghfake.File{Name: "SHA256SUMS.minisig", Data: fakeSign(sums)})
	f := newFakeGitHub(t, "acme", "hello")
	f.Add(ghfake.Release{Tag: "v1.2.2", Files: programs("1.2.2")}, ghfake.Release{Tag: "v1.2.3", Files: files})
	v := fakeSig{suffixes: []string{".minisig"}}
	counts := func() (api, conditional, store int) {
		f.Do(func(st *ghfake.State) { api, conditional, store = st.API, st.Conditional, len(st.StoreAuth) })
		return
	}

	first := digests(t, newSource(t, f, Options{CacheDir: dir}), v)
	api1, _, store1 := counts()
	if api1 != 2 || store1 != 2 {
		t.Fatalf("first run: %d API requests, %d downloads; want 2 (latest, list), 2 (SHA256SUMS and its signature)", api1, store1)
	}
	// The next run of the program: a new Source, the same directory.
	second := digests(t, newSource(t, f, Options{CacheDir: dir}), v)
	api2, cond2, store2 := counts()
	if api2-api1 != 1 || cond2 != 1 || store2 != store1 {
		t.Fatalf("second run: %d API requests (%d conditional), %d downloads; want 1 (1), 0", api2-api1, cond2, store2-store1)
	}
	for name, d := range first {
		if second[name] != d || d == "" {
			t.Errorf("%s: %q then %q", name, d, second[name])
		}
	}

	// A new release is seen by the next run.
	f.Add(ghfake.Release{Tag: "v1.3.0", Files: programs("1.3.0")})
	l, err := newSource(t, f, Options{CacheDir: dir}).Releases(context.Background(), v)
	if err != nil || l.Releases[0].Version != "v1.3.0" {
		t.Fatalf("after a new release: %v, %v", l, err)
	}

	// Garbage in the cache is ignored, and replaced.
	root := filepath.Join(dir, "github")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.WriteFile(p, []byte("garbage"), 0o600)
		}
		return nil
	})
	if got := digests(t, newSource(t, f, Options{CacheDir: dir}), v); len(got) != 3 {
		t.Fatalf("with a garbage cache: %v", got)
	}
	if data, err := os.ReadFile(filepath.Join(root, cacheKey(strings.TrimPrefix(f.APIURL(), "http://")+"_acme_hello"), "releases.json")); err != nil || string(data) == "garbage" {
		t.Fatalf("the release cache was not rewritten: %v", err)
	}
}

// TestRateLimitReported: the accessor says what GitHub's last answer said.
func TestRateLimitReported(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "acme", "hello")
	f.Add(manyReleases(1)...)
	s := newSource(t, f, Options{})
	if _, ok := s.RateLimit(); ok {
		t.Fatal("a rate limit before any request")
	}
	if _, err := s.Releases(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	rl, ok := s.RateLimit()
	if !ok || rl.Limit != 60 || rl.Remaining != 59 || rl.Reset.IsZero() || !strings.Contains(rl.String(), "59/60") {
		t.Fatalf("RateLimit = %+v, %v", rl, ok)
	}
}
