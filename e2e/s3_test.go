//go:build unix

// The S3 tests run versitygw's posix backend, which needs extended
// attributes, and use the in-process helpers of faults_test.go: unix only,
// like those.

package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/server/s3store"
	"github.com/molt-go/update/source/s3"
	"github.com/molt-go/update/source/s3/s3test"
	"github.com/molt-go/update/verify"
)

// runWithEnv runs exe with env as its whole environment and returns its stdout
// and stderr; a non-zero exit fails the test.
func runWithEnv(t *testing.T, env []string, exe string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstdout: %s\nstderr: %s", exe, args, err, out.Bytes(), errb.Bytes())
	}
	return out.String(), errb.String()
}

var publishedLine = regexp.MustCompile(`published hello: serial (\d+), \d+ releases, (\d+) files uploaded, (\d+) unchanged`)

// publishedCounts reads pkgserver publish's report line for hello.
func publishedCounts(t *testing.T, out string) (serial int64, uploaded, unchanged int) {
	t.Helper()
	m := publishedLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pkgserver publish printed no report for hello:\n%s", out)
	}
	serial, _ = strconv.ParseInt(m[1], 10, 64)
	uploaded, _ = strconv.Atoi(m[2])
	unchanged, _ = strconv.Atoi(m[3])
	return serial, uploaded, unchanged
}

// TestS3SelfUpdate is the whole S3 story with real processes: the
// pkgserver binary publishes hello 1.1.0 to a private bucket of a real S3
// server; hello 1.0.0 without credentials cannot read it and stays as it
// is; with credentials in the standard variables it updates itself.
func TestS3SelfUpdate(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	root := t.TempDir()
	pkgserver := program(t, pkgserverPkg, "0.0.0")
	keyDir, releases := filepath.Join(root, "keys"), filepath.Join(root, "releases")
	run(t, pkgserver, "keygen", "-out", keyDir)
	if err := os.MkdirAll(releases, 0o755); err != nil {
		t.Fatal(err)
	}
	published := filepath.Join(releases, platformName("hello", "1.1.0"))
	copyFile(t, program(t, helloPkg, "1.1.0"), published, 0o755)

	creds := srv.Env(srv.AccessKey, srv.SecretKey)
	to := "s3://" + bucket + "/apps/stable"
	publish := func() string {
		out, _ := runWithEnv(t, creds, pkgserver, "publish", "-dir", releases, "-key", filepath.Join(keyDir, "update.key"),
			"-to", to, "-endpoint", srv.Endpoint)
		return out
	}
	serial1, up, same := publishedCounts(t, publish())
	if up != 1 || same != 0 {
		t.Fatalf("first publish: %d uploaded, %d unchanged; want 1 and 0", up, same)
	}
	stored := filepath.Join(srv.Dir, bucket, "apps", "stable", "hello")
	sameBytes(t, filepath.Join(stored, platformName("hello", "1.1.0")), published)
	if _, err := os.Stat(filepath.Join(stored, "feed.json")); err != nil {
		t.Fatalf("no feed in the bucket: %v", err)
	}
	// Again: nothing to upload, a new feed with a higher serial.
	serial2, up, same := publishedCounts(t, publish())
	if up != 0 || same != 1 || serial2 <= serial1 {
		t.Fatalf("second publish: %d uploaded, %d unchanged, serial %d after %d", up, same, serial2, serial1)
	}

	target := filepath.Join(root, "bin", "hello")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, program(t, helloPkg, "1.0.0"), target, 0o755)
	args := []string{"-s3", to, "-s3-endpoint", srv.Endpoint, "-key", filepath.Join(keyDir, "update.pub"),
		"-state", filepath.Join(root, "state")}

	before := snap(t, target)
	out, errOut := runWithEnv(t, srv.Env("", ""), target, args...)
	if strings.TrimSpace(out) != "hello 1.0.0" {
		t.Fatalf("hello without credentials printed %q\nstderr: %s", out, errOut)
	}
	if !strings.Contains(errOut, "update failed") || !strings.Contains(errOut, "credentials") {
		t.Fatalf("hello without credentials does not say the credentials are missing:\n%s", errOut)
	}
	t.Logf("hello without credentials said:\n%s", errOut)
	unchanged(t, target, before)

	out, errOut = runWithEnv(t, creds, target, args...)
	if strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("hello with credentials printed %q, want hello 1.1.0\nstderr: %s", out, errOut)
	}
	if v := versionOf(t, target); v != "1.1.0" {
		t.Fatalf("installed version %s, want 1.1.0", v)
	}
	sameBytes(t, target, published)
}

// TestFolderPublishServedStatically: pkgserver publishes to a plain
// folder, a plain file server serves it, and hello updates through the
// feed client.
func TestFolderPublishServedStatically(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	pkgserver := program(t, pkgserverPkg, "0.0.0")
	keyDir, releases, www := filepath.Join(root, "keys"), filepath.Join(root, "releases"), filepath.Join(root, "www")
	run(t, pkgserver, "keygen", "-out", keyDir)
	if err := os.MkdirAll(releases, 0o755); err != nil {
		t.Fatal(err)
	}
	published := filepath.Join(releases, platformName("hello", "1.1.0"))
	copyFile(t, program(t, helloPkg, "1.1.0"), published, 0o755)
	out, _ := run(t, pkgserver, "publish", "-dir", releases, "-key", filepath.Join(keyDir, "update.key"), "-to", "file://"+www)
	if _, up, _ := publishedCounts(t, out); up != 1 {
		t.Fatalf("publish uploaded %d files, want 1:\n%s", up, out)
	}
	files := httptest.NewServer(http.FileServer(http.Dir(www)))
	defer files.Close()

	target := filepath.Join(root, "bin", "hello")
	os.MkdirAll(filepath.Dir(target), 0o755)
	copyFile(t, program(t, helloPkg, "1.0.0"), target, 0o755)
	out, errOut := run(t, target, "-feed", files.URL+"/hello/", "-key", filepath.Join(keyDir, "update.pub"),
		"-state", filepath.Join(root, "state"))
	if strings.TrimSpace(out) != "hello 1.1.0" {
		t.Fatalf("hello printed %q, want hello 1.1.0\nstderr: %s", out, errOut)
	}
	sameBytes(t, target, published)
}

// s3World is a world whose releases are published to a bucket.
type s3World struct {
	*world
	srv    *s3test.Server
	bucket string
}

func newS3World(t *testing.T, srv *s3test.Server) *s3World {
	return &s3World{world: newWorld(t), srv: srv, bucket: srv.NewBucket(t)}
}

func (w *s3World) options() s3.Options {
	return s3.Options{
		Bucket: w.bucket, Prefix: "releases", App: "hello",
		Endpoint: w.srv.Endpoint, UsePathStyle: true, Region: s3test.Region,
		Credentials: w.srv.Credentials(),
	}
}

func (w *s3World) store() *s3store.Store {
	w.t.Helper()
	st, err := s3store.New(context.Background(), w.options())
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

// source returns an S3 source for the bucket, edited.
func (w *s3World) source(edit ...func(*s3.Options)) func(*update.Options) {
	o := w.options()
	for _, e := range edit {
		e(&o)
	}
	src, err := s3.New(context.Background(), o)
	if err != nil {
		w.t.Fatal(err)
	}
	return func(uo *update.Options) { uo.Source = src }
}

// publishS3 publishes the releases folder to the bucket through st.
func (w *s3World) publishS3(ctx context.Context, st server.Store) ([]server.Published, error) {
	return server.Publish(ctx, w.releases, w.signer, st, server.PublishOptions{Logger: quietLogger()})
}

func (w *s3World) mustPublishS3() {
	w.t.Helper()
	if _, err := w.publishS3(context.Background(), w.store()); err != nil {
		w.t.Fatalf("publish: %v", err)
	}
}

// objectKey is the key of hello's file in the bucket.
func (w *s3World) objectKey(name string) string { return "releases/hello/" + name }

// TestS3RefusedUpdates: each way the bucket fails the updater is a typed
// error, and the installed binary and its folder stay exactly as they were.
func TestS3RefusedUpdates(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	asset := platformName("hello", "1.1.0")
	cases := []struct {
		name  string
		setup func(w *s3World) func(*update.Options)
		want  error
	}{
		{"missing bucket", func(w *s3World) func(*update.Options) {
			w.publish("1.1.0")
			return w.source(func(o *s3.Options) { o.Bucket = "molt-e2e-no-such-bucket" })
		}, update.ErrNotFound},
		{"missing feed", func(w *s3World) func(*update.Options) {
			w.publish("1.1.0")
			return w.source()
		}, update.ErrNotFound},
		{"wrong credentials", func(w *s3World) func(*update.Options) {
			w.publish("1.1.0")
			w.mustPublishS3()
			return w.source(func(o *s3.Options) {
				o.Credentials = credentials.NewStaticCredentialsProvider(w.srv.AccessKey, "wrong-secret", "")
			})
		}, update.ErrAccess},
		{"asset deleted after the feed was published", func(w *s3World) func(*update.Options) {
			w.publish("1.1.0")
			w.mustPublishS3()
			_, err := w.srv.Client().DeleteObject(context.Background(), &awss3.DeleteObjectInput{
				Bucket: aws.String(w.bucket), Key: aws.String(w.objectKey(asset))})
			if err != nil {
				w.t.Fatal(err)
			}
			return w.source()
		}, update.ErrNotFound},
		{"asset overwritten with other bytes", func(w *s3World) func(*update.Options) {
			data, err := os.ReadFile(w.publish("1.1.0"))
			if err != nil {
				w.t.Fatal(err)
			}
			w.mustPublishS3()
			data[len(data)/2] ^= 1
			_, err = w.srv.Client().PutObject(context.Background(), &awss3.PutObjectInput{
				Bucket: aws.String(w.bucket), Key: aws.String(w.objectKey(asset)), Body: bytes.NewReader(data)})
			if err != nil {
				w.t.Fatal(err)
			}
			return w.source()
		}, verify.ErrDigestMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newS3World(t, srv)
			err := w.refused(c.want, c.setup(w))
			t.Logf("refused with: %v", err)
		})
	}
}

// failingStore passes Puts through until one of a new release's files,
// then fails: cancel the context in the middle of reading the file's
// bytes, or return an error after the first asset went up.
type failingStore struct {
	server.Store
	version string
	cancel  context.CancelFunc // non-nil: cancel mid-upload
	puts    atomic.Int32
}

var errUploadBroke = errors.New("upload broke")

func (f *failingStore) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum string) error {
	if !strings.Contains(key, "-"+f.version+"-") {
		return f.Store.Put(ctx, key, body, size, sum)
	}
	if f.cancel != nil {
		return f.Store.Put(ctx, key, &cancelAfter{ReadSeeker: body, n: size / 2, cancel: f.cancel}, size, sum)
	}
	if f.puts.Add(1) > 1 {
		return errUploadBroke
	}
	return f.Store.Put(ctx, key, body, size, sum)
}

// cancelAfter cancels a context once n bytes were read.
type cancelAfter struct {
	io.ReadSeeker
	n      int64
	read   int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	m, err := c.ReadSeeker.Read(p)
	if c.read += int64(m); c.read >= c.n {
		c.cancel()
	}
	return m, err
}

// TestS3InterruptedPublish: a publish of 1.2.0 that breaks off halfway
// leaves the bucket's feed as it was, so clients still see 1.1.0 and
// update to it.
func TestS3InterruptedPublish(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	for _, how := range []string{"context cancelled mid-upload", "store failing after the first asset"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			w := newS3World(t, srv)
			published := w.publish("1.1.0")
			w.mustPublishS3()
			feedKey := w.objectKey("feed.json")
			before, err := w.store().Get(context.Background(), "hello/feed.json")
			if err != nil {
				t.Fatal(err)
			}

			w.publish("1.2.0")
			// A second file of 1.2.0, so that a failure after the first
			// asset still leaves one to upload.
			copyFile(t, program(t, helloPkg, "1.2.0"), filepath.Join(w.releases, "hello-1.2.0-plan9-amd64"), 0o755)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st := &failingStore{Store: w.store(), version: "1.2.0"}
			want := errUploadBroke
			if how == "context cancelled mid-upload" {
				st.cancel, want = cancel, context.Canceled
			}
			if _, err := w.publishS3(ctx, st); !errors.Is(err, want) {
				t.Fatalf("interrupted publish: %v, want %v", err, want)
			}
			after, err := w.store().Get(context.Background(), "hello/feed.json")
			if err != nil || !bytes.Equal(before, after) {
				t.Fatalf("the feed at %s changed after an interrupted publish (err %v)", feedKey, err)
			}
			res, err := w.updater(w.source()).Check(context.Background())
			if err != nil || !res.Updated || res.To != "1.1.0" {
				t.Fatalf("Check after the interrupted publish: %+v, %v; want an update to 1.1.0", res, err)
			}
			sameBytes(t, w.target, published)
		})
	}
}
