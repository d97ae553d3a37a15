package archive

import (
	"compress/bzip2"
	"compress/gzip"
	"io"

	"github.com/molt-go/update/internal/platform"
)

// The standard library's decompressors are always registered: they cost a
// program nothing it does not already link through net/http and friends.
func init() {
	Register(platform.Gzip, openGzip)
	Register(platform.Bzip2, openBzip2)
}

// openGzip reads a gzip stream, all its members. Deflate's window is 32
// KiB, so maxWindow has nothing to cap.
func openGzip(r io.Reader, _ int64) (io.ReadCloser, error) {
	return gzip.NewReader(r)
}

// openBzip2 reads a bzip2 stream. Its blocks are at most 900 kB, so
// maxWindow has nothing to cap.
func openBzip2(r io.Reader, _ int64) (io.ReadCloser, error) {
	return io.NopCloser(bzip2.NewReader(r)), nil
}
