// Package zstd lets the updater install release assets compressed with
// Zstandard (.tar.zst, .tzst, .zst). It has no API: import it for its
// side effect, once, anywhere in the program:
//
//	import _ "github.com/molt-go/update/compress/zstd"
//
// It is a package of its own so that a program whose releases are tar.gz
// or zip does not link a zstd decoder (github.com/klauspost/compress/zstd)
// it never uses. Without the import, a zstd asset is refused with an
// error wrapping archive's ErrUnsupported that names this package.
//
// The decoder keeps today's memory protection: its window is capped at
// the limit the extractor passes (128 MiB, twice that of zstd --long), so
// a frame asking for more is refused with an error wrapping ErrTooLarge
// before the window is allocated, and it decodes in the caller's
// goroutine with a single window in memory.
package zstd

import (
	"errors"
	"fmt"
	"io"

	kzstd "github.com/klauspost/compress/zstd"

	"github.com/molt-go/update/internal/archive"
	"github.com/molt-go/update/internal/platform"
)

func init() { archive.Register(platform.Zstd, open) }

// open is the archive.Decoder for zstd.
func open(r io.Reader, maxWindow int64) (io.ReadCloser, error) {
	d, err := kzstd.NewReader(r,
		kzstd.WithDecoderConcurrency(1), // no goroutines of its own, one window in memory
		kzstd.WithDecoderLowmem(true),
		kzstd.WithDecoderMaxWindow(uint64(maxWindow)),
		// Also bounds single-segment frames, whose window is their size.
		kzstd.WithDecoderMaxMemory(uint64(maxWindow)),
	)
	if err != nil {
		return nil, tooLarge(err, maxWindow)
	}
	return &reader{d: d, maxWindow: maxWindow}, nil
}

// reader turns the decoder's window errors into ErrTooLarge, so the
// extractor reports a bomb as one and not as a corrupt file.
type reader struct {
	d         *kzstd.Decoder
	maxWindow int64
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.d.Read(p)
	return n, tooLarge(err, r.maxWindow)
}

func (r *reader) Close() error {
	r.d.Close()
	return nil
}

func tooLarge(err error, maxWindow int64) error {
	if errors.Is(err, kzstd.ErrWindowSizeExceeded) || errors.Is(err, kzstd.ErrDecoderSizeExceeded) {
		return fmt.Errorf("%w: zstd window larger than %d bytes: %w", archive.ErrTooLarge, maxWindow, err)
	}
	return err
}
