// Package archive takes the one executable out of a downloaded release asset:
// a bare file, a single compressed file (gz, zst, xz) or an archive (tar,
// tar.gz, tar.xz, tar.zst, zip).
//
// The asset has been verified before it gets here, but extraction still
// treats it as hostile, because a signature only says who made a file, not
// that it is harmless:
//
//   - an archive with any entry whose name is absolute or climbs out of the
//     archive's root with ".." is refused whole (ErrUnsafe);
//   - the executable must be a regular file: a symbolic link, hard link or
//     device named like it is refused (ErrUnsafe); links elsewhere are
//     skipped, never followed or created;
//   - exactly one entry may match (ErrAmbiguous, ErrNotFound);
//   - output and decompression are capped (ErrTooLarge), and the zstd
//     window and xz dictionary are capped, so a bomb costs neither disk nor
//     memory;
//   - everything streams: memory use does not grow with the asset's size.
//
// Only the executable's bytes are written, to a writer the caller owns; no
// path from the archive ever reaches the file system.
package archive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Errors returned by Extract, to be tested with errors.Is.
var (
	// ErrUnsafe means the archive has an entry with an absolute name or a
	// name that leaves the archive's root, or the entry named like the
	// executable is a link or a device.
	ErrUnsafe = errors.New("archive: unsafe entry")
	// ErrNotFound means no entry is named like the executable. The error's
	// text lists some of the names seen, to help fix a release.
	ErrNotFound = errors.New("archive: executable not found")
	// ErrAmbiguous means more than one entry is named like the executable.
	ErrAmbiguous = errors.New("archive: more than one executable")
	// ErrTooLarge means the executable, a decompressed stream or a
	// decompressor's window is larger than allowed.
	ErrTooLarge = errors.New("archive: too large")
	// ErrFormat means the asset is corrupt, truncated or not of the format
	// its name says.
	ErrFormat = errors.New("archive: bad format")
)

// DefaultLimit is the size cap Extract uses when given none: 1 GiB, a few
// times the largest real executables (Go binaries with debug information
// run to a few hundred MiB), small enough that a decompression bomb stops
// long before it fills a disk.
const DefaultLimit int64 = 1 << 30

// bufSize is the read buffer put in front of the asset file, so that
// decompressors reading a few bytes at a time do not make a system call
// each.
const bufSize = 64 << 10

// Extract copies the executable out of src, a file holding the asset called
// assetName, into dst, and returns the number of bytes written.
//
// The format is FormatOf(assetName). For Bare, Gz, Zst and Xz the whole
// (decompressed) file is the executable. In an archive, the executable is
// the one regular file whose base name equals one of names, compared
// case-insensitively and with or without ".exe", in any folder: names
// {"hello"} finds "hello_1.0_linux_amd64/hello" and "HELLO.EXE".
//
// At most limit bytes are written; limit <= 0 means DefaultLimit. src is
// read from its start whatever its current offset, so a file just written
// can be passed as is. ctx is checked between entries and on every read.
//
// A tar stream is read once, so the executable may already have been
// written when a later entry turns out unsafe or a second match appears:
// on any error, dst holds nothing useful and the caller must discard it.
func Extract(ctx context.Context, src *os.File, assetName string, names []string, dst io.Writer, limit int64) (int64, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("archive: %w", err)
	}
	info, err := src.Stat()
	if err != nil {
		return 0, fmt.Errorf("archive: %s: %w", assetName, err)
	}
	if info.Size() == 0 {
		return 0, fmt.Errorf("%w: %s is empty", ErrFormat, assetName)
	}
	x := &extraction{
		ctx:   ctx,
		asset: assetName,
		names: newMatcher(names),
		dst:   dst,
		limit: limit,
		file:  &fileReader{r: io.NewSectionReader(src, 0, info.Size())},
	}
	err = x.run(FormatOf(assetName), info.Size())
	return x.written, err
}

// extraction is the state of one call to Extract.
type extraction struct {
	ctx     context.Context
	asset   string
	names   matcher
	dst     io.Writer
	limit   int64
	file    *fileReader // the asset read from its start, for the streamed formats
	written int64
	seen    seenNames
	found   string // name of the entry already extracted
}

// run dispatches on the format.
func (x *extraction) run(f Format, size int64) error {
	if f == Zip {
		return x.zip(size)
	}
	in := bufio.NewReaderSize(&ctxReader{ctx: x.ctx, r: x.file}, bufSize)
	r, closer, err := x.decompressor(f, in, size)
	if err != nil {
		return err
	}
	if closer != nil {
		defer closer()
	}
	if f.isTar() {
		return x.tar(r)
	}
	if err := x.copy(r, x.asset); err != nil {
		return err
	}
	return x.nonEmpty()
}

// nonEmpty refuses an empty executable: installing one would leave a
// program that cannot start, let alone update itself again.
func (x *extraction) nonEmpty() error {
	if x.written == 0 {
		name := x.found
		if name == "" {
			name = "the executable"
		}
		return fmt.Errorf("%w: %s: %s is empty", ErrFormat, x.asset, name)
	}
	return nil
}
