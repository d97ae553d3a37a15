package archive

import (
	"fmt"
	"io"
	"sync"

	"github.com/molt-go/update/internal/platform"
)

// Decoder opens the decompressed stream of r. maxWindow is the most
// history (window, dictionary) the decoder may keep, which is what its
// memory grows with: a stream asking for more must fail, with an error
// wrapping ErrTooLarge, before the decoder allocates it. Closing the
// result releases the decoder; it does not close r.
type Decoder func(r io.Reader, maxWindow int64) (io.ReadCloser, error)

// registry holds the decoders, by compression. Gzip and bzip2 are the
// standard library's and always here; zstd and xz are registered by
// github.com/molt-go/update/compress/zstd and .../compress/xz, so that a
// program that does not import them does not link their decoders.
var registry = struct {
	sync.RWMutex
	m map[platform.Compression]Decoder
}{m: make(map[platform.Compression]Decoder)}

// optIn names the package that registers each compression not in the
// standard library, for the error that asks for it.
var optIn = map[platform.Compression]string{
	platform.Zstd:          "github.com/molt-go/update/compress/zstd",
	platform.XzCompression: "github.com/molt-go/update/compress/xz",
}

// Register makes Extract able to read compression c with d. It is meant
// to be called from the init function of a package such as
// github.com/molt-go/update/compress/zstd; it panics if c is no
// compression, if d is nil or if c already has a decoder, since two
// packages decoding one format is a mistake to find at start-up, not a
// choice to make silently.
func Register(c platform.Compression, d Decoder) {
	if c == platform.NoCompression || d == nil {
		panic(fmt.Sprintf("archive: Register(%v, %p): nothing to register", c, d))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[c]; dup {
		panic(fmt.Sprintf("archive: Register called twice for %v", c))
	}
	registry.m[c] = d
}

// decoder returns the decoder registered for c.
func decoder(c platform.Compression) (Decoder, bool) {
	registry.RLock()
	defer registry.RUnlock()
	d, ok := registry.m[c]
	return d, ok
}

// CanExtract reports whether Extract can install an asset of format f in
// this program: the format is installable and its compression, if any,
// has a decoder. It is what platform.Want.CanExtract expects, so that of
// one build published as .tar.zst and .zip the zip is chosen when zstd is
// not linked in.
func CanExtract(f Format) bool { return Supported(f) == nil }

// Supported returns nil if Extract can install an asset of format f, and
// otherwise the error Extract would return, wrapping ErrUnsupported; for a
// compression left out of the program it names the package to import.
func Supported(f Format) error {
	switch {
	case f == NotProgram:
		return fmt.Errorf("%w: a checksum list, signature, SBOM or package is not a program", ErrUnsupported)
	case !f.Installable():
		return fmt.Errorf("%w: no decompressor for this format exists here", ErrUnsupported)
	}
	c := f.Compression()
	if c == platform.NoCompression {
		return nil
	}
	if _, ok := decoder(c); ok {
		return nil
	}
	return fmt.Errorf("%w: %v decompression is not linked into this program; add import _ %q",
		ErrUnsupported, c, optIn[c])
}
