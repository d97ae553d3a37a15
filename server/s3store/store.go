// Package s3store is a publishing target in an S3 bucket for server.Publish:
// the layout the S3 source (source/s3) reads.
package s3store

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/source/s3"
)

// metaSHA256 is the object metadata key (x-amz-meta-sha256) that holds an
// uploaded file's hex sha256, so a second publish can tell that the object
// is already there without downloading it.
const metaSHA256 = "sha256"

// Store is a server.Store in a bucket, for server.Publish: key k is the object
// <prefix>/k. Each object is one PutObject, which S3 makes visible whole
// or not at all, carrying its sha256 both as metadata (for Has) and as the
// request's checksum, so the server itself refuses bytes that do not match.
// One PutObject takes up to 5 GiB, far beyond any executable.
type Store struct {
	b *s3.Bucket
}

var _ server.Store = (*Store)(nil)

// New returns the Store for o.Bucket and o.Prefix (o.App is not used). It
// loads the SDK's configuration but makes no request.
func New(ctx context.Context, o s3.Options) (*Store, error) {
	b, err := s3.OpenBucket(ctx, o)
	if err != nil {
		return nil, err
	}
	return &Store{b: b}, nil
}

// URL is the store's root as s3://bucket/prefix.
func (s *Store) URL() string { return s.b.URL(s.b.Key()) }

// Get reads the object at key, up to feed.MaxFeedSize bytes. A missing
// object or bucket is an error wrapping source.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	full := s.b.Key(key)
	out, err := s.b.API().GetObject(ctx, &s3api.GetObjectInput{Bucket: aws.String(s.b.Name()), Key: aws.String(full)})
	if err != nil {
		return nil, s.b.Err(ctx, "get", full, err)
	}
	return s.b.ReadSmall(out, full, feed.MaxFeedSize)
}

// Has reports whether the object at key is size bytes long and was put
// with sum as its sha256 metadata.
func (s *Store) Has(ctx context.Context, key string, size int64, sum string) (bool, error) {
	full := s.b.Key(key)
	out, err := s.b.API().HeadObject(ctx, &s3api.HeadObjectInput{Bucket: aws.String(s.b.Name()), Key: aws.String(full)})
	if err != nil {
		err = s.b.Err(ctx, "head", full, err)
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
	full := s.b.Key(key)
	raw, err := hex.DecodeString(sum)
	if err != nil || len(raw) != 32 {
		return fmt.Errorf("s3: put %s: sha256 %q is not 64 hex digits", s.b.URL(full), sum)
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("s3: put %s: %w", s.b.URL(full), err)
	}
	in := &s3api.PutObjectInput{
		Bucket:        aws.String(s.b.Name()),
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
	if _, err := s.b.API().PutObject(ctx, in); err != nil {
		return s.b.Err(ctx, "put", full, err)
	}
	return nil
}
