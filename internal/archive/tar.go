package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
)

// maxTrailing is how much data may follow a tar stream's end marker. Tar
// writers pad the archive to a record (10 KiB for GNU tar); reading that
// padding to its end makes the decompressor check its own checksum, and
// the cap keeps a bomb hidden after the end marker from costing time.
const maxTrailing = 1 << 20

// tar reads a tar stream once, from start to end: it writes the executable
// when it meets it and keeps checking the entries after it, so that an
// unsafe or second matching entry anywhere fails the extraction.
func (x *extraction) tar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := x.ctx.Err(); err != nil {
			return x.fail(err, x.asset)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, tar.ErrInsecurePath) {
			// Only with GODEBUG=tarinsecurepath=0; checkPath says why.
			err = checkPath(hdr.Name)
			if err == nil {
				err = fmt.Errorf("%w: entry %q: %w", ErrUnsafe, hdr.Name, tar.ErrInsecurePath)
			}
			return fmt.Errorf("%s: %w", x.asset, err)
		}
		if err != nil {
			return x.fail(err, x.asset)
		}
		x.seen.add(hdr.Name)
		if err := checkPath(hdr.Name); err != nil {
			return fmt.Errorf("%s: %w", x.asset, err)
		}
		if hdr.Typeflag == tar.TypeDir || !x.names.match(hdr.Name) {
			continue
		}
		if hdr.Typeflag != tar.TypeReg {
			return x.notRegular(hdr.Name, tarKind(hdr.Typeflag))
		}
		if x.found != "" {
			return x.twice(x.found, hdr.Name)
		}
		x.found = hdr.Name
		if hdr.Size > x.limit {
			return fmt.Errorf("%w: %s: %s has %d bytes, more than the limit of %d", ErrTooLarge, x.asset, hdr.Name, hdr.Size, x.limit)
		}
		if err := x.copy(tr, hdr.Name); err != nil {
			return err
		}
	}
	n, err := io.Copy(io.Discard, io.LimitReader(&ctxReader{ctx: x.ctx, r: r}, maxTrailing+1))
	if err != nil {
		return x.fail(err, x.asset)
	}
	if n > maxTrailing {
		return fmt.Errorf("%w: %s: more than %d bytes after the end of the tar stream", ErrFormat, x.asset, maxTrailing)
	}
	if x.found == "" {
		return x.notFound()
	}
	return x.nonEmpty()
}

// tarKind names a tar entry type for messages.
func tarKind(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "named pipe"
	}
	return fmt.Sprintf("tar entry of type %q", t)
}
