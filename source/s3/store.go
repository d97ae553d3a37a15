package s3

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
)

// metaSHA256 is the object metadata key (x-amz-meta-sha256) that holds an
// uploaded file's hex sha256, so a second publish can tell that the object
// is already there without downloading it.
const metaSHA256 = "sha256"

// Store is a feed.Store in a bucket, for feed.Publish: key k is the object
// <prefix>/k. Each object is one PutObject, which S3 makes visible whole
// or not at all, carrying its sha256 both as metadata (for Has) and as the
// request's checksum, so the server itself refuses bytes that do not match.
// One PutObject takes up to 5 GiB, far beyond any executable.
type Store struct {
	b *bucket
}

var _ feed.Store = (*Store)(nil)

// NewStore returns the Store for o.Bucket and o.Prefix (o.App is not
// used). It loads the SDK's configuration but makes no request.
func NewStore(ctx context.Context, o Options) (*Store, error) {
	if err := o.validate(false); err != nil {
		return nil, err
	}
	b, err := newBucket(ctx, o)
	if err != nil {
		return nil, err
	}
	return &Store{b: b}, nil
}

// URL is the store's root as s3://bucket/prefix.
func (s *Store) URL() string { return objectURL(s.b.o.Bucket, s.b.o.prefix()) }

// Get reads the object at key, up to feed.MaxFeedSize bytes. A missing
// object or bucket is an error wrapping source.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	bucket, full := s.b.o.Bucket, s.b.o.key(key)
	out, err := s.b.api().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(full)})
	if err != nil {
		return nil, classify(ctx, "get", bucket, full, "", err)
	}
	return readFeed(out, objectURL(bucket, full))
}

// Has reports whether the object at key is size bytes long and was put
// with sum as its sha256 metadata.
func (s *Store) Has(ctx context.Context, key string, size int64, sum string) (bool, error) {
	bucket, full := s.b.o.Bucket, s.b.o.key(key)
	out, err := s.b.api().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(full)})
	if err != nil {
		err = classify(ctx, "head", bucket, full, "", err)
		if errors.Is(err, source.ErrNotFound) {
			// A HEAD answer has no body, so a missing bucket looks the
			// same as a missing object here; Put then says which.
			return false, nil
		}
		return false, err
	}
	return aws.ToInt64(out.ContentLength) == size && out.Metadata[metaSHA256] == sum, nil
}

// Put uploads body to key with sum as its metadata and its checksum.
func (s *Store) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum string) error {
	bucket, full := s.b.o.Bucket, s.b.o.key(key)
	raw, err := hex.DecodeString(sum)
	if err != nil || len(raw) != 32 {
		return fmt.Errorf("s3: put %s: sha256 %q is not 64 hex digits", objectURL(bucket, full), sum)
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("s3: put %s: %w", objectURL(bucket, full), err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(full),
		Body:          body,
		ContentLength: aws.Int64(size),
		// The server checks the bytes against it and refuses others.
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(raw)),
		Metadata:       map[string]string{metaSHA256: sum},
		ContentType:    aws.String("application/octet-stream"),
	}
	if path.Base(key) == "feed.json" {
		in.ContentType = aws.String("application/json")
		// Caches in front of the bucket may keep the feed but must ask
		// again each time, as the feed server tells them.
		in.CacheControl = aws.String("no-cache")
	}
	if _, err := s.b.api().PutObject(ctx, in); err != nil {
		return classify(ctx, "put", bucket, full, "", err)
	}
	return nil
}
