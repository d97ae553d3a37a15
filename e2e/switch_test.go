//go:build unix

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/server/s3store"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/source/s3/s3test"
)

// switchWorld is hello moving from the feed server to an S3 bucket.
type switchWorld struct {
	*s3World
	tt  *testing.T
	tmp string // TMPDIR of the hello processes
}

func newSwitchWorld(t *testing.T) *switchWorld {
	t.Helper()
	w := &switchWorld{s3World: newS3World(t, s3test.Start(t)), tt: t, tmp: filepath.Join(t.TempDir(), "tmp")}
	if err := os.MkdirAll(w.tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

// helloS3 runs the installed hello against the bucket folder prefix, with
// the root user's credentials; it must exit 0.
func (w *switchWorld) helloS3(prefix string) (stdout, stderr string) {
	w.t.Helper()
	env := append(w.srv.Env(w.srv.AccessKey, w.srv.SecretKey), "TMPDIR="+w.tmp)
	return runWithEnv(w.tt, env, w.target, "-s3", "s3://"+w.bucket+"/"+prefix, "-s3-endpoint", w.srv.Endpoint,
		"-key", w.pub, "-state", w.state)
}

// helloFeed runs the installed hello against the feed server.
func (w *switchWorld) helloFeed() (stdout, stderr string) {
	w.t.Helper()
	return runWithEnv(w.tt, append(os.Environ(), "TMPDIR="+w.tmp), w.target,
		"-feed", w.feedURL(), "-key", w.pub, "-state", w.state)
}

// publishedPayload is the payload of the feed that server.Publish put in
// the bucket under prefix.
func (w *switchWorld) publishedPayload(prefix string) *feed.Payload {
	w.t.Helper()
	out, err := w.srv.Client().GetObject(context.Background(), &awss3.GetObjectInput{
		Bucket: aws.String(w.bucket), Key: aws.String(prefix + "/hello/feed.json")})
	if err != nil {
		w.t.Fatal(err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(out.Body); err != nil {
		w.t.Fatal(err)
	}
	p, err := feed.Parse(buf.Bytes(), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// putFeed signs a copy of p with serial and only the releases named, and
// puts it as the bucket's feed under prefix, over whatever was there.
func (w *switchWorld) putFeed(prefix string, p *feed.Payload, serial int64, versions ...string) {
	w.t.Helper()
	q := *p
	q.Serial = serial
	q.Issued = time.Now().UTC().Truncate(time.Second)
	q.Expires = q.Issued.Add(24 * time.Hour)
	q.Releases = nil
	for _, r := range p.Releases {
		if slices.Contains(versions, r.Version) {
			q.Releases = append(q.Releases, r)
		}
	}
	if len(q.Releases) != len(versions) {
		w.t.Fatalf("the published feed lists %d of the releases %v", len(q.Releases), versions)
	}
	body, err := feed.Sign(&q, w.signer)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.srv.Client().PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: aws.String(w.bucket), Key: aws.String(prefix + "/hello/feed.json"), Body: bytes.NewReader(body)}); err != nil {
		w.t.Fatal(err)
	}
}

// updateToOverFeed runs hello 1.0.0 against the feed server, which serves
// version: hello installs it and re-executes. It returns the counter the
// state keeps for the feed.
func (w *switchWorld) updateToOverFeed(version string) int64 {
	w.t.Helper()
	w.publish(version)
	out, errOut := w.helloFeed()
	if strings.TrimSpace(out) != "hello "+version {
		w.t.Fatalf("hello over the feed printed %q, want hello %s\nstderr: %s", out, version, errOut)
	}
	sameBytes(w.tt, w.target, program(w.t, helloPkg, version))
	serial := readState(w.tt, w.state).Origins[w.feedURL()+"feed.json"].Serial
	if serial < 1_000_000_000 {
		w.t.Fatalf("the state keeps counter %d for %s; want the server's clock-based counter", serial, w.feedURL())
	}
	return serial
}

// TestSwitchFeedToS3: hello updates from the feed server (a counter from
// the clock, about 1.8e9), is moved by its flags to an S3 bucket whose
// feed has a low counter and a newer release, and updates from it: the
// counters are kept per origin. A replayed older feed of the bucket, which
// still lists a release that was pulled since, is then refused with
// ErrReplayed, and the binary stays as it was.
func TestSwitchFeedToS3(t *testing.T) {
	t.Parallel()
	w := newSwitchWorld(t)
	feedSerial := w.updateToOverFeed("1.1.0")

	// The bucket: 1.1.0, 1.2.0 and 1.3.0 uploaded by server.Publish. Its
	// feeds are signed here with low counters: the old one (100) lists
	// 1.3.0, which was then pulled; the current one (200) lists up to
	// 1.2.0.
	w.publish("1.2.0")
	w.publish("1.3.0")
	w.mustPublishS3()
	p := w.publishedPayload("releases")
	w.putFeed("releases", p, 200, "1.1.0", "1.2.0")

	out, errOut := w.helloS3("releases")
	if strings.TrimSpace(out) != "hello 1.2.0" {
		t.Fatalf("hello switched to the bucket printed %q, want hello 1.2.0 (a low counter from a new origin must be taken)\nstderr: %s", out, errOut)
	}
	sameBytes(t, w.target, program(t, helloPkg, "1.2.0"))
	binHolds(t, w.bin, "hello", ".hello.old")
	s := readState(t, w.state)
	if got := s.Origins[w.feedURL()+"feed.json"].Serial; got != feedSerial {
		t.Errorf("the feed's counter went from %d to %d when hello read the bucket", feedSerial, got)
	}
	var bucketSerials []int64
	for o, c := range s.Origins {
		if o != w.feedURL()+"feed.json" {
			bucketSerials = append(bucketSerials, c.Serial)
		}
	}
	if !slices.Equal(bucketSerials, []int64{200}) {
		t.Errorf("state counters besides the feed's: %v, want the bucket's 200 (state %+v)", bucketSerials, s)
	}

	// The old feed, replayed into the bucket.
	w.putFeed("releases", p, 100, "1.1.0", "1.2.0", "1.3.0")
	before := snap(t, w.target)
	out, errOut = w.helloS3("releases")
	if strings.TrimSpace(out) != "hello 1.2.0" {
		t.Fatalf("hello over the replayed feed printed %q, want hello 1.2.0\nstderr: %s", out, errOut)
	}
	if want := strings.TrimPrefix(update.ErrReplayed.Error(), "update: "); !strings.Contains(errOut, "update failed") || !strings.Contains(errOut, want) {
		t.Fatalf("hello does not say the feed was replayed (%q):\n%s", want, errOut)
	}
	unchanged(t, w.target, before)
	// The same through the API, typed.
	_, err := w.updater(w.source(), func(o *update.Options) { o.Version = "1.2.0" }).Check(context.Background())
	if !errors.Is(err, update.ErrReplayed) {
		t.Fatalf("Check over the replayed feed: %v, want ErrReplayed", err)
	}
	unchanged(t, w.target, before)
	if got := readState(t, w.state); !slices.Equal(keysOf(got.Origins), keysOf(s.Origins)) {
		t.Errorf("origins changed after the replay: %v -> %v", keysOf(s.Origins), keysOf(got.Origins))
	}
	t.Logf("replay refused: %v", err)
}

// TestSwitchBucketToBucket: hello moves from one bucket folder to another
// whose counter is lower than the first's. It is another origin (another
// bucket and key), so its counter starts afresh and hello updates; a
// program moved between buckets must not be bricked.
func TestSwitchBucketToBucket(t *testing.T) {
	t.Parallel()
	w := newSwitchWorld(t)
	w.updateToOverFeed("1.1.0")
	w.publish("1.2.0")
	w.publish("1.3.0")
	w.mustPublishS3() // to "releases"
	p := w.publishedPayload("releases")
	w.putFeed("releases", p, 200, "1.1.0", "1.2.0")
	if out, errOut := w.helloS3("releases"); strings.TrimSpace(out) != "hello 1.2.0" {
		t.Fatalf("hello from the first bucket folder printed %q, want hello 1.2.0\nstderr: %s", out, errOut)
	}

	// The second folder: the same files, a feed with counter 50 offering 1.3.0.
	o := w.options()
	o.Prefix = "mirror"
	st, err := s3store.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.publishS3(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	w.putFeed("mirror", w.publishedPayload("mirror"), 50, "1.1.0", "1.2.0", "1.3.0")
	out, errOut := w.helloS3("mirror")
	if strings.TrimSpace(out) != "hello 1.3.0" {
		t.Errorf("hello moved to s3://%s/mirror printed %q, want hello 1.3.0: its counter 50 was compared with "+
			"the 200 of s3://%s/releases; counters are to be kept per origin (bucket and key), and "+
			"source/s3 (source.go, Source.Releases) returns a Listing with no Origin, so every bucket shares one\n"+
			"state: %+v\nstderr: %s", w.bucket, out, w.bucket, readState(t, w.state), errOut)
	}
	for o := range readState(t, w.state).Origins {
		if o == "" {
			t.Errorf("the state keeps a counter for an unnamed origin: an S3 listing came without its Origin")
		}
	}
}

func keysOf[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
