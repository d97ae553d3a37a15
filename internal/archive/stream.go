package archive

import (
	"fmt"
	"io"

	"github.com/molt-go/update/internal/platform"
)

// maxWindow caps the history a decompressor keeps, which is what its memory
// grows with: 128 MiB is twice the dictionary of xz -9 and the window of
// zstd --long, so real releases fit, while a crafted header asking for
// gigabytes is refused (ErrTooLarge) before anything is allocated.
const maxWindow int64 = 128 << 20

// decompressor returns the decompressed stream of a format, and a function
// to release it. Bare, Tar and Zip come back as they are.
func (x *extraction) decompressor(f Format, in io.Reader, size int64) (io.Reader, func(), error) {
	c := f.Compression()
	if c == platform.NoCompression {
		return in, nil, nil
	}
	if err := Supported(f); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", x.asset, err)
	}
	if c == platform.XzCompression {
		// The xz decoder allocates whatever dictionary a block header asks
		// for, up to 4 GiB, so every header is checked first.
		if err := x.scanXz(size); err != nil {
			return nil, nil, err
		}
	}
	d, _ := decoder(c)
	rc, err := d(in, maxWindow)
	if err != nil {
		return nil, nil, x.fail(err, x.asset)
	}
	return x.budget.wrap(rc), func() { _ = rc.Close() }, nil
}
