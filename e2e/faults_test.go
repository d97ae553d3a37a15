//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// updater returns an Updater for the world's installed hello that installs
// but does not restart, so the test can look at the result.
func (w *world) updater(edit ...func(*update.Options)) *update.Updater {
	w.t.Helper()
	keys, err := verify.Signature(w.pubPEM)
	if err != nil {
		w.t.Fatal(err)
	}
	o := update.Options{
		App: "hello", Version: "1.0.0",
		Source:    feed.New(w.feedURL()),
		Verifier:  keys,
		Target:    w.target,
		StateDir:  w.state,
		Restarter: restart.None{},
		Retries:   2,
		Logger:    quietLogger(),
	}
	for _, e := range edit {
		e(&o)
	}
	u, err := update.New(o)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// refused runs Check and asserts that it fails with want, and that the
// installed binary and its folder are exactly as before.
func (w *world) refused(want error, edit ...func(*update.Options)) error {
	w.t.Helper()
	before := snap(w.t, w.target)
	res, err := w.updater(edit...).Check(context.Background())
	if !errors.Is(err, want) {
		w.t.Fatalf("Check: got %v (result %+v), want an error wrapping %v", err, res, want)
	}
	var ue *update.Error
	if !errors.As(err, &ue) || ue.Step == "" {
		w.t.Fatalf("error %v is not an *update.Error naming the step", err)
	}
	unchanged(w.t, w.target, before)
	return err
}

// alter rewrites the bytes of responses whose path ends in suffix.
func alter(suffix string, f func([]byte) []byte) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, suffix) {
				next.ServeHTTP(rw, r)
				return
			}
			rec := httptest.NewRecorder()
			r.Header.Del("If-None-Match")
			next.ServeHTTP(rec, r)
			body := f(rec.Body.Bytes())
			for k, v := range rec.Header() {
				rw.Header()[k] = v
			}
			rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
			rw.Header().Del("Etag")
			rw.WriteHeader(rec.Code)
			rw.Write(body)
		})
	}
}

func status(code int, suffix string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, suffix) {
				http.Error(rw, http.StatusText(code), code)
				return
			}
			next.ServeHTTP(rw, r)
		})
	}
}

func TestRefusedUpdates(t *testing.T) {
	t.Parallel()
	asset := platformName("hello", "1.1.0")
	otherKey, _ := keys(t, t.TempDir())
	cases := []struct {
		name  string
		setup func(w *world)
		want  error
	}{
		{"flipped byte in the asset", func(w *world) {
			w.setWrap(alter(asset, func(b []byte) []byte { b = bytes.Clone(b); b[len(b)/2] ^= 1; return b }))
		}, verify.ErrDigestMismatch},
		{"feed signed by another key", func(w *world) {
			w.setWrap(serveFeed(w, otherKey, nil))
		}, verify.ErrBadSignature},
		{"truncated feed", func(w *world) {
			w.setWrap(alter("feed.json", func(b []byte) []byte { return b[:len(b)/2] }))
		}, update.ErrBadMetadata},
		{"empty feed", func(w *world) {
			w.setWrap(alter("feed.json", func([]byte) []byte { return nil }))
		}, update.ErrBadMetadata},
		{"garbage feed", func(w *world) {
			w.setWrap(alter("feed.json", func([]byte) []byte { return []byte("<html>oops</html>") }))
		}, update.ErrBadMetadata},
		{"garbage signature", func(w *world) {
			w.setWrap(alter("feed.json", func(b []byte) []byte { return setSig(w.t, b, []byte("garbage")) }))
		}, verify.ErrBadSignature},
		{"truncated signature", func(w *world) {
			w.setWrap(alter("feed.json", func(b []byte) []byte { return setSig(w.t, b, firstSig(w.t, b)[:10]) }))
		}, verify.ErrBadSignature},
		{"server 500", func(w *world) { w.setWrap(status(500, "feed.json")) }, update.ErrUnavailable},
		{"feed 404", func(w *world) { w.setWrap(status(404, "feed.json")) }, update.ErrNotFound},
		{"asset 404", func(w *world) { w.setWrap(status(404, asset)) }, update.ErrNotFound},
		{"asset 500 every time", func(w *world) { w.setWrap(status(500, asset)) }, update.ErrUnavailable},
		{"download cut every time", func(w *world) { w.setWrap(cutAfter(asset, 1<<20, -1)) }, update.ErrTruncated},
		{"body longer than promised", func(w *world) {
			w.setWrap(alter(asset, func(b []byte) []byte { return append(bytes.Clone(b), make([]byte, 4096)...) }))
		}, update.ErrTooLarge},
		{"no asset for this platform", func(w *world) {
			w.setWrap(serveFeed(w, w.signer, func(p *feed.Payload) {
				for i := range p.Releases[0].Assets {
					p.Releases[0].Assets[i].OS = "plan9"
				}
			}))
		}, update.ErrNoAsset},
		{"expired feed", func(w *world) {
			w.setWrap(serveFeed(w, w.signer, func(p *feed.Payload) {
				p.Issued = time.Now().Add(-48 * time.Hour)
				p.Expires = time.Now().Add(-time.Hour)
			}))
		}, update.ErrExpired},
		{"feed for another app", func(w *world) {
			w.setWrap(serveFeed(w, w.signer, func(p *feed.Payload) { p.App = "other" }))
		}, update.ErrWrongApp},
		{"staged binary lies about its version", func(w *world) {
			copyFile(w.t, program(w.t, helloPkg, "1.0.5"), filepath.Join(w.releases, asset), 0o755)
		}, update.ErrProbe},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.publish("1.1.0")
			c.setup(w)
			w.refused(c.want)
		})
	}
}

// serveFeed answers feed.json with the server's own payload, edited and
// signed by s.
func serveFeed(w *world, s *feed.Signer, edit func(*feed.Payload)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "feed.json") {
				next.ServeHTTP(rw, r)
				return
			}
			data, err := w.server.Feed("hello")
			if err != nil {
				http.Error(rw, err.Error(), 500)
				return
			}
			p, err := feed.Parse(data, nil)
			if err != nil {
				http.Error(rw, err.Error(), 500)
				return
			}
			if edit != nil {
				edit(p)
			}
			out, err := feed.Sign(p, s)
			if err != nil {
				http.Error(rw, err.Error(), 500)
				return
			}
			rw.Write(out)
		})
	}
}

func firstSig(t testing.TB, envelope []byte) []byte {
	var env feed.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil || len(env.Signatures) == 0 {
		t.Fatalf("envelope: %v", err)
	}
	return env.Signatures[0].Sig
}

func setSig(t testing.TB, envelope, sig []byte) []byte {
	var env feed.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil || len(env.Signatures) == 0 {
		t.Fatalf("envelope: %v", err)
	}
	env.Signatures[0].Sig = sig
	out, _ := json.Marshal(env)
	return out
}

// cutAfter breaks the connection after n bytes of the asset, for the first
// times requests (all of them if times < 0).
func cutAfter(suffix string, n int64, times int32) func(http.Handler) http.Handler {
	var count atomic.Int32
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, suffix) || (times >= 0 && count.Add(1) > times) {
				next.ServeHTTP(rw, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				rw.Header()[k] = v
			}
			rw.WriteHeader(rec.Code)
			rw.Write(rec.Body.Bytes()[:min(n, int64(rec.Body.Len()))])
			// Hijack and close: the client sees a connection broken mid-body.
			if hj, ok := rw.(http.Hijacker); ok {
				rw.(http.Flusher).Flush()
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
		})
	}
}

// TestDownloadResumes: the connection breaks halfway twice; the download
// resumes with Range and the update succeeds.
func TestDownloadResumes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	published := w.publish("1.1.0")
	var ranges atomic.Int32
	cut := cutAfter(platformName("hello", "1.1.0"), 1<<20, 2)
	w.setWrap(func(next http.Handler) http.Handler {
		return cut(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Range") != "" {
				ranges.Add(1)
			}
			next.ServeHTTP(rw, r)
		}))
	})
	res, err := w.updater().Check(context.Background())
	if err != nil || !res.Updated {
		t.Fatalf("Check: %+v, %v", res, err)
	}
	if ranges.Load() < 2 {
		t.Fatalf("%d ranged requests, want at least 2 (one per resume)", ranges.Load())
	}
	sameBytes(t, w.target, published)
}

func TestOnlyOlderOrEqualVersions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.publish("0.9.0")
	w.publish("1.0.0")
	before := snap(t, w.target)
	u := w.updater()
	res, err := u.Check(context.Background())
	if err != nil || res.Updated {
		t.Fatalf("Check: %+v, %v; want not updated and no error", res, err)
	}
	if _, err := u.Find(context.Background()); !errors.Is(err, update.ErrUpToDate) {
		t.Fatalf("Find: %v, want ErrUpToDate", err)
	}
	unchanged(t, w.target, before)
	// A downgrade happens only when asked for by name.
	if _, err := u.Install(context.Background(), "0.9.0"); err != nil {
		t.Fatalf("Install 0.9.0: %v", err)
	}
	if v := versionOf(t, w.target); v != "0.9.0" {
		t.Fatalf("after Install(0.9.0) the target is %s", v)
	}
}

// TestReplayedFeed: after seeing a feed with counter N, a feed with a lower
// counter (an old feed replayed by a mirror) is refused.
func TestReplayedFeed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.publish("0.9.0")
	if _, err := w.updater().Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.publish("1.1.0")
	w.setWrap(serveFeed(w, w.signer, func(p *feed.Payload) { p.Serial = 1 }))
	w.refused(update.ErrReplayed)
}

// TestInsecureRedirect: an https feed redirected to plain http is refused.
func TestInsecureRedirect(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.publish("1.1.0")
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, w.http.URL+r.URL.Path, http.StatusFound)
	}))
	defer tlsSrv.Close()
	w.refused(update.ErrInsecureRedirect, func(o *update.Options) {
		o.Source = &feed.Client{URL: tlsSrv.URL + "/hello/", HTTPClient: tlsSrv.Client()}
	})
}

// TestTwoUpdatersAtOnce: while one updater is downloading, a second one on
// the same state directory gets ErrInProgress.
func TestTwoUpdatersAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	published := w.publish("1.1.0")
	started, release := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	w.setWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, platformName("hello", "1.1.0")) && once.CompareAndSwap(false, true) {
				close(started)
				<-release
			}
			next.ServeHTTP(rw, r)
		})
	})
	done := make(chan error, 1)
	go func() {
		_, err := w.updater().Check(context.Background())
		done <- err
	}()
	<-started
	_, err := w.updater().Check(context.Background())
	close(release)
	if !errors.Is(err, update.ErrInProgress) {
		t.Fatalf("second updater: %v, want ErrInProgress", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("first updater: %v", err)
	}
	sameBytes(t, w.target, published)
}

// TestReadOnlyTargetDir runs hello as an unprivileged user next to a folder
// it may not write: the update fails, hello goes on as 1.0.0, and nothing
// changed.
func TestReadOnlyTargetDir(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.publish("1.1.0")
	if os.Geteuid() != 0 {
		// Not root: a read-only folder stops us directly.
		if err := os.Chmod(w.bin, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(w.bin, 0o755)
		w.refused(fs.ErrPermission)
		return
	}
	// Root writes anywhere, so run hello as nobody; the folders above must
	// be reachable by that user.
	for d := w.bin; d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, fi.Mode().Perm()|0o055)
	}
	if err := os.MkdirAll(w.state, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(w.state, 0o777)
	os.Chmod(w.pub, 0o644)
	before := snap(t, w.target)
	cmd := exec.Command(w.target, "-feed", w.feedURL(), "-key", w.pub, "-state", w.state)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("hello as nobody: %v\n%s", err, errb.Bytes())
	}
	if strings.TrimSpace(out.String()) != "hello 1.0.0" {
		t.Fatalf("hello printed %q, want hello 1.0.0", out.String())
	}
	if !strings.Contains(errb.String(), "permission denied") {
		t.Fatalf("hello's error does not say permission denied:\n%s", errb.Bytes())
	}
	unchanged(t, w.target, before)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
