package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/updatetest"
	"github.com/molt-go/update/verify"
)

// world is a publisher with a key hierarchy, a release folder served by
// the real feed server, and a switch in front of it, so that a test can
// put a hostile mirror at the same URL.
type world struct {
	t       *testing.T
	dir     string
	root    *feed.Signer
	rootPub []byte
	kf      *feed.KeyFile
	front   atomic.Pointer[http.Handler]
	url     string
	asset   []byte
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func signer(t *testing.T) (*feed.Signer, []byte) {
	t.Helper()
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := feed.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, pub
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), asset: []byte("hello 1.1.0, the new build")}
	name := "hello-1.1.0-" + runtime.GOOS + "-" + runtime.GOARCH
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if err := os.WriteFile(filepath.Join(w.dir, name), w.asset, 0o755); err != nil {
		t.Fatal(err)
	}
	w.root, w.rootPub = signer(t)
	kf, err := feed.NewKeyFile(1, w.root)
	if err != nil {
		t.Fatal(err)
	}
	w.kf = kf
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		(*w.front.Load()).ServeHTTP(rw, r)
	}))
	t.Cleanup(ts.Close)
	w.url = ts.URL + "/hello"
	return w
}

// issue lists a new signing key, as pkgserver key issue does, and writes
// keys.json into the folder.
func (w *world) issue() *feed.Signer {
	w.t.Helper()
	s, pub := signer(w.t)
	if _, err := w.kf.AddKey(pub, time.Now().Add(30*24*time.Hour)); err != nil {
		w.t.Fatal(err)
	}
	w.writeKeys()
	return s
}

func (w *world) revoke(s *feed.Signer) {
	w.t.Helper()
	if err := w.kf.Revoke(s.KeyID()); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) writeKeys() []byte {
	w.t.Helper()
	b, err := w.kf.Sign(time.Now(), w.root)
	if err != nil {
		w.t.Fatal(err)
	}
	// A new name each time, so the server sees the change whatever the
	// clock's resolution.
	tmp := filepath.Join(w.dir, ".keys.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(w.dir, feed.KeysFile)); err != nil {
		w.t.Fatal(err)
	}
	return b
}

// serve puts the real feed server, signing with s (and extra), in front.
func (w *world) serve(s *feed.Signer, extra ...*feed.Signer) {
	w.t.Helper()
	srv, err := server.New(server.Options{Dir: w.dir, Signer: s, ExtraSigners: extra, Logger: quiet()})
	if err != nil {
		w.t.Fatal(err)
	}
	h, err := srv.WithKeyList()
	if err != nil {
		w.t.Fatal(err)
	}
	w.front.Store(&h)
}

// hostile puts a mirror in front that serves this feed.json and this
// keys.json (the real one if nil).
func (w *world) hostile(feedJSON, keysJSON []byte) {
	real := *w.front.Load()
	var h http.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/hello/feed.json":
			rw.Write(feedJSON)
		case r.URL.Path == "/hello/keys.json" && keysJSON != nil:
			rw.Write(keysJSON)
		default:
			real.ServeHTTP(rw, r)
		}
	})
	w.front.Store(&h)
}

// program is one run of the program: a fresh Updater (and so fresh roots
// in memory) over a state directory that persists between runs.
type program struct {
	target, state string
}

func newProgram(t *testing.T) *program {
	t.Helper()
	p := &program{target: filepath.Join(t.TempDir(), "hello"), state: t.TempDir()}
	if err := os.WriteFile(p.target, []byte("hello 1.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *program) updater(t *testing.T, url string, v verify.Verifier) *update.Updater {
	t.Helper()
	u, err := update.New(update.Options{
		App: "hello", Version: "1.0.0",
		Source: &feed.Client{URL: url, MetadataTimeout: 10 * time.Second}, Verifier: v,
		Target: p.target, StateDir: p.state,
		Restarter: &updatetest.Restarter{}, SkipProbe: true, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestKeyHierarchyEndToEnd: a program that pins only the root installs a
// release the feed server signs with an issued key; after the key is
// revoked, a server still signing with it is refused, and the key issued
// in its place works without a new binary. A program shipped before the
// hierarchy, pinning the old signing key, keeps working while the server
// adds that key's signature.
func TestKeyHierarchyEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	k1 := w.issue()
	legacy, legacyPub := signer(t)
	w.serve(k1, legacy)
	ctx := context.Background()

	p := newProgram(t)
	res, err := p.updater(t, w.url, feed.MustRoots(w.rootPub)).Check(ctx)
	if err != nil || !res.Updated || res.To != "1.1.0" {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	if got, _ := os.ReadFile(p.target); string(got) != string(w.asset) {
		t.Fatalf("installed %q", got)
	}

	old := newProgram(t)
	if res, err := old.updater(t, w.url, verify.MustSignature(legacyPub)).Find(ctx); err != nil || res.To != "1.1.0" {
		t.Fatalf("a program pinning the legacy key: %+v, %v", res, err)
	}

	// k1 is thought stolen: revoked, and k2 issued, in one new list.
	w.revoke(k1)
	k2, pub2 := signer(t)
	if _, err := w.kf.AddKey(pub2, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	w.writeKeys()
	// The thief's server, still signing with k1, serving the new list.
	w.serve(k2) // the real server now signs with k2...
	stolenFeed := signFeed(t, w, k1, time.Now().Unix()+10)
	w.hostile(stolenFeed, nil) // ...but a mirror serves k1's feed
	q := newProgram(t)
	_, err = q.updater(t, w.url, feed.MustRoots(w.rootPub)).Find(ctx)
	if !errors.Is(err, feed.ErrKeyRevoked) || !errors.Is(err, update.ErrNotVerified) {
		t.Fatalf("feed signed by the revoked key: err = %v, want ErrKeyRevoked", err)
	}
	w.serve(k2)
	if res, err := q.updater(t, w.url, feed.MustRoots(w.rootPub)).Find(ctx); err != nil || res.To != "1.1.0" {
		t.Fatalf("after the rotation, with the same binary: %+v, %v", res, err)
	}
}

// signFeed signs, with s, the feed the real server would serve now, with
// the given serial: what a thief holding s can make.
func signFeed(t *testing.T, w *world, s *feed.Signer, serial int64) []byte {
	t.Helper()
	apps, err := server.Build(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	p := apps["hello"]
	p.Serial, p.Issued = serial, time.Now().UTC().Truncate(time.Second)
	p.Expires = p.Issued.Add(24 * time.Hour)
	b, err := feed.Sign(p, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFastForwardAfterRotationEndToEnd: a thief with a signing key pushes
// the program's feed counter to the top before the key is revoked. After
// the revocation the key issued in its place is not locked out (its key
// epoch is newer), and the thief's key list and feed, replayed to a
// restarted program, are refused (their epoch is older than the one kept
// in the state file).
func TestFastForwardAfterRotationEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	stolen := w.issue() // epoch 1
	oldKeys, err := os.ReadFile(filepath.Join(w.dir, feed.KeysFile))
	if err != nil {
		t.Fatal(err)
	}
	w.serve(stolen)
	ctx := context.Background()
	p := newProgram(t)
	if _, err := p.updater(t, w.url, feed.MustRoots(w.rootPub)).Find(ctx); err != nil {
		t.Fatal(err)
	}

	// The thief fast-forwards the counter while its key is still valid.
	w.hostile(signFeed(t, w, stolen, math.MaxInt64), nil)
	if _, err := p.updater(t, w.url, feed.MustRoots(w.rootPub)).Find(ctx); err != nil {
		t.Fatalf("the fast-forwarded feed, signed by a key still valid: %v", err)
	}

	// Revoked; a new key issued (epoch 2); the real server signs with it.
	w.revoke(stolen)
	replacement := w.issue()
	w.serve(replacement)
	if res, err := p.updater(t, w.url, feed.MustRoots(w.rootPub)).Find(ctx); err != nil || res.To != "1.1.0" {
		t.Fatalf("the replacement key after the fast-forward: %+v, %v (want it admitted: a newer key epoch starts the counter afresh; admit must call admitKeyEpoch, keys_trust.go)", res, err)
	}

	// The thief replays the key list that still trusts its key, with its
	// feed, to the program started afresh (no key list in memory).
	w.hostile(signFeed(t, w, stolen, math.MaxInt64), oldKeys)
	_, err = p.updater(t, w.url, feed.MustRoots(w.rootPub)).Find(ctx)
	if !errors.Is(err, update.ErrReplayed) {
		t.Fatalf("the old key list and the stolen key's feed after a restart: err = %v, want ErrReplayed", err)
	}
}
