// Package xz lets the updater install release assets compressed with xz
// (.tar.xz, .txz, .xz). It has no API: import it for its side effect,
// once, anywhere in the program:
//
//	import _ "github.com/molt-go/update/compress/xz"
//
// It is a package of its own so that a program whose releases are tar.gz
// or zip does not link an xz decoder (github.com/ulikunitz/xz) it never
// uses. Without the import, an xz asset is refused with an error wrapping
// archive's ErrUnsupported that names this package.
//
// The memory protection does not depend on this decoder, which would
// allocate whatever dictionary a block header asks for, up to 4 GiB: the
// extractor walks every block header of the file first and refuses a
// dictionary over its limit (128 MiB, twice that of xz -9) with an error
// wrapping ErrTooLarge before this decoder sees a byte.
package xz

import (
	"io"

	uxz "github.com/ulikunitz/xz"

	"github.com/molt-go/update/internal/archive"
	"github.com/molt-go/update/internal/platform"
)

func init() { archive.Register(platform.XzCompression, open) }

// open is the archive.Decoder for xz. maxWindow is enforced by the
// extractor's scan of the block headers (see the package comment).
func open(r io.Reader, _ int64) (io.ReadCloser, error) {
	xr, err := uxz.ReaderConfig{}.NewReader(r)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(xr), nil
}
