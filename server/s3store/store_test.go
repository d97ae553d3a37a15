package s3store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molt-go/update/server"
	"github.com/molt-go/update/server/s3store"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/source/s3/s3test"
	"github.com/molt-go/update/verify"
)

// countingStore counts the Puts that reach the bucket.
type countingStore struct {
	server.Store
	puts atomic.Int32
}

func (c *countingStore) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum string) error {
	c.puts.Add(1)
	return c.Store.Put(ctx, key, body, size, sum)
}

// TestPublishTwice: the second publish puts only the feed, with a higher
// serial; an asset overwritten behind the publisher's back is put again.
func TestPublishTwice(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	e := newEnv(t, srv)
	e.add(t, "hello-1.0.0-linux-amd64", 5000)
	e.add(t, "hello-1.1.0-linux-amd64", 6000)
	st := &countingStore{Store: e.store(t)}
	first := e.publish(t, st)
	if n := st.puts.Load(); n != 3 {
		t.Fatalf("first publish made %d Puts, want 3 (two assets, then the feed)", n)
	}
	second := e.publish(t, st)
	if n := st.puts.Load(); n != 4 || len(second[0].Skipped) != 2 || len(second[0].Uploaded) != 0 {
		t.Fatalf("second publish: %d Puts in all, report %+v; want only the feed put", n, second[0])
	}
	if second[0].Serial <= first[0].Serial {
		t.Fatalf("serial went from %d to %d", first[0].Serial, second[0].Serial)
	}
	// Other bytes under an asset's name: Has sees no matching digest, so
	// the next publish repairs it.
	e.putObject(t, e.prefix+"/hello/hello-1.0.0-linux-amd64", []byte("not the release"))
	third := e.publish(t, st)
	if len(third[0].Uploaded) != 1 || third[0].Uploaded[0] != "hello-1.0.0-linux-amd64" {
		t.Fatalf("third publish uploaded %v, want the overwritten asset", third[0].Uploaded)
	}
	src := e.source(t)
	l, err := src.Releases(context.Background(), e.keys)
	if err != nil || l.Serial != third[0].Serial {
		t.Fatalf("Releases after three publishes: %+v, %v", l, err)
	}
}

// TestStorePutRefusesOtherBytes: bytes that do not hash to the promised
// sha256 are refused by the server, and the object is not created.
func TestStorePutRefusesOtherBytes(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	e := newEnv(t, srv)
	st := e.store(t)
	ctx := context.Background()
	sum := sha256.Sum256([]byte("what was hashed"))
	hexSum := hex.EncodeToString(sum[:])
	body := []byte("what is sent now")
	if err := st.Put(ctx, "hello/x", bytes.NewReader(body), int64(len(body)), hexSum); err == nil {
		t.Fatal("Put of bytes that do not match their sha256 succeeded")
	}
	if has, err := st.Has(ctx, "hello/x", int64(len(body)), hexSum); err != nil || has {
		t.Fatalf("Has after a refused Put: %v, %v", has, err)
	}
	if _, err := st.Get(ctx, "hello/x"); !errors.Is(err, source.ErrNotFound) {
		t.Fatalf("Get after a refused Put: %v, want ErrNotFound", err)
	}
	// The right bytes go in, and Has finds them by digest.
	good := []byte("what was hashed")
	if err := st.Put(ctx, "hello/x", bytes.NewReader(good), int64(len(good)), hexSum); err != nil {
		t.Fatal(err)
	}
	if has, err := st.Has(ctx, "hello/x", int64(len(good)), hexSum); err != nil || !has {
		t.Fatalf("Has after Put: %v, %v", has, err)
	}
	if got, err := st.Get(ctx, "hello/x"); err != nil || !bytes.Equal(got, good) {
		t.Fatalf("Get: %q, %v", got, err)
	}
}

// TestPublishErrors: what stops a publish before it touches the feed.
func TestPublishErrors(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	ctx := context.Background()

	t.Run("missing bucket", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, srv)
		e.add(t, "hello-1.1.0-linux-amd64", 100)
		o := e.options()
		o.Bucket = "molt-publish-nowhere"
		st, err := s3store.New(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = server.Publish(ctx, e.dir, e.signer, st, server.PublishOptions{Logger: quiet()})
		if !errors.Is(err, source.ErrNotFound) {
			t.Fatalf("Publish: %v, want ErrNotFound", err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, srv)
		e.add(t, "hello-1.1.0-linux-amd64", 100)
		o := e.options()
		o.Credentials = credentials.NewStaticCredentialsProvider(srv.AccessKey, "wrong", "")
		st, err := s3store.New(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = server.Publish(ctx, e.dir, e.signer, st, server.PublishOptions{Logger: quiet()})
		if !errors.Is(err, source.ErrAccess) {
			t.Fatalf("Publish: %v, want ErrAccess", err)
		}
	})
	t.Run("current feed by another key", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, srv)
		e.add(t, "hello-1.1.0-linux-amd64", 100)
		st := e.store(t)
		// Someone else's feed, with a serial far in the future.
		future := time.Now().Add(1000 * time.Hour)
		priv, _, _ := feed.GenerateKey()
		other, _ := feed.LoadSigner(priv)
		now := time.Now().UTC().Truncate(time.Second)
		body, err := feed.Sign(&feed.Payload{App: "hello", Serial: future.Unix(), Issued: now, Expires: now.Add(time.Hour)}, other)
		if err != nil {
			t.Fatal(err)
		}
		e.putObject(t, e.prefix+"/hello/feed.json", body)
		if _, err := server.Publish(ctx, e.dir, e.signer, st, server.PublishOptions{Logger: quiet()}); !errors.Is(err, verify.ErrBadSignature) {
			t.Fatalf("Publish over a feed by another key: %v, want ErrBadSignature", err)
		}
		got, _ := st.Get(ctx, "hello/feed.json")
		if !bytes.Equal(got, body) {
			t.Fatal("a refused publish changed the feed")
		}
		res, err := server.Publish(ctx, e.dir, e.signer, st, server.PublishOptions{Logger: quiet(), Overwrite: true})
		if err != nil {
			t.Fatalf("Publish with Overwrite: %v", err)
		}
		// The unverified serial is not trusted: the clock sets it.
		if res[0].Serial >= future.Unix() || res[0].Serial < now.Unix() {
			t.Fatalf("serial %d after overwriting, want the clock's %d", res[0].Serial, now.Unix())
		}
	})
}
