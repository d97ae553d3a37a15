package archive

import (
	"archive/zip"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// zip reads the central directory, checks every entry and finds the
// executable before writing anything, then streams that one entry.
//
// The central directory is held in memory, as archive/zip does; its size
// is that of the directory in the (verified) asset, not of the data.
func (x *extraction) zip(size int64) error {
	zr, err := zip.NewReader(&ctxReaderAt{ctx: x.ctx, r: x.file}, size)
	if errors.Is(err, zip.ErrInsecurePath) {
		// Only with GODEBUG=zipinsecurepath=0; the loop below says which entry.
		err = nil
	}
	if err != nil {
		return x.fail(err, x.asset)
	}
	var exe *zip.File
	for _, f := range zr.File {
		if err := x.ctx.Err(); err != nil {
			return x.fail(err, x.asset)
		}
		x.seen.add(f.Name)
		if err := checkPath(f.Name); err != nil {
			return fmt.Errorf("%s: %w", x.asset, err)
		}
		mode := f.Mode()
		if mode.IsDir() || strings.HasSuffix(f.Name, "/") || !x.names.match(f.Name) {
			continue
		}
		if !mode.IsRegular() {
			return x.notRegular(f.Name, zipKind(mode))
		}
		if exe != nil {
			return x.twice(exe.Name, f.Name)
		}
		exe = f
	}
	if exe == nil {
		return x.notFound()
	}
	x.found = exe.Name
	if exe.UncompressedSize64 > uint64(x.limit) {
		return fmt.Errorf("%w: %s: %s has %d bytes, more than the limit of %d", ErrTooLarge, x.asset, exe.Name, exe.UncompressedSize64, x.limit)
	}
	if exe.Flags&0x1 != 0 {
		return fmt.Errorf("%w: %s: %s is encrypted", ErrFormat, x.asset, exe.Name)
	}
	rc, err := exe.Open()
	if err != nil {
		return x.fail(err, exe.Name)
	}
	defer rc.Close()
	if err := x.copy(x.budget.wrap(rc), exe.Name); err != nil {
		return err
	}
	return x.nonEmpty()
}

// zipKind names a zip entry's file type for messages.
func zipKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file (" + m.String() + ")"
}
