package s3

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/molt-go/update/internal/httpx"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// Source reads an app's signed feed and its assets from a bucket: the feed
// at s3://<bucket>/<prefix>/<app>/feed.json and each asset beside it, the
// layout feed.Publish writes and the feed server serves.
//
// It remembers the last feed that verified and its ETag, so asking again
// costs a 304 when nothing changed. It is safe for concurrent use.
type Source struct {
	b       *Bucket
	feedKey string

	mu   sync.Mutex
	etag string
	body []byte // the last feed.json that verified
}

var _ source.Source = (*Source)(nil)

// New returns the Source for o.App's feed in o.Bucket. It loads the SDK's
// configuration (environment and shared files) but makes no request, so a
// missing bucket or credentials show on the first Releases.
func New(ctx context.Context, o Options) (*Source, error) {
	if err := o.validate(true); err != nil {
		return nil, err
	}
	b, err := openBucket(ctx, o)
	if err != nil {
		return nil, err
	}
	return &Source{b: b, feedKey: o.key(o.App, "feed.json")}, nil
}

// FeedURL is where the feed is, as s3://bucket/key.
func (s *Source) FeedURL() string { return objectURL(s.b.o.Bucket, s.feedKey) }

// Releases reads feed.json, checks its signature with v and returns its
// releases, whose asset URLs are s3://bucket/key. When a feed that verified
// was read before, the request carries its ETag (If-None-Match); when the
// object has not changed, the kept copy is checked again with this call's
// v, so a listing is never vouched for by a verifier other than the one
// passed.
//
// Errors wrap source.ErrNotFound (no such bucket, no feed),
// source.ErrAccess (no credentials, or refused), source.ErrUnavailable (5xx,
// network), source.ErrBadMetadata or verify.ErrBadSignature.
func (s *Source) Releases(ctx context.Context, v verify.Verifier) (*source.Listing, error) {
	bucket := s.b.o.Bucket
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(s.feedKey)}
	s.mu.Lock()
	etag, kept := s.etag, s.body
	s.mu.Unlock()
	if etag != "" && v != nil {
		in.IfNoneMatch = aws.String(etag)
	}
	var body []byte
	fresh := false
	// The feed's GET and the read of its body have a deadline of their
	// own (Options.MetadataTimeout): the SDK's own timeouts end a silent
	// connection only before the headers, not a body that trickles.
	d := s.b.o.metadataTimeout()
	mctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	timedOut := func(err error) error {
		if ctx.Err() == nil && mctx.Err() != nil {
			return fmt.Errorf("s3: get %s: %w: no complete answer within %v (MetadataTimeout): %w",
				s.FeedURL(), source.ErrUnavailable, d, context.DeadlineExceeded)
		}
		return err
	}
	out, err := s.b.client.GetObject(mctx, in)
	switch {
	case err != nil && notModified(err) && kept != nil:
		body = kept
	case err != nil:
		return nil, timedOut(classify(ctx, "get", bucket, s.feedKey, "feed", err))
	default:
		body, err = readObject(out, s.FeedURL(), feed.MaxFeedSize)
		if err != nil {
			return nil, timedOut(err)
		}
		fresh = true
	}

	p, err := feed.Parse(body, v)
	if err != nil {
		return nil, fmt.Errorf("s3: feed %s: %w", s.FeedURL(), err)
	}
	l, err := s.listing(p)
	if l != nil {
		l.Origin = s.FeedURL()
	}
	if err != nil {
		return nil, fmt.Errorf("s3: feed %s: %w", s.FeedURL(), err)
	}
	if v != nil && fresh {
		s.mu.Lock()
		s.etag, s.body = aws.ToString(out.ETag), body
		if s.etag == "" {
			s.body = nil
		}
		s.mu.Unlock()
	}
	return l, nil
}

// readObject reads a metadata object, refusing one over limit bytes before
// it is all in memory: the bucket is untrusted transport.
func readObject(out *s3.GetObjectOutput, where string, limit int64) ([]byte, error) {
	defer out.Body.Close()
	if n := aws.ToInt64(out.ContentLength); n > limit {
		return nil, fmt.Errorf("s3: %s: %w: %d bytes, larger than %d", where, source.ErrBadMetadata, n, limit)
	}
	body, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("s3: reading %s: %w: %w", where, source.ErrUnavailable, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("s3: %s: %w: larger than %d bytes", where, source.ErrBadMetadata, limit)
	}
	return body, nil
}

// listHost stands for the bucket while the feed's asset URLs are resolved
// by Payload.Listing, which knows only http and https; a resolved URL on
// any other host left the bucket.
const listHost = "bucket.s3.invalid"

// listing converts p to the source types with s3:// asset URLs. Asset URLs
// are resolved against the feed's key as feed.Client resolves them against
// its URL; one that leaves the bucket (an absolute URL, or one climbing out
// with ../) is refused, since this source reads only its bucket.
func (s *Source) listing(p *feed.Payload) (*source.Listing, error) {
	bucket := s.b.o.Bucket
	base := &url.URL{Scheme: "https", Host: listHost, Path: "/" + bucket + "/" + s.feedKey}
	l, err := p.Listing(base)
	if err != nil {
		return nil, err
	}
	for i := range l.Releases {
		for j := range l.Releases[i].Assets {
			a := &l.Releases[i].Assets[j]
			u, err := url.Parse(a.URL)
			if err != nil {
				return nil, fmt.Errorf("%w: asset %s: url: %v", source.ErrBadMetadata, a.Name, err)
			}
			key, ok := strings.CutPrefix(u.Path, "/"+bucket+"/")
			if u.Host != listHost || !ok || key == "" || u.RawQuery != "" {
				return nil, fmt.Errorf("%w: asset %s is not in bucket %s (url %s)",
					source.ErrBadMetadata, a.Name, bucket, a.URL)
			}
			a.URL = objectURL(bucket, key)
		}
	}
	return l, nil
}

// Open returns the asset's bytes from offset on, with a ranged GET when
// offset > 0, so that a broken download resumes where it stopped. The
// asset's URL must be an s3:// URL in this source's bucket, as Releases
// returns.
//
// Errors wrap source.ErrNotFound (the object is gone), source.ErrAccess,
// or source.ErrUnavailable (5xx, network, or 416: the object is now
// shorter than offset, so the updater starts over).
func (s *Source) Open(ctx context.Context, a source.Asset, offset int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, fmt.Errorf("s3: open %s: negative offset %d", a.Name, offset)
	}
	bucket, key, err := splitObjectURL(a.URL)
	if err != nil {
		return nil, fmt.Errorf("s3: open %s: %w", a.Name, err)
	}
	if bucket != s.b.o.Bucket {
		return nil, fmt.Errorf("s3: open %s: %s is not in bucket %s", a.Name, a.URL, s.b.o.Bucket)
	}
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if offset > 0 {
		in.Range = aws.String(httpx.RangeHeader(offset))
	}
	out, err := s.b.client.GetObject(ctx, in)
	if err != nil {
		return nil, classify(ctx, "get", bucket, key, "asset "+a.Name, err)
	}
	if offset > 0 {
		if err := httpx.CheckRange(aws.ToString(out.ContentRange), offset); err != nil {
			out.Body.Close()
			return nil, fmt.Errorf("s3: get %s: %w", a.URL, err)
		}
	}
	return out.Body, nil
}

// splitObjectURL splits s3://bucket/key.
func splitObjectURL(s string) (bucket, key string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", err
	}
	key = strings.TrimPrefix(u.Path, "/")
	if u.Scheme != "s3" || u.Host == "" || key == "" {
		return "", "", fmt.Errorf("%q is not an s3://bucket/key URL", s)
	}
	return u.Host, key, nil
}
