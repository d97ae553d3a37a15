package s3store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/molt-go/update/server"
	"github.com/molt-go/update/server/s3store"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/source/s3"
	"github.com/molt-go/update/source/s3/s3test"
	"github.com/molt-go/update/verify"
)

// env is one test's bucket, signing key and folder of release files.
type env struct {
	srv    *s3test.Server
	bucket string
	prefix string
	signer *feed.Signer
	keys   verify.Verifier
	dir    string            // the release folder published
	files  map[string][]byte // asset name -> bytes
}

func newEnv(t *testing.T, srv *s3test.Server) *env {
	t.Helper()
	e := &env{srv: srv, prefix: "releases/stable", dir: t.TempDir(), files: map[string][]byte{}}
	e.bucket = srv.NewBucket(t)
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if e.signer, err = feed.LoadSigner(priv); err != nil {
		t.Fatal(err)
	}
	if e.keys, err = verify.Signature(pub); err != nil {
		t.Fatal(err)
	}
	return e
}

// add writes a release file of n random bytes into the folder.
func (e *env) add(t *testing.T, name string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(filepath.Join(e.dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	e.files[name] = b
}

func (e *env) options() s3.Options {
	return s3.Options{
		Bucket: e.bucket, Prefix: e.prefix, App: "hello",
		Endpoint: e.srv.Endpoint, UsePathStyle: true, Region: s3test.Region,
		Credentials: e.srv.Credentials(),
	}
}

func (e *env) store(t *testing.T) *s3store.Store {
	t.Helper()
	st, err := s3store.New(context.Background(), e.options())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (e *env) source(t *testing.T, edit ...func(*s3.Options)) *s3.Source {
	t.Helper()
	o := e.options()
	for _, f := range edit {
		f(&o)
	}
	src, err := s3.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (e *env) publish(t *testing.T, st server.Store) []server.Published {
	t.Helper()
	res, err := server.Publish(context.Background(), e.dir, e.signer, st, server.PublishOptions{Logger: quiet()})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return res
}

// putObject writes raw bytes behind the code under test's back.
func (e *env) putObject(t *testing.T, key string, data []byte) {
	t.Helper()
	_, err := e.srv.Client().PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: aws.String(e.bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// readAll opens a at offset and reads it all.
func readAll(t *testing.T, src *s3.Source, a source.Asset, offset int64) []byte {
	t.Helper()
	rc, err := src.Open(context.Background(), a, offset)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	return b
}

// statusCounter is an HTTP client that counts the statuses S3 answered.
type statusCounter struct {
	mu    sync.Mutex
	codes []int
	// fail, when set, answers matching requests itself with that status.
	fail func(*http.Request) int
}

func (c *statusCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.fail != nil {
		if code := c.fail(r); code != 0 {
			return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: http.Header{},
				Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.codes = append(c.codes, resp.StatusCode)
		c.mu.Unlock()
	}
	return resp, err
}

func (c *statusCounter) last() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.codes) == 0 {
		return 0
	}
	return c.codes[len(c.codes)-1]
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
