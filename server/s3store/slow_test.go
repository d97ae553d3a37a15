package s3store_test

import (
	"context"
	"errors"
	"net/http"
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

// slowProxy fronts srv; mode is "trickle", "silent" (headers, then
// nothing) or "no headers", for the feed only.
func slowProxy(t *testing.T, srv *s3test.Server, mode string) string {
	how := map[string]s3test.Slowness{"trickle": s3test.Trickle, "silent": s3test.Silent, "no headers": s3test.Hang}[mode]
	return srv.SlowProxy(t, func(r *http.Request) s3test.Slowness {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/feed.json") {
			return how
		}
		return s3test.Pass
	})
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
		o.Endpoint = slowProxy(t, srv, mode)
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
