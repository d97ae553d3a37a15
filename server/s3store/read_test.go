package s3store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/molt-go/update/server/s3store"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/source/s3"
	"github.com/molt-go/update/source/s3/s3test"
	"github.com/molt-go/update/verify"
)

// TestPublishThenRead publishes a folder to a bucket with the Store and
// reads it back with the Source, as the updater would.
func TestPublishThenRead(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	e := newEnv(t, srv)
	e.add(t, "hello-1.1.0-linux-amd64", 300<<10)
	e.add(t, "hello-1.1.0-windows-amd64.exe", 1000)
	e.add(t, "hello-1.0.0-linux-amd64", 2000)
	res := e.publish(t, e.store(t))
	if len(res) != 1 || len(res[0].Uploaded) != 3 || len(res[0].Skipped) != 0 {
		t.Fatalf("Publish: %+v, want one app with 3 uploads", res)
	}
	// The posix backend keeps each object as a file: the layout is the
	// feed server's.
	for _, name := range []string{"feed.json", "hello-1.1.0-linux-amd64"} {
		if _, err := os.Stat(filepath.Join(srv.Dir, e.bucket, "releases", "stable", "hello", name)); err != nil {
			t.Errorf("object %s: %v", name, err)
		}
	}

	src := e.source(t)
	if want := "s3://" + e.bucket + "/releases/stable/hello/feed.json"; src.FeedURL() != want {
		t.Errorf("FeedURL = %s, want %s", src.FeedURL(), want)
	}
	l, err := src.Releases(context.Background(), e.keys)
	if err != nil {
		t.Fatalf("Releases: %v", err)
	}
	if l.App != "hello" || l.Serial != res[0].Serial || len(l.Releases) != 2 || !l.Expires.Equal(res[0].Expires) {
		t.Fatalf("listing %+v does not match what was published %+v", l, res[0])
	}
	var asset source.Asset
	for _, r := range l.Releases {
		for _, a := range r.Assets {
			if a.Name == "hello-1.1.0-linux-amd64" {
				asset = a
			}
		}
	}
	data := e.files["hello-1.1.0-linux-amd64"]
	sum := sha256.Sum256(data)
	if asset.URL != "s3://"+e.bucket+"/releases/stable/hello/hello-1.1.0-linux-amd64" ||
		asset.Size != int64(len(data)) || !bytes.Equal(asset.Digest.Sum, sum[:]) || asset.OS != "linux" {
		t.Fatalf("asset %+v", asset)
	}
	got := readAll(t, src, asset, 0)
	if !bytes.Equal(got, data) {
		t.Fatalf("Open(0) returned %d bytes that differ from the %d published", len(got), len(data))
	}
	// A resumed download asks for the rest only.
	const offset = 100_000
	got = readAll(t, src, asset, offset)
	if !bytes.Equal(got, data[offset:]) {
		t.Fatalf("Open(%d) returned %d bytes, want the last %d", offset, len(got), len(data)-offset)
	}
}

// TestFeedNotModified: the second look sends the ETag and gets 304; the
// kept feed is verified again with the verifier of each call.
func TestFeedNotModified(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	e := newEnv(t, srv)
	e.add(t, "hello-1.1.0-linux-amd64", 1000)
	st := e.store(t)
	first := e.publish(t, st)
	counter := &statusCounter{}
	src := e.source(t, func(o *s3.Options) { o.HTTPClient = &http.Client{Transport: counter} })
	ctx := context.Background()
	if _, err := src.Releases(ctx, e.keys); err != nil || counter.last() != http.StatusOK {
		t.Fatalf("first Releases: %v (status %d)", err, counter.last())
	}
	l, err := src.Releases(ctx, e.keys)
	if err != nil || counter.last() != http.StatusNotModified {
		t.Fatalf("second Releases: %v (status %d), want a 304 answered from the kept feed", err, counter.last())
	}
	if l.Serial != first[0].Serial || len(l.Releases) != 1 {
		t.Fatalf("listing from the kept feed: %+v", l)
	}
	// Another verifier: the kept bytes are checked again, and refused.
	_, otherPub, _ := feed.GenerateKey()
	other, _ := verify.Signature(otherPub)
	if _, err := src.Releases(ctx, other); !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("Releases with another key: %v, want ErrBadSignature", err)
	}
	// A new feed is a new ETag: read in full.
	second := e.publish(t, st)
	l, err = src.Releases(ctx, e.keys)
	if err != nil || counter.last() != http.StatusOK || l.Serial != second[0].Serial || l.Serial <= first[0].Serial {
		t.Fatalf("after republishing: %+v, %v (status %d); want serial %d > %d",
			l, err, counter.last(), second[0].Serial, first[0].Serial)
	}
}

// TestSourceErrors: each way a bucket read goes wrong is a typed error.
func TestSourceErrors(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateUser(t, "molt-other-user", "molt-other-user-secret")
	dead := closedPort(t)
	_, otherPub, _ := feed.GenerateKey()
	otherKeys, _ := verify.Signature(otherPub)
	cases := []struct {
		name string
		// setup publishes what the case needs and returns the options'
		// edit and the verifier to use (nil: the env's keys).
		setup func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier)
		want  error
	}{
		{"missing bucket", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			return func(o *s3.Options) { o.Bucket = "molt-no-such-bucket" }, nil
		}, source.ErrNotFound},
		{"missing feed", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			return nil, nil
		}, source.ErrNotFound},
		{"feed of another app only", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.add(t, "other-1.0.0-linux-amd64", 100)
			e.publish(t, e.store(t))
			return nil, nil
		}, source.ErrNotFound},
		{"wrong secret", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.publishHello(t)
			return func(o *s3.Options) {
				o.Credentials = credentials.NewStaticCredentialsProvider(srv.AccessKey, "not-the-secret", "")
			}, nil
		}, source.ErrAccess},
		{"unknown access key", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.publishHello(t)
			return func(o *s3.Options) {
				o.Credentials = credentials.NewStaticCredentialsProvider("nobody", "nothing", "")
			}, nil
		}, source.ErrAccess},
		{"another user's bucket", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.publishHello(t)
			return func(o *s3.Options) {
				o.Credentials = credentials.NewStaticCredentialsProvider("molt-other-user", "molt-other-user-secret", "")
			}, nil
		}, source.ErrAccess},
		{"anonymous on a private bucket", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.publishHello(t)
			return func(o *s3.Options) { o.Credentials = aws.AnonymousCredentials{} }, nil
		}, source.ErrAccess},
		{"no credentials", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.publishHello(t)
			return func(o *s3.Options) {
				o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
					return aws.Credentials{}, errors.New("no credentials in this test")
				})
			}, nil
		}, source.ErrAccess},
		{"server error", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.publishHello(t)
			fail := &statusCounter{fail: func(*http.Request) int { return http.StatusServiceUnavailable }}
			return func(o *s3.Options) { o.HTTPClient = &http.Client{Transport: fail} }, nil
		}, source.ErrUnavailable},
		{"endpoint unreachable", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			return func(o *s3.Options) { o.Endpoint = dead }, nil
		}, source.ErrUnavailable},
		{"feed signed by another key", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.publishHello(t)
			return nil, otherKeys
		}, verify.ErrBadSignature},
		{"feed larger than the cap", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.putObject(t, e.prefix+"/hello/feed.json", bytes.Repeat([]byte(" "), feed.MaxFeedSize+1))
			return nil, nil
		}, source.ErrBadMetadata},
		{"garbage feed", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.putObject(t, e.prefix+"/hello/feed.json", []byte("<html>not a feed</html>"))
			return nil, nil
		}, source.ErrBadMetadata},
		{"asset outside the bucket", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.putFeed(t, "https://mirror.example.invalid/hello-1.1.0-linux-amd64")
			return nil, nil
		}, source.ErrBadMetadata},
		{"asset climbing out of the bucket", func(t *testing.T, e *env) (func(*s3.Options), verify.Verifier) {
			e.putFeed(t, "../../../../another-bucket/hello-1.1.0-linux-amd64")
			return nil, nil
		}, source.ErrBadMetadata},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, srv)
			edit, keys := c.setup(t, e)
			if keys == nil {
				keys = e.keys
			}
			var edits []func(*s3.Options)
			if edit != nil {
				edits = append(edits, edit)
			}
			_, err := e.source(t, edits...).Releases(context.Background(), keys)
			if !errors.Is(err, c.want) {
				t.Fatalf("Releases: %v, want an error wrapping %v", err, c.want)
			}
			t.Logf("error as shown: %v", err)
		})
	}
}

// TestOpenErrors: an asset that went away, or a resume past its end.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	e := newEnv(t, srv)
	e.publishHello(t)
	src := e.source(t)
	ctx := context.Background()
	l, err := src.Releases(ctx, e.keys)
	if err != nil {
		t.Fatal(err)
	}
	a := l.Releases[0].Assets[0]
	if _, err := src.Open(ctx, a, a.Size+10); !errors.Is(err, source.ErrUnavailable) {
		t.Errorf("Open past the end: %v, want ErrUnavailable (the updater starts over)", err)
	}
	stranger := a
	stranger.URL = "s3://another-bucket/" + a.Name
	if _, err := src.Open(ctx, stranger, 0); err == nil {
		t.Errorf("Open of an asset in another bucket succeeded")
	}
	_, err = srv.Client().DeleteObject(ctx, &awss3.DeleteObjectInput{
		Bucket: aws.String(e.bucket), Key: aws.String(e.prefix + "/hello/" + a.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Open(ctx, a, 0); !errors.Is(err, source.ErrNotFound) {
		t.Errorf("Open of a deleted asset: %v, want ErrNotFound", err)
	}
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, bucket, prefix string }{
		{"s3://b", "b", ""},
		{"s3://b/", "b", ""},
		{"s3://my.bucket/releases/stable/", "my.bucket", "releases/stable"},
	} {
		b, p, err := s3.ParseURL(c.in)
		if err != nil || b != c.bucket || p != c.prefix {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q", c.in, b, p, err, c.bucket, c.prefix)
		}
	}
	for _, bad := range []string{"", "b/p", "https://b/p", "s3:///p", "s3://u@b/p", "s3://b/p?x=1"} {
		if _, _, err := s3.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) succeeded", bad)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, o := range []s3.Options{
		{App: "hello"},
		{Bucket: "b"},
		{Bucket: "b/c", App: "hello"},
		{Bucket: "b", App: "../x"},
		{Bucket: "b", App: "hello", Endpoint: "ftp://host"},
	} {
		if _, err := s3.New(ctx, o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	if _, err := s3store.New(ctx, s3.Options{}); err == nil {
		t.Errorf("NewStore without a bucket succeeded")
	}
}

// publishHello publishes one small hello release.
func (e *env) publishHello(t *testing.T) {
	t.Helper()
	e.add(t, "hello-1.1.0-linux-amd64", 4096)
	e.publish(t, e.store(t))
}

// putFeed signs a feed whose one asset has the given URL and puts it in
// the bucket.
func (e *env) putFeed(t *testing.T, assetURL string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	body, err := feed.Sign(&feed.Payload{
		App: "hello", Serial: now.Unix(), Issued: now, Expires: now.Add(time.Hour),
		Releases: []feed.Release{{Version: "1.1.0", Assets: []feed.Asset{{
			Name: "hello-1.1.0-linux-amd64", OS: "linux", Arch: "amd64", Size: 10,
			SHA256: "0000000000000000000000000000000000000000000000000000000000000000", URL: assetURL,
		}}}},
	}, e.signer)
	if err != nil {
		t.Fatal(err)
	}
	e.putObject(t, e.prefix+"/hello/feed.json", body)
}

// closedPort returns an http URL on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}
