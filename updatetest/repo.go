// Package updatetest helps a program test its own update flow in-process,
// as tableflip/testing and go-tuf's simulator help theirs: a Repo is a
// release repository in memory that signs, counts and expires its metadata
// exactly as the feed protocol does, and that a test tells to misbehave
// (replay an old feed, freeze, sign for another app, tamper with a file, mix
// one release's file into another). Applier and Restarter record what the
// updater asked of them without touching the running program.
//
//	repo := updatetest.NewRepo(t, "hello")
//	repo.Publish("1.1.0", []byte("new build"))
//	u, _ := update.New(update.Options{
//		App: "hello", Version: "1.0.0",
//		Source: repo.Source(), Verifier: repo.Verifier(),
//		Target: target, StateDir: t.TempDir(),
//		Restarter: &updatetest.Restarter{}, SkipProbe: true,
//	})
//
// Repo.URL serves the same repository over HTTP on 127.0.0.1, for a test
// that wants the real feed client (source/feed) in the path.
package updatetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// Lifetime is how long a feed the Repo signs stays valid, as the feed
// server's default.
const Lifetime = 7 * 24 * time.Hour

// Repo is a signed release repository in memory. Its methods are safe for
// concurrent use; the zero value is not usable, call NewRepo.
type Repo struct {
	t      testing.TB
	app    string
	signer *feed.Signer
	pub    []byte
	keys   *verify.Keys
	base   *url.URL // what asset URLs of the in-memory source resolve against

	mu       sync.Mutex
	now      func() time.Time
	serial   int64
	signedAs string            // app name written into the feed; App unless SignAs
	expired  bool              // sign the next feeds already expired
	frozen   bool              // keep serving the last feed as it is
	current  []byte            // the feed served now
	history  map[int64][]byte  // every feed signed, by serial
	releases []feed.Release    // newest last
	files    map[string][]byte // asset bytes by name
	tamper   map[string]func([]byte) []byte
	trickle  map[string]time.Duration // one byte per this, for the asset named
	srv      *httptest.Server

	feeds, assets atomic.Int64
}

// NewRepo returns an empty repository for app with a fresh P-256 signing
// key. Its HTTP server, if URL is called, stops when the test ends.
func NewRepo(t testing.TB, app string) *Repo {
	t.Helper()
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := feed.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := verify.Signature(pub)
	if err != nil {
		t.Fatal(err)
	}
	r := &Repo{
		t: t, app: app, signer: signer, pub: pub, keys: keys,
		base:     &url.URL{Scheme: "http", Host: "updatetest.invalid", Path: "/" + app + "/feed.json"},
		now:      time.Now,
		signedAs: app,
		history:  make(map[int64][]byte),
		files:    make(map[string][]byte),
		tamper:   make(map[string]func([]byte) []byte),
		trickle:  make(map[string]time.Duration),
		// Counters start from the clock, as the feed server's do, so that
		// a test may move a program between repositories.
		serial: time.Now().Unix(),
	}
	r.mu.Lock()
	r.resign()
	r.mu.Unlock()
	return r
}

// PublicKey is the PEM public key the repository signs with, what a
// program pins.
func (r *Repo) PublicKey() []byte { return bytes.Clone(r.pub) }

// Verifier pins the repository's key.
func (r *Repo) Verifier() verify.Verifier { return r.keys }

// SetClock makes the repository sign with now's time from here on (Issued,
// Expires). A test that moves the updater's clock moves this one with it.
func (r *Repo) SetClock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

// Publish adds a release of version with one asset for this machine's
// platform, named as the feed names files, and signs a new feed.
func (r *Repo) Publish(version string, body []byte) {
	r.PublishFor(version, runtime.GOOS, runtime.GOARCH, body)
}

// PublishFor adds an asset of version for goos/goarch (making the release
// if it is new) and signs a new feed.
func (r *Repo) PublishFor(version, goos, goarch string, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := platform.FeedName(r.app, version, goos, goarch, platform.Bare)
	sum := sha256.Sum256(body)
	a := feed.Asset{Name: name, OS: goos, Arch: goarch, Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), URL: name}
	r.files[name] = bytes.Clone(body)
	i := slices.IndexFunc(r.releases, func(rel feed.Release) bool { return rel.Version == version })
	if i < 0 {
		r.releases = append(r.releases, feed.Release{Version: version, Published: r.now()})
		i = len(r.releases) - 1
	}
	rel := &r.releases[i]
	rel.Assets = slices.DeleteFunc(rel.Assets, func(x feed.Asset) bool { return x.Name == name })
	rel.Assets = append(rel.Assets, a)
	r.resign()
}

// Withdraw removes version from the repository and signs a new feed.
func (r *Repo) Withdraw(version string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releases = slices.DeleteFunc(r.releases, func(rel feed.Release) bool { return rel.Version == version })
	r.resign()
}

// Serial is the counter of the feed served now.
func (r *Repo) Serial() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.served()
}

// RestartCounter signs a fresh feed whose counter starts again at n: the
// same key behind a new publishing pipeline (a bucket, GitHub releases)
// that counts from zero. The same origin sees it as a replay; another
// origin starts afresh.
func (r *Repo) RestartCounter(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.serial = n - 1
	r.resign()
}

// Requests counts the feeds and the asset reads served so far.
func (r *Repo) Requests() (feeds, assets int64) { return r.feeds.Load(), r.assets.Load() }

// The attacks. Each changes what the repository serves from now on.

// Replay serves the feed that had counter serial again: a mirror showing
// an old view, in which newer releases do not exist.
func (r *Repo) Replay(serial int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, ok := r.history[serial]
	if !ok {
		r.t.Fatalf("updatetest: no feed was signed with serial %d", serial)
	}
	r.current, r.frozen = data, true
}

// Freeze keeps serving the feed served now, unchanged, whatever is
// published later: a mirror that stopped updating. It runs into its expiry
// eventually. Unfreeze ends it and signs a fresh feed.
func (r *Repo) Freeze() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frozen = true
}

// Unfreeze ends Freeze and Replay and signs a fresh feed.
func (r *Repo) Unfreeze() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frozen = false
	r.resign()
}

// Expire signs a fresh feed that is already past its expiry (and keeps
// doing so until Renew): a key holder that stopped signing.
func (r *Repo) Expire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expired = true
	r.resign()
}

// Renew ends Expire.
func (r *Repo) Renew() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expired = false
	r.resign()
}

// SignAs signs a fresh feed naming app instead of the repository's own:
// a feed made with the same key for another program.
func (r *Repo) SignAs(app string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signedAs = app
	r.resign()
}

// Tamper serves the bytes of asset name changed by f; the signed feed
// still promises the original ones.
func (r *Repo) Tamper(name string, f func([]byte) []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tamper[name] = f
}

// Trickle serves asset name one byte per every, after its headers: a
// mirror that keeps the connection alive and never finishes.
func (r *Repo) Trickle(name string, every time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trickle[name] = every
}

func (r *Repo) trickleOf(name string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.trickle[name]
}

// MixAndMatch serves the signed file of version from as the file of
// version to: both are genuine, but not for that name.
func (r *Repo) MixAndMatch(from, to string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	src := r.files[r.assetName(from)]
	if src == nil {
		r.t.Fatalf("updatetest: no asset of %s for this platform", from)
	}
	r.tamper[r.assetName(to)] = func([]byte) []byte { return bytes.Clone(src) }
}

// AssetName is the name of version's asset for this machine's platform.
func (r *Repo) AssetName(version string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.assetName(version)
}

func (r *Repo) assetName(version string) string {
	return platform.FeedName(r.app, version, runtime.GOOS, runtime.GOARCH, platform.Bare)
}

// resign signs the releases as a new feed with the next serial, unless
// the repository is frozen. The caller holds r.mu.
func (r *Repo) resign() {
	if r.frozen {
		return
	}
	r.serial++
	issued := r.now()
	expires := issued.Add(Lifetime)
	if r.expired {
		issued, expires = issued.Add(-2*Lifetime), issued.Add(-time.Minute)
	}
	p := &feed.Payload{App: r.signedAs, Serial: r.serial, Issued: issued, Expires: expires, Releases: slices.Clone(r.releases)}
	if p.Releases == nil {
		p.Releases = []feed.Release{}
	}
	data, err := feed.Sign(p, r.signer)
	if err != nil {
		r.t.Fatalf("updatetest: signing the feed: %v", err)
	}
	r.history[r.serial] = data
	r.current = data
}

// served is the serial of the feed served now. The caller holds r.mu.
func (r *Repo) served() int64 {
	for s, d := range r.history {
		if bytes.Equal(d, r.current) {
			return s
		}
	}
	return 0
}

func (r *Repo) feed() []byte {
	r.feeds.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

func (r *Repo) file(name string) ([]byte, bool) {
	r.assets.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.files[name]
	if f := r.tamper[name]; ok && f != nil {
		b = f(bytes.Clone(b))
	}
	return b, ok
}

// Source is the repository as an in-memory source.Source: Releases parses
// and verifies the signed feed exactly as the feed client does, so every
// trust rule applies; Open serves the (possibly tampered) bytes.
func (r *Repo) Source() source.Source { return &memSource{r: r} }

type memSource struct{ r *Repo }

func (m *memSource) Releases(_ context.Context, v verify.Verifier) (*source.Listing, error) {
	data := m.r.feed()
	p, err := feed.Parse(data, v)
	if err != nil {
		return nil, err
	}
	l, err := p.Listing(m.r.base)
	if err != nil {
		return nil, err
	}
	l.Origin = m.r.base.String()
	return l, nil
}

func (m *memSource) Open(ctx context.Context, a source.Asset, offset int64) (io.ReadCloser, error) {
	b, ok := m.r.file(a.Name)
	if !ok {
		return nil, fmt.Errorf("updatetest: %w: asset %s", source.ErrNotFound, a.Name)
	}
	if offset < 0 || offset > int64(len(b)) {
		return nil, fmt.Errorf("updatetest: offset %d out of range", offset)
	}
	if d := m.r.trickleOf(a.Name); d > 0 {
		return &trickler{ctx: ctx, r: bytes.NewReader(b[offset:]), every: d, done: make(chan struct{})}, nil
	}
	return io.NopCloser(bytes.NewReader(b[offset:])), nil
}

// trickler reads one byte per every, until its context ends or it is
// closed.
type trickler struct {
	ctx   context.Context
	r     io.Reader
	every time.Duration
	done  chan struct{}
	once  sync.Once
}

func (t *trickler) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	select {
	case <-t.ctx.Done():
		return 0, t.ctx.Err()
	case <-t.done:
		return 0, io.ErrClosedPipe
	case <-time.After(t.every):
	}
	return t.r.Read(p[:1])
}

func (t *trickler) Close() error {
	t.once.Do(func() { close(t.done) })
	return nil
}

// URL serves the repository over HTTP on 127.0.0.1 (started on first call,
// stopped when the test ends) and returns the feed's URL, for
// feed.New(repo.URL()).
func (r *Repo) URL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv == nil {
		r.srv = httptest.NewServer(http.HandlerFunc(r.serveHTTP))
		r.t.Cleanup(r.srv.Close)
	}
	return r.srv.URL + "/" + r.app + "/"
}

func (r *Repo) serveHTTP(w http.ResponseWriter, req *http.Request) {
	rest, ok := strings.CutPrefix(req.URL.Path, "/"+r.app+"/")
	switch {
	case !ok:
		http.NotFound(w, req)
	case rest == "feed.json":
		w.Header().Set("Content-Type", "application/json")
		w.Write(r.feed())
	default:
		b, ok := r.file(rest)
		if !ok {
			http.NotFound(w, req)
			return
		}
		if d := r.trickleOf(rest); d > 0 {
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			w.WriteHeader(http.StatusOK)
			rc := http.NewResponseController(w)
			for i := range b {
				select {
				case <-req.Context().Done():
					return
				case <-time.After(d):
				}
				w.Write(b[i : i+1])
				rc.Flush()
			}
			return
		}
		http.ServeContent(w, req, rest, time.Time{}, bytes.NewReader(b))
	}
}
