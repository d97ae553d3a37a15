package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/source/s3/s3test"
	"github.com/molt-go/update/updatetest"
	"github.com/molt-go/update/verify"
)

// The slow-retrieval attacks on an updater reading an S3 bucket, through
// the real updater and the real SDK against a real versitygw, with a proxy
// in between that passes every request through but answers feed.json, or
// the asset, in a hostile way. Named as go-tuf names its tests.

// attackTimeout is Options.MetadataTimeout in these tests, so that they
// take seconds; the default is asserted apart.
const attackTimeout = 2 * time.Second

// attackSlack is what a loaded machine under -race may add to a bound.
const attackSlack = 8 * time.Second

// attackBucket is a bucket on a real versitygw holding hello's signed feed
// with release 1.1.0 for this platform, a proxy in front of it, and an
// installed hello 1.0.0.
type attackBucket struct {
	srv    *s3test.Server
	bucket string
	keys   verify.Verifier
	asset  string // the asset's name
	proxy  string // the proxy's URL
	dir    string
	target string
	// feeds and assets count the GETs of feed.json and of the asset that
	// reached the proxy.
	feeds, assets atomic.Int64
}

func newAttackBucket(t *testing.T, srv *s3test.Server, mode string) *attackBucket {
	t.Helper()
	x := &attackBucket{srv: srv, bucket: srv.NewBucket(t), dir: t.TempDir()}
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := feed.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	if x.keys, err = verify.Signature(pub); err != nil {
		t.Fatal(err)
	}
	x.asset = platform.FeedName("hello", "1.1.0", runtime.GOOS, runtime.GOARCH, platform.Bare)
	body := append([]byte("hello 1.1.0\n"), make([]byte, 64<<10)...)
	sum := sha256.Sum256(body)
	now := time.Now()
	signed, err := feed.Sign(&feed.Payload{
		App: "hello", Serial: now.Unix(), Issued: now, Expires: now.Add(24 * time.Hour),
		Releases: []feed.Release{{Version: "1.1.0", Assets: []feed.Asset{{
			Name: x.asset, OS: runtime.GOOS, Arch: runtime.GOARCH, Size: int64(len(body)),
			SHA256: hex.EncodeToString(sum[:]), URL: x.asset,
		}}}},
	}, signer)
	if err != nil {
		t.Fatal(err)
	}
	x.put(t, "hello/feed.json", signed)
	x.put(t, "hello/"+x.asset, body)
	x.proxy = x.startProxy(t, mode)
	x.target = filepath.Join(x.dir, "hello")
	if err := os.WriteFile(x.target, []byte("hello 1.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	return x
}

func (x *attackBucket) put(t *testing.T, key string, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := x.srv.Client().PutObject(ctx, &awss3.PutObjectInput{
		Bucket: aws.String(x.bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// startProxy fronts the store; mode is "feed trickled" (its headers, then
// a byte a second), "feed silent" (its headers, then nothing), or "asset
// trickled" (a byte a second, ranges passed through to the store).
func (x *attackBucket) startProxy(t *testing.T, mode string) string {
	t.Helper()
	return x.srv.SlowProxy(t, func(r *http.Request) s3test.Slowness {
		isFeed := r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/feed.json")
		isAsset := r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+x.asset)
		switch {
		case isFeed:
			x.feeds.Add(1)
		case isAsset:
			x.assets.Add(1)
		}
		switch {
		case isFeed && mode == "feed trickled", isAsset && mode == "asset trickled":
			return s3test.Trickle
		case isFeed && mode == "feed silent":
			return s3test.Silent
		}
		return s3test.Pass
	})
}

// updater updates x.target from the bucket through the proxy, with the
// short metadata deadline and a quick stall watchdog.
func (x *attackBucket) updater(t *testing.T) *update.Updater {
	t.Helper()
	src, err := New(context.Background(), Options{
		Bucket: x.bucket, App: "hello", Endpoint: x.proxy, UsePathStyle: true, Region: s3test.Region,
		Credentials: x.srv.Credentials(), MetadataTimeout: attackTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := update.New(update.Options{
		App: "hello", Version: "1.0.0", Source: src, Verifier: x.keys,
		Target: x.target, StateDir: filepath.Join(x.dir, "state"),
		Restarter: &updatetest.Restarter{}, SkipProbe: true,
		StallInterval: 300 * time.Millisecond, StallBytes: 1024, Retries: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSlowRetrievalS3: feed.json trickled at a byte a second, a feed whose
// body never comes, and an asset trickled at a byte a second each end
// Check with a typed error within its bound (MetadataTimeout; the stall
// watchdog), leave hello as it was, and do not hold Watch from its next
// round.
func TestSlowRetrievalS3(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	for _, tc := range []struct {
		mode  string
		want  []error
		bound time.Duration // of one Check
	}{
		{"feed trickled", []error{source.ErrUnavailable, context.DeadlineExceeded}, attackTimeout},
		{"feed silent", []error{source.ErrUnavailable, context.DeadlineExceeded}, attackTimeout},
		// Two attempts, each cut at the first stall tick, and the
		// second's wait of a second.
		{"asset trickled", []error{update.ErrStalled}, 2*300*time.Millisecond + time.Second},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			x := newAttackBucket(t, srv, tc.mode)
			u := x.updater(t)

			start := time.Now()
			_, err := u.Check(context.Background())
			took := time.Since(start)
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Fatalf("Check = %v, want %v", err, want)
				}
			}
			if took > tc.bound+attackSlack {
				t.Errorf("Check took %v, more than its bound %v", took, tc.bound)
			}
			if tc.mode != "asset trickled" && took < tc.bound {
				t.Errorf("Check ended after %v, before the deadline %v", took, tc.bound)
			}
			t.Logf("Check ended after %v: %v", took.Round(time.Millisecond), err)
			if b, _ := os.ReadFile(x.target); string(b) != "hello 1.0.0" {
				t.Errorf("hello is %q after a refused update", b)
			}

			// Watch comes back for its next round: the proxy sees the
			// requests of a second round after the first one's.
			feeds, assets := x.feeds.Load(), x.assets.Load()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- u.Watch(ctx, 100*time.Millisecond) }()
			deadline := time.Now().Add(2 * (tc.bound + attackSlack))
			for {
				var ok bool
				if tc.mode == "asset trickled" {
					ok = x.feeds.Load() >= feeds+2 && x.assets.Load() >= assets+3 // two attempts, then the next round's
				} else {
					ok = x.feeds.Load() >= feeds+2
				}
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no two rounds of Watch within %v (feeds %d, assets %d after %d, %d)",
						2*(tc.bound+attackSlack), x.feeds.Load(), x.assets.Load(), feeds, assets)
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("Watch = %v, want context.Canceled", err)
			}
			if b, _ := os.ReadFile(x.target); string(b) != "hello 1.0.0" {
				t.Errorf("hello is %q after Watch", b)
			}
			ents, _ := os.ReadDir(x.dir)
			for _, e := range ents {
				if e.Name() != "hello" && e.Name() != "state" {
					t.Errorf("left behind: %s", e.Name())
				}
			}
		})
	}
}

// TestSlowRetrievalS3Defaults: the metadata deadline the tests above
// shorten is the feed's documented default when Options leave it zero.
func TestSlowRetrievalS3Defaults(t *testing.T) {
	t.Parallel()
	if feed.DefaultMetadataTimeout != 30*time.Second {
		t.Errorf("feed.DefaultMetadataTimeout = %v, documented as 30s", feed.DefaultMetadataTimeout)
	}
	if got := (&Options{}).metadataTimeout(); got != feed.DefaultMetadataTimeout {
		t.Errorf("the zero Options' metadata deadline is %v, want feed.DefaultMetadataTimeout", got)
	}
}
