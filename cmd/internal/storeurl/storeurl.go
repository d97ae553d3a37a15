// Package storeurl opens the publishing destination a command is given
// as a URL: s3://bucket/prefix for a bucket (server/s3store), file:///path
// or a plain path for a folder a static web server serves
// (server.DirStore).
package storeurl

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/molt-go/update/server"
	"github.com/molt-go/update/server/s3store"
	"github.com/molt-go/update/source/s3"
)

// ErrBadURL means a destination is neither s3://bucket/prefix nor a
// folder, or has options it cannot use.
var ErrBadURL = errors.New("storeurl: bad destination")

// Options are the S3 settings of an s3:// destination. The zero value
// works (AWS, the SDK's default region and credentials chain).
type Options struct {
	// Endpoint is the URL of an S3-compatible store, addressed
	// path-style. Default: AWS.
	Endpoint string
	// Region is the S3 region. Default: AWS_REGION or the shared config,
	// else s3.DefaultRegion.
	Region string
}

// Open returns the Store that to names and its root, for messages: the
// bucket's URL or the folder's path. A plain path is a folder, as
// file:///path is; with Endpoint or Region it is refused.
func Open(ctx context.Context, to string, o Options) (server.Store, string, error) {
	switch {
	case to == "":
		return nil, "", fmt.Errorf("%w: empty", ErrBadURL)
	case strings.HasPrefix(to, "s3://"):
		bucket, prefix, err := s3.ParseURL(to)
		if err != nil {
			return nil, "", err
		}
		st, err := s3store.New(ctx, s3.Options{
			Bucket:   bucket,
			Prefix:   prefix,
			Region:   o.Region,
			Endpoint: o.Endpoint,
			// S3-compatible stores are reached by address, not by a DNS
			// name per bucket.
			UsePathStyle: o.Endpoint != "",
		})
		if err != nil {
			return nil, "", err
		}
		return st, st.URL(), nil
	}
	if o.Endpoint != "" || o.Region != "" {
		return nil, "", fmt.Errorf("%w: an endpoint and a region are for s3:// destinations, not %q", ErrBadURL, to)
	}
	dir := to
	if strings.HasPrefix(to, "file://") {
		var err error
		if dir, err = filePath(to); err != nil {
			return nil, "", err
		}
	} else if strings.Contains(to, "://") {
		return nil, "", fmt.Errorf("%w: %q is neither s3://bucket/prefix nor file:///path nor a folder", ErrBadURL, to)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %q: %v", ErrBadURL, to, err)
	}
	return &server.DirStore{Dir: abs}, abs, nil
}

// filePath returns the local path of a file:///path URL.
func filePath(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadURL, s, err)
	}
	if (u.Host != "" && u.Host != "localhost") || u.Path == "" {
		return "", fmt.Errorf("%w: %q is not a file:///absolute/path URL", ErrBadURL, s)
	}
	p := u.Path
	// file:///C:/releases on windows.
	if runtime.GOOS == "windows" && len(p) > 2 && p[0] == '/' && p[2] == ':' {
		p = p[1:]
	}
	return filepath.FromSlash(p), nil
}
