package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/molt-go/update/source"
)

// get fetches u with c and returns the final status, closing the body.
func get(t *testing.T, c *http.Client, u string) (int, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestHTTPSRedirectToHTTPRefused(t *testing.T) {
	t.Parallel()
	var plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		fmt.Fprint(w, "plain")
	}))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/file", http.StatusFound))
	defer secure.Close()

	_, err := get(t, Client(secure.Client()), secure.URL+"/file")
	if !errors.Is(err, source.ErrInsecureRedirect) {
		t.Fatalf("https->http redirect: err = %v, want ErrInsecureRedirect", err)
	}
	if n := plainHits.Load(); n != 0 {
		t.Errorf("the plain server was reached %d times", n)
	}
	// The same client without the policy would have followed it: the test
	// is about the policy, not about the test servers.
	if code, err := get(t, secure.Client(), secure.URL+"/file"); err != nil || code != http.StatusOK {
		t.Fatalf("control without the policy: %d, %v", code, err)
	}
}

func TestHTTPRedirectsStillFollowed(t *testing.T) {
	t.Parallel()
	// https -> https and http -> http are fine.
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" {
			http.Redirect(w, r, "/b", http.StatusFound)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer secure.Close()
	if code, err := get(t, Client(secure.Client()), secure.URL+"/a"); err != nil || code != http.StatusOK {
		t.Fatalf("https->https: %d, %v", code, err)
	}
}

func TestRedirectLimitAndBaseCheckKept(t *testing.T) {
	t.Parallel()
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/again", http.StatusFound)
	}))
	defer loop.Close()

	if _, err := get(t, Client(nil), loop.URL); err == nil {
		t.Fatal("a redirect loop was followed forever")
	}

	errStop := errors.New("stop")
	calls := 0
	base := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		calls++
		return errStop
	}}
	_, err := get(t, Client(base), loop.URL)
	if !errors.Is(err, errStop) || calls != 1 {
		t.Fatalf("base CheckRedirect: err = %v, calls = %d; want errStop once", err, calls)
	}
}

func TestClientCopiesBase(t *testing.T) {
	t.Parallel()
	base := &http.Client{}
	c := Client(base)
	if c == base || base.CheckRedirect != nil {
		t.Fatal("Client changed its argument instead of copying it")
	}
	d := Client(nil)
	if d.Timeout != 0 {
		t.Errorf("default client has an overall timeout %v; downloads can be long", d.Timeout)
	}
	tr, ok := d.Transport.(*http.Transport)
	if !ok || tr.Proxy == nil || tr.TLSHandshakeTimeout == 0 || tr.ResponseHeaderTimeout == 0 {
		t.Errorf("default transport lacks proxies from the environment or timeouts: %#v", d.Transport)
	}
	if Client(nil).Transport != d.Transport {
		t.Error("default clients do not share one connection pool")
	}
}

func TestStatusError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		want error // nil: no sentinel
	}{
		{http.StatusNotFound, source.ErrNotFound},
		{http.StatusGone, source.ErrNotFound},
		{http.StatusUnauthorized, source.ErrAccess},
		{http.StatusForbidden, source.ErrAccess},
		{http.StatusInternalServerError, source.ErrUnavailable},
		{http.StatusBadGateway, source.ErrUnavailable},
		{http.StatusServiceUnavailable, source.ErrUnavailable},
		{http.StatusTooManyRequests, source.ErrUnavailable},
		{http.StatusRequestedRangeNotSatisfiable, source.ErrUnavailable},
		{http.StatusBadRequest, nil},
	}
	sentinels := []error{source.ErrNotFound, source.ErrAccess, source.ErrUnavailable}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.code)
		}))
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/x", nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		err = StatusError(resp)
		if err == nil {
			t.Fatalf("%d: no error", tt.code)
		}
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == tt.want) {
				t.Errorf("%d: errors.Is(%v, %v) = %v", tt.code, err, s, got)
			}
		}
		if !HasStatus(err, tt.code) {
			t.Errorf("%d: HasStatus false for %v", tt.code, err)
		}
		var re *ResponseError
		if !errors.As(err, &re) || re.URL != srv.URL+"/x" || re.Method != http.MethodGet {
			t.Errorf("%d: error does not name the request: %#v", tt.code, re)
		}
	}
	for _, code := range []int{200, 206, 304} {
		if err := StatusError(&http.Response{StatusCode: code}); err != nil {
			t.Errorf("%d: %v, want nil", code, err)
		}
	}
}
