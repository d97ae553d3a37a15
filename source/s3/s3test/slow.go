package s3test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"
)

// Slowness is what SlowProxy does to one answer of the server.
type Slowness int

const (
	Pass    Slowness = iota // the answer as the server gives it
	Trickle                 // the headers, then one byte of the body a second
	Silent                  // the headers, then nothing until the client gives up
	Hang                    // not even the headers
)

// SlowProxy fronts the server with a reverse proxy on 127.0.0.1 that
// slows each answer as slow says, for tests of slow retrieval: a mirror
// or CDN between the bucket and the program that trickles or goes
// silent. slow sees every request first, so a test can count them too.
// The proxy stops when the test ends; its URL is the endpoint to use.
func (s *Server) SlowProxy(t testing.TB, slow func(*http.Request) Slowness) string {
	t.Helper()
	target, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		how := slow(r)
		if how == Hang {
			<-r.Context().Done()
			return
		}
		rp := httputil.NewSingleHostReverseProxy(target)
		rp.FlushInterval = -1 // every byte goes out as it comes
		if how != Pass {
			rp.ModifyResponse = func(resp *http.Response) error {
				resp.Body = &slowBody{ctx: r.Context(), r: resp.Body, silent: how == Silent}
				return nil
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

// slowBody hands out one byte of r a second, or nothing at all.
type slowBody struct {
	ctx    context.Context
	r      io.ReadCloser
	silent bool
}

func (b *slowBody) Read(p []byte) (int, error) {
	wait := time.Second
	if b.silent {
		wait = time.Hour
	}
	select {
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	case <-time.After(wait):
	}
	return b.r.Read(p[:min(len(p), 1)])
}

func (b *slowBody) Close() error { return b.r.Close() }
