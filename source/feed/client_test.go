package feed

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/molt-go/update/source"
)

// mirror serves documents from memory by path, and lets a test swap them.
type mirror struct {
	mu   sync.Mutex
	docs map[string][]byte
	srv  *httptest.Server
}

func newMirror(t *testing.T, docs map[string][]byte) *mirror {
	t.Helper()
	m := &mirror{docs: docs}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		b, ok := m.docs[r.URL.Path]
		m.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *mirror) set(path string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.docs[path] = b
}

func TestClientFetchesKeyList(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k := h.issue(time.Hour)
	r := h.pinned(1)
	m := newMirror(t, map[string][]byte{"/hello/keys.json": h.keys, "/hello/feed.json": signedFeed(t, 42, k)})
	c := New(m.srv.URL + "/hello")
	ctx := context.Background()
	l, err := c.Releases(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if l.KeyEpoch != 2 || l.Serial != 42 || l.App != "hello" {
		t.Errorf("listing: epoch %d, serial %d, app %q", l.KeyEpoch, l.Serial, l.App)
	}

	// The key list moves on: the key is revoked.
	if err := h.kf.Revoke(k.KeyID()); err != nil {
		t.Fatal(err)
	}
	old := h.keys
	m.set("/hello/keys.json", h.sign(h.roots...))
	if _, err := c.Releases(ctx, r); !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("after the revocation: err = %v, want ErrKeyRevoked", err)
	}
	// A mirror that serves the old list again is caught.
	m.set("/hello/keys.json", old)
	if _, err := c.Releases(ctx, r); !errors.Is(err, ErrKeyListRollback) {
		t.Errorf("the old key list again: err = %v, want ErrKeyListRollback", err)
	}
	// No key list at all.
	m.mu.Lock()
	delete(m.docs, "/hello/keys.json")
	m.mu.Unlock()
	if _, err := c.Releases(ctx, r); !errors.Is(err, source.ErrNotFound) {
		t.Errorf("no keys.json: err = %v, want ErrNotFound", err)
	}
}

func TestClientKeysURL(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k := h.issue(time.Hour)
	m := newMirror(t, map[string][]byte{"/keys.json": h.keys, "/hello/feed.json": signedFeed(t, 42, k)})
	c := &Client{URL: m.srv.URL + "/hello/feed.json", KeysURL: m.srv.URL + "/keys.json"}
	if _, err := c.Releases(context.Background(), h.pinned(1)); err != nil {
		t.Fatal(err)
	}
	c = &Client{URL: "https://example.com/hello", KeysURL: "http://example.com/keys.json"}
	if _, err := c.Releases(context.Background(), h.pinned(1)); !errors.Is(err, source.ErrInsecureRedirect) {
		t.Errorf("an http key list for an https feed: err = %v, want ErrInsecureRedirect", err)
	}
}

// The slow-retrieval attack (TUF's name): a mirror sends headers and then
// a byte a second, or nothing at all. Each metadata request has its own
// deadline, so the check ends within it.
const (
	testTimeout = 2 * time.Second
	// slack covers a loaded machine under -race; the point is that the
	// check ends near the bound, not after the trickle.
	slack = 3 * time.Second
)

// bounded is the test's own bound: without the client's deadline a check
// would hang for as long as the trickle lasts; this makes it fail instead
// (the caller's context ending is not ErrUnavailable).
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout+slack+time.Second)
	t.Cleanup(cancel)
	return ctx
}

func assertTimedOut(t *testing.T, err error, elapsed time.Duration) {
	t.Helper()
	if !errors.Is(err, source.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want ErrUnavailable wrapping context.DeadlineExceeded", err)
	}
	if elapsed < testTimeout || elapsed > testTimeout+slack {
		t.Errorf("ended after %v, want about %v", elapsed, testTimeout)
	}
}

func trickle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "1000000")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for {
		if _, err := w.Write([]byte(" ")); err != nil {
			return
		}
		rc.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func TestSlowRetrievalFeedTrickled(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(trickle))
	defer srv.Close()
	c := &Client{URL: srv.URL + "/hello", MetadataTimeout: testTimeout}
	_, keys := newKey(t)
	start := time.Now()
	_, err := c.Releases(bounded(t), keys)
	assertTimedOut(t, err, time.Since(start))
}

func TestSlowRetrievalFeedSilent(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]http.HandlerFunc{
		"no headers": func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		"headers, then nothing": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(h)
			defer srv.Close()
			c := &Client{URL: srv.URL + "/hello", MetadataTimeout: testTimeout}
			_, keys := newKey(t)
			start := time.Now()
			_, err := c.Releases(bounded(t), keys)
			assertTimedOut(t, err, time.Since(start))
		})
	}
}

func TestSlowRetrievalKeyListTrickled(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(trickle))
	defer srv.Close()
	h := newHierarchy(t, 1, 1)
	c := &Client{URL: srv.URL + "/hello", MetadataTimeout: testTimeout}
	start := time.Now()
	_, err := c.Releases(bounded(t), h.pinned(1))
	assertTimedOut(t, err, time.Since(start))
}

// The caller's own context ending is not the mirror's fault: it keeps its
// meaning and is not called unavailable.
func TestCallerCancelIsNotATimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(trickle))
	defer srv.Close()
	c := &Client{URL: srv.URL + "/hello", MetadataTimeout: time.Minute}
	_, keys := newKey(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := c.Releases(ctx, keys)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, source.ErrUnavailable) {
		t.Errorf("err = %v, want the caller's deadline and not ErrUnavailable", err)
	}
}

func TestDefaultMetadataTimeout(t *testing.T) {
	t.Parallel()
	if got := (&Client{}).metadataTimeout(); got != DefaultMetadataTimeout {
		t.Errorf("default = %v", got)
	}
	if got := (&Client{MetadataTimeout: time.Second}).metadataTimeout(); got != time.Second {
		t.Errorf("set = %v", got)
	}
}
