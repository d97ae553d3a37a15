package archive

import (
	"compress/gzip"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// maxWindow caps the history a decompressor keeps, which is what its memory
// grows with: 128 MiB is twice the dictionary of xz -9 and the window of
// zstd --long, so real releases fit, while a crafted header asking for
// gigabytes is refused (ErrTooLarge) before anything is allocated.
const maxWindow = 128 << 20

// decompressor returns the decompressed stream of a format, and a function
// to release it. Bare and Tar come back as they are.
func (x *extraction) decompressor(f Format, in io.Reader, size int64) (io.Reader, func(), error) {
	switch f {
	case Bare, Tar:
		return in, nil, nil
	case Gz, TarGz:
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, nil, x.fail(err, x.asset)
		}
		return zr, func() { _ = zr.Close() }, nil
	case Zst, TarZst:
		zr, err := zstd.NewReader(in,
			zstd.WithDecoderConcurrency(1), // no goroutines of its own, one window in memory
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxWindow),
			zstd.WithDecoderMaxMemory(maxWindow),
		)
		if err != nil {
			return nil, nil, x.fail(err, x.asset)
		}
		return zr, zr.Close, nil
	case Xz, TarXz:
		// The xz decoder allocates whatever dictionary a block header asks
		// for, up to 4 GiB, so every header is checked first.
		if err := x.scanXz(size); err != nil {
			return nil, nil, err
		}
		zr, err := xz.ReaderConfig{}.NewReader(in)
		if err != nil {
			return nil, nil, x.fail(err, x.asset)
		}
		return zr, nil, nil
	}
	return nil, nil, fmt.Errorf("%w: %s: unknown format %v", ErrFormat, x.asset, f)
}
