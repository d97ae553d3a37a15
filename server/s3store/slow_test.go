package s3store_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/s3"
	"github.com/molt-go/update/source/s3/s3test"
)

// The slow-retrieval attack on the S3 source: a proxy in front of a real
// versitygw that passes every request through but, for feed.json, sends
// the headers and then a byte a second, or nothing at all. The feed's
// read has a deadline of its own (Options.MetadataTimeout), so a check
// ends near it with an error wrapping source.ErrUnavailable and
// context.DeadlineExceeded.

const (
	s3Timeout = 2 * time.Second
	// s3Slack covers a loaded machine under -race; without the deadline
	// the trickle would take many minutes.
	s3Slack = 4 * time.Second
)

// slowBody hands out one byte of the real body per second, or none.
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

// slowProxy fronts endpoint; mode is "trickle", "silent" (headers, then
// nothing) or "no headers".
func slowProxy(t *testing.T, endpoint, mode string) string {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	isFeed := func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/feed.json")
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1 // every byte goes out as it comes
	rp.ModifyResponse = func(resp *http.Response) error {
		if isFeed(resp.Request) && mode != "no headers" {
			resp.Body = &slowBody{ctx: resp.Request.Context(), r: resp.Body, silent: mode == "silent"}
		}
		return nil
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isFeed(r) && mode == "no headers" {
			<-r.Context().Done()
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

func slowS3Check(t *testing.T, srv *s3test.Server, mode string) {
	t.Helper()
	e := newEnv(t, srv)
	e.add(t, "hello-1.1.0-linux-amd64", 1000)
	e.publish(t, e.store(t))
	// The feed reads fine straight from the store.
	if _, err := e.source(t).Releases(context.Background(), e.keys); err != nil {
		t.Fatalf("without the proxy: %v", err)
	}
	src := e.source(t, func(o *s3.Options) {
		o.Endpoint = slowProxy(t, srv.Endpoint, mode)
		o.MetadataTimeout = s3Timeout
	})
	// Without the deadline the check would hang for as long as the
	// trickle lasts; the test's own bound makes it fail instead.
	ctx, cancel := context.WithTimeout(context.Background(), s3Timeout+s3Slack+time.Second)
	defer cancel()
	start := time.Now()
	_, err := src.Releases(ctx, e.keys)
	elapsed := time.Since(start)
	if !errors.Is(err, source.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want ErrUnavailable wrapping context.DeadlineExceeded", err)
	}
	if elapsed < s3Timeout || elapsed > s3Timeout+s3Slack {
		t.Errorf("ended after %v, want about %v", elapsed, s3Timeout)
	}
}

func TestSlowRetrievalS3FeedTrickled(t *testing.T) {
	t.Parallel()
	slowS3Check(t, s3test.Start(t), "trickle")
}

func TestSlowRetrievalS3FeedSilent(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	for _, mode := range []string{"silent", "no headers"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			slowS3Check(t, srv, mode)
		})
	}
}
