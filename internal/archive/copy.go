package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ctxReader fails every read once ctx is done, so that a long copy or a
// long run of skipped entries stops soon after cancellation.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ctxReaderAt is ctxReader for random access, as zip reads.
type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c *ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

// fileReader reads the asset from its start and keeps the first error the
// file itself returned, so that an I/O error is reported as such and not as
// a corrupt archive.
type fileReader struct {
	r   *io.SectionReader
	err error
}

func (f *fileReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.keep(err)
	return n, err
}

func (f *fileReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.r.ReadAt(p, off)
	f.keep(err)
	return n, err
}

func (f *fileReader) keep(err error) {
	if err != nil && err != io.EOF && f.err == nil {
		f.err = err
	}
}

// errLimit is what limitWriter returns when the output would pass the
// limit; fail turns it into ErrTooLarge.
var errLimit = errors.New("archive: limit reached")

// limitWriter passes at most left bytes to w and keeps w's own error apart.
type limitWriter struct {
	w    io.Writer
	left int64
	n    int64
	err  error // w's error
	over bool  // something was refused because of the limit
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		p = p[:l.left]
		l.over = true
	}
	n, err := l.w.Write(p)
	l.n += int64(n)
	l.left -= int64(n)
	if err != nil {
		l.err = err
		return n, err
	}
	if l.over {
		return n, errLimit
	}
	return n, nil
}

// copy streams the executable from r to the destination. It reads at most
// limit+1 bytes, enough to tell an executable of exactly limit bytes from
// a larger one, and writes at most limit.
func (x *extraction) copy(r io.Reader, name string) error {
	lw := &limitWriter{w: x.dst, left: x.limit - x.written}
	_, err := io.Copy(lw, io.LimitReader(&ctxReader{ctx: x.ctx, r: r}, lw.left+1))
	x.written += lw.n
	switch {
	case lw.err != nil:
		return fmt.Errorf("archive: writing %s: %w", name, lw.err)
	case lw.over:
		return fmt.Errorf("%w: %s is larger than the limit of %d bytes", ErrTooLarge, name, x.limit)
	}
	return x.fail(err, name)
}

// fail classifies an error met while reading the asset: cancellation, an
// I/O error from the file, a limit, or else a corrupt asset. Errors that
// already carry one of the package's sentinels pass through.
func (x *extraction) fail(err error, name string) error {
	if err == nil {
		return nil
	}
	if ctxErr := x.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("archive: %s: %w", x.asset, ctxErr)
	}
	for _, known := range []error{ErrUnsafe, ErrNotFound, ErrAmbiguous, ErrTooLarge, ErrFormat, ErrUnsupported} {
		if errors.Is(err, known) {
			return err
		}
	}
	if errors.Is(err, errBudget) {
		return fmt.Errorf("%w: %s: more than %d bytes decompressed before the end (Options.MaxDecompressed)",
			ErrTooLarge, x.asset, x.budget.max)
	}
	if x.file.err != nil {
		return fmt.Errorf("archive: reading %s: %w", x.asset, x.file.err)
	}
	if name != x.asset {
		return fmt.Errorf("%w: %s: %s: %w", ErrFormat, x.asset, name, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrFormat, x.asset, err)
}
