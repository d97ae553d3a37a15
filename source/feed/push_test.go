package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// pusher serves one feed.json the way the reference server does: a GET
// with ?wait=N and the current ETag is held until set is called or N
// seconds pass. It counts plain GETs and long-polls, and the long-polls
// held right now.
type pusher struct {
	t *testing.T

	mu      sync.Mutex
	body    []byte
	etag    string
	changed chan struct{}
	plain   int // GETs without wait
	waits   int // GETs with wait
	held    int
	srv     *httptest.Server
}

func newPusher(t *testing.T, body []byte) *pusher {
	t.Helper()
	p := &pusher{t: t, changed: make(chan struct{})}
	p.set(body)
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pusher) set(body []byte) {
	sum := sha256.Sum256(body)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.body, p.etag = body, `"`+hex.EncodeToString(sum[:8])+`"`
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *pusher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/hello/feed.json" {
		http.NotFound(w, r)
		return
	}
	p.mu.Lock()
	body, etag, changed := p.body, p.etag, p.changed
	if !r.URL.Query().Has(WaitParam) {
		p.plain++
		p.mu.Unlock()
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(body)
		return
	}
	p.waits++
	p.mu.Unlock()
	w.Header().Set(PushHeader, "1")
	if r.Header.Get("If-None-Match") == etag {
		secs, _ := strconv.Atoi(r.URL.Query().Get(WaitParam))
		p.hold(+1)
		defer p.hold(-1)
		select {
		case <-changed:
		case <-time.After(time.Duration(secs) * time.Second):
			w.WriteHeader(http.StatusNotModified)
			return
		case <-r.Context().Done():
			return
		}
		p.mu.Lock()
		body, etag = p.body, p.etag
		p.mu.Unlock()
	}
	w.Header().Set("ETag", etag)
	w.Write(body)
}

func (p *pusher) hold(d int) {
	p.mu.Lock()
	p.held += d
	p.mu.Unlock()
}

func (p *pusher) counts() (plain, waits, held int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.plain, p.waits, p.held
}

// waitHeld waits until n long-polls are held.
func (p *pusher) waitHeld(n int) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, _, held := p.counts(); held == n {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %d long-polls held within 30 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitAsync runs c.Wait and returns its result's channel.
func waitAsync(ctx context.Context, c *Client) <-chan error {
	done := make(chan error, 1)
	go func() { done <- c.Wait(ctx) }()
	return done
}

func waitResult(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Wait did not return within 30 s")
		return nil
	}
}

// TestWaitWakesOnChange: Wait holds while the feed stays, returns when it
// changes, and the next Releases takes the feed the push answer brought,
// verified, without fetching it again.
func TestWaitWakesOnChange(t *testing.T) {
	t.Parallel()
	signer, keys := newKey(t)
	p := newPusher(t, signedFeed(t, 1, signer))
	c := New(p.srv.URL + "/hello")
	ctx := context.Background()
	if _, err := c.Releases(ctx, keys); err != nil {
		t.Fatal(err)
	}
	done := waitAsync(ctx, c)
	p.waitHeld(1)
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v while the feed stayed", err)
	case <-time.After(100 * time.Millisecond):
	}
	p.set(signedFeed(t, 2, signer))
	if err := waitResult(t, done); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	l, err := c.Releases(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if l.Serial != 2 {
		t.Errorf("Releases after the push: serial %d, want 2", l.Serial)
	}
	if plain, waits, _ := p.counts(); plain != 1 || waits != 1 {
		t.Errorf("%d plain GETs and %d long-polls, want 1 and 1 (the pushed feed is used once)", plain, waits)
	}
	// Used once: the next Releases asks again, and gets a 304.
	if l, err := c.Releases(ctx, keys); err != nil || l.Serial != 2 {
		t.Fatalf("Releases again: %v, %v", l, err)
	}
	if plain, _, _ := p.counts(); plain != 2 {
		t.Errorf("%d plain GETs, want 2", plain)
	}
}

// TestWaitBehindAnswersAtOnce: a feed that changed between the last
// Releases and Wait wakes Wait at once (nothing is lost between them).
func TestWaitBehindAnswersAtOnce(t *testing.T) {
	t.Parallel()
	signer, keys := newKey(t)
	p := newPusher(t, signedFeed(t, 1, signer))
	c := New(p.srv.URL + "/hello")
	if _, err := c.Releases(context.Background(), keys); err != nil {
		t.Fatal(err)
	}
	p.set(signedFeed(t, 2, signer))
	if err := waitResult(t, waitAsync(context.Background(), c)); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

// TestWaitHoldEndsAndAsksAgain: a hold that ends with 304 is asked again,
// and Wait goes on waiting.
func TestWaitHoldEndsAndAsksAgain(t *testing.T) {
	t.Parallel()
	signer, keys := newKey(t)
	p := newPusher(t, signedFeed(t, 1, signer))
	c := &Client{URL: p.srv.URL + "/hello", WaitHold: time.Second}
	if _, err := c.Releases(context.Background(), keys); err != nil {
		t.Fatal(err)
	}
	done := waitAsync(context.Background(), c)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, waits, _ := p.counts(); waits >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Wait did not ask again after its holds ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v after holds that ended with nothing new", err)
	default:
	}
	p.set(signedFeed(t, 2, signer))
	if err := waitResult(t, done); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

// TestWaitCancelled: Wait ends with the ctx, the held request with it.
func TestWaitCancelled(t *testing.T) {
	t.Parallel()
	signer, keys := newKey(t)
	p := newPusher(t, signedFeed(t, 1, signer))
	c := New(p.srv.URL + "/hello")
	if _, err := c.Releases(context.Background(), keys); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := waitAsync(ctx, c)
	p.waitHeld(1)
	cancel()
	if err := waitResult(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait: %v, want context.Canceled", err)
	}
	p.waitHeld(0)
}

// TestWaitNoPush: hosts that do not hold long-polls make Wait fail at once
// with ErrNoPush (the caller polls); a server error does not.
func TestWaitNoPush(t *testing.T) {
	t.Parallel()
	signer, keys := newKey(t)
	body := signedFeed(t, 1, signer)
	static := newMirror(t, map[string][]byte{"/hello/feed.json": body})
	statusOnly := func(code int) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !r.URL.Query().Has(WaitParam) {
				w.Write(body)
				return
			}
			http.Error(w, "no", code)
		}))
		t.Cleanup(s.Close)
		return s
	}
	fileServer := httptest.NewServer(http.FileServer(http.Dir(t.TempDir())))
	t.Cleanup(fileServer.Close)
	for _, tc := range []struct {
		name string
		url  string
		want error
	}{
		{"static host", static.srv.URL + "/hello", source.ErrNoPush},
		{"404", statusOnly(http.StatusNotFound).URL + "/hello", source.ErrNoPush},
		{"405", statusOnly(http.StatusMethodNotAllowed).URL + "/hello", source.ErrNoPush},
		{"403, as S3 says for a missing key", statusOnly(http.StatusForbidden).URL + "/hello", source.ErrNoPush},
		{"no feed at all", fileServer.URL + "/hello", source.ErrNoPush},
		{"503", statusOnly(http.StatusServiceUnavailable).URL + "/hello", source.ErrUnavailable},
	} {
		c := New(tc.url)
		var v verify.Verifier = keys
		c.Releases(context.Background(), v)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c.Wait(ctx)
		cancel()
		if !errors.Is(err, tc.want) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: Wait: %v, want %v", tc.name, err, tc.want)
		}
		if tc.want != source.ErrNoPush && errors.Is(err, source.ErrNoPush) {
			t.Errorf("%s: Wait: %v, a passing failure taken for no push", tc.name, err)
		}
	}
}

// TestWaitPushedFeedIsVerified: a push answer that was tampered with is
// refused by the next Releases as a fetched one would be, and does not make
// Wait spin: it then waits for a change from the feed it saw.
func TestWaitPushedFeedIsVerified(t *testing.T) {
	t.Parallel()
	signer, keys := newKey(t)
	other, _ := newKey(t)
	p := newPusher(t, signedFeed(t, 1, signer))
	c := New(p.srv.URL + "/hello")
	ctx := context.Background()
	if _, err := c.Releases(ctx, keys); err != nil {
		t.Fatal(err)
	}
	done := waitAsync(ctx, c)
	p.waitHeld(1)
	p.set(signedFeed(t, 2, other))
	if err := waitResult(t, done); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if _, err := c.Releases(ctx, keys); !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("Releases of a pushed feed by another key: %v, want ErrBadSignature", err)
	}
	done = waitAsync(ctx, c)
	p.waitHeld(1)
	p.set(signedFeed(t, 3, signer))
	if err := waitResult(t, done); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if l, err := c.Releases(ctx, keys); err != nil || l.Serial != 3 {
		t.Fatalf("Releases: %v, %v; want serial 3", l, err)
	}
}

// TestWaitBoundsThePushedFeed: a push answer larger than MaxFeedBytes is an
// error, not read to its end.
func TestWaitBoundsThePushedFeed(t *testing.T) {
	t.Parallel()
	signer, keys := newKey(t)
	p := newPusher(t, signedFeed(t, 1, signer))
	c := New(p.srv.URL + "/hello")
	if _, err := c.Releases(context.Background(), keys); err != nil {
		t.Fatal(err)
	}
	c.MaxFeedBytes = 100
	p.set(make([]byte, 4096))
	if err := waitResult(t, waitAsync(context.Background(), c)); !errors.Is(err, source.ErrBadMetadata) {
		t.Fatalf("Wait: %v, want ErrBadMetadata", err)
	}
}
