package server

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/source/feed"

	"github.com/molt-go/update/verify"
)

// newKey returns a fresh P-256 signer and the verifier that pins its key.
func newKey(t *testing.T) (*feed.Signer, *verify.Keys) {
	t.Helper()
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := feed.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := verify.Signature(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, keys
}

// testPayload is a valid payload with one release of one asset.
func testPayload() *feed.Payload {
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &feed.Payload{
		App:     "hello",
		Serial:  42,
		Issued:  issued,
		Expires: issued.Add(DefaultLifetime),
		Releases: []feed.Release{{
			Version:   "1.1.0",
			Published: issued.Add(-time.Hour),
			Assets: []feed.Asset{{
				Name:   "hello-1.1.0-linux-amd64",
				OS:     "linux",
				Arch:   "amd64",
				Size:   5,
				SHA256: sha256hex("hello"),
				URL:    "hello-1.1.0-linux-amd64",
			}},
		}},
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// writeFile writes content to dir/name with the given modification time,
// so that tests never depend on the clock's resolution.
func writeFile(t *testing.T, dir, name, content string, mod time.Time) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// clock is a settable time source for the Server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// counter counts the responses a handler gives, by status.
type counter struct {
	h  http.Handler
	mu sync.Mutex
	n  map[int]int
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	c.h.ServeHTTP(rec, r)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[int]int)
	}
	c.n[rec.status]++
}

func (c *counter) count(status int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[status]
}

// fixture is a Server over a temporary folder, on 127.0.0.1, with a clock
// that tests move.
type fixture struct {
	dir    string
	clock  *clock
	signer *feed.Signer
	keys   *verify.Keys
	srv    *Server
	count  *counter
	http   *httptest.Server
}

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newFixture serves a folder holding files (name -> content).
func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	return newFixtureWith(t, files, nil)
}

// newFixtureWith is newFixture with options set by opt, if not nil.
func newFixtureWith(t *testing.T, files map[string]string, opt func(*Options)) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), clock: &clock{t: epoch}}
	for name, content := range files {
		writeFile(t, f.dir, name, content, epoch.Add(-time.Hour))
	}
	f.signer, f.keys = newKey(t)
	o := Options{Dir: f.dir, Signer: f.signer, Logger: testLogger(t)}
	if opt != nil {
		opt(&o)
	}
	srv, err := newServer(o, f.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.count = &counter{h: srv}
	f.http = httptest.NewServer(f.count)
	t.Cleanup(f.http.Close)
	return f
}

// client returns a Client for app on the fixture's server.
func (f *fixture) client(app string) *feed.Client {
	return &feed.Client{URL: f.http.URL + "/" + app, HTTPClient: f.http.Client()}
}
