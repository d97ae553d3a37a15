// Package archive takes the one executable out of a downloaded release asset:
// a bare file, a single compressed file (gz, bz2, zst, xz) or an archive
// (tar, compressed or not, and zip).
//
// Formats come from internal/platform's table. Gzip and bzip2 are read with
// the standard library; zstd and xz need a decoder registered by importing
// github.com/molt-go/update/compress/zstd or .../compress/xz, so that a
// program that never meets those formats does not link them (see
// Register). Without the import such an asset is refused with an error
// wrapping ErrUnsupported that names the import; so is a compression no
// decoder here reads (.7z, .lz4) and a file that is never a program
// (.deb, .sig, checksums.txt). Nothing is ever installed raw because its
// ending was not understood.
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
//   - exactly one entry may match (ErrAmbiguous, ErrNotFound), and only at
//     the top level, one folder deep, or in a bin folder at either level;
//   - the executable's size is capped (Options.Limit), and so is everything
//     decompressed on the way to it, skipped entries included
//     (Options.MaxDecompressed), and the zstd window and xz dictionary are
//     capped, so a bomb costs neither disk, nor memory, nor much time
//     (ErrTooLarge);
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

	"github.com/molt-go/update/internal/platform"
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
	// ErrTooLarge means the executable, the bytes decompressed in all or a
	// decompressor's window is larger than allowed.
	ErrTooLarge = errors.New("archive: too large")
	// ErrFormat means the asset is corrupt, truncated or not of the format
	// its name says.
	ErrFormat = errors.New("archive: bad format")
	// ErrUnsupported means the asset's format cannot be extracted here: a
	// compression with no decoder in this program (the message names the
	// package to import), one no decoder here reads, or a file that is
	// never a program.
	ErrUnsupported = errors.New("archive: unsupported format")
)

// DefaultLimit is the size cap on the executable when Options gives none:
// 1 GiB, a few times the largest real executables (Go binaries with debug
// information run to a few hundred MiB), small enough that a decompression
// bomb stops long before it fills a disk.
const DefaultLimit int64 = 1 << 30

// bufSize is the read buffer put in front of the asset file, so that
// decompressors reading a few bytes at a time do not make a system call
// each.
const bufSize = 64 << 10

// Options says which asset Extract reads and what to look for in it.
type Options struct {
	// Asset is the asset's file name. It gives the format (FormatOf) and,
	// with App and GOOS, the names the executable may have.
	Asset string
	// App is the program's name. With it the executable is looked for
	// under every name platform.ExecutableNames gives: the app's name, the
	// asset's name without its ending, <app>_<os>_<arch> and
	// <app>-<os>-<arch>, each with or without ".exe".
	App string
	// GOOS is the OS the program is for, for the ".exe" names; empty means
	// the one the asset's name says.
	GOOS string
	// Names are more names the executable may have, compared like the
	// others: by base name, case-insensitively, with or without ".exe".
	Names []string
	// Executable, when set, names the executable exactly, and nothing else
	// matches: with a "/" it is the entry's path in the archive
	// ("hello_1.0/bin/hello"), compared after dropping a leading "./";
	// without, it is the entry's base name, at any depth. Case matters.
	Executable string
	// Limit caps the executable's size in bytes; <= 0 means DefaultLimit.
	Limit int64
	// MaxDecompressed caps the bytes decompressed in all, skipped entries
	// included; <= 0 means DefaultMaxRatio times the asset's size, and at
	// least DefaultMinDecompressed.
	MaxDecompressed int64
}

// Extract copies the executable out of src, a file holding the asset called
// assetName, into dst, and returns the number of bytes written. It is
// ExtractWith with Options{Asset: assetName, Names: names, Limit: limit}:
// the executable is named like one of names or like the asset without its
// ending.
func Extract(ctx context.Context, src *os.File, assetName string, names []string, dst io.Writer, limit int64) (int64, error) {
	return ExtractWith(ctx, src, dst, Options{Asset: assetName, Names: names, Limit: limit})
}

// ExtractWith copies the executable out of src, a file holding the asset
// o.Asset, into dst, and returns the number of bytes written.
//
// For Bare, Gz, Bz2, Zst and Xz the whole (decompressed) file is the
// executable. In an archive, the executable is the one regular file named
// as Options says, at the top level or one folder deep (or in a bin folder
// at either level, as gh's gh_<version>_<os>_<arch>/bin/gh): names {"hello"}
// find "hello_1.0_linux_amd64/hello" and "HELLO.EXE", not
// "docs/examples/hello".
//
// src is read from its start whatever its current offset, so a file just
// written can be passed as is. ctx is checked between entries and on
// every read.
//
// A tar stream is read once, so the executable may already have been
// written when a later entry turns out unsafe or a second match appears:
// on any error, dst holds nothing useful and the caller must discard it.
func ExtractWith(ctx context.Context, src *os.File, dst io.Writer, o Options) (int64, error) {
	limit := o.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("archive: %w", err)
	}
	info, err := src.Stat()
	if err != nil {
		return 0, fmt.Errorf("archive: %s: %w", o.Asset, err)
	}
	if info.Size() == 0 {
		return 0, fmt.Errorf("%w: %s is empty", ErrFormat, o.Asset)
	}
	total := o.MaxDecompressed
	if total <= 0 {
		total = defaultBudget(info.Size())
	}
	names := append(platform.ExecutableNames(o.App, o.Asset, o.GOOS), o.Names...)
	x := &extraction{
		ctx:    ctx,
		asset:  o.Asset,
		names:  newMatcher(names, o.Executable),
		dst:    dst,
		limit:  limit,
		budget: budget{left: total, max: total},
		file:   &fileReader{r: io.NewSectionReader(src, 0, info.Size())},
	}
	err = x.run(FormatOf(o.Asset), info.Size())
	return x.written, err
}

// extraction is the state of one call to Extract.
type extraction struct {
	ctx     context.Context
	asset   string
	names   matcher
	dst     io.Writer
	limit   int64
	budget  budget
	file    *fileReader // the asset read from its start, for the streamed formats
	written int64
	seen    seenNames
	found   string // name of the entry already extracted
}

// run dispatches on the format.
func (x *extraction) run(f Format, size int64) error {
	if !f.Installable() {
		return fmt.Errorf("%s: %w", x.asset, Supported(f))
	}
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
	if f.IsTar() {
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
