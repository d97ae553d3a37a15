package delta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// ApplyOptions tunes Apply. The zero value is safe.
type ApplyOptions struct {
	// MaxNewSize is the largest new file Apply will make; a header that
	// promises more is refused with ErrTooLarge before anything is written.
	// Zero means DefaultMaxNewSize.
	MaxNewSize int64
	// TrustOld skips CheckOld: set it only when the caller has just checked
	// the old file against this patch's header itself. Without the check, a
	// wrong old file shows up only at the end, as ErrResultMismatch.
	TrustOld bool
	// NewHash, if not nil, is the sha256 the new file must have, from a
	// source the caller trusts (signed metadata): a header that promises
	// another is refused with ErrResultMismatch before anything is
	// written. Apply's check of its output against the header is then a
	// check against NewHash, and the caller need not hash the output
	// again.
	NewHash *[32]byte
	// NewSize, if not zero, is the size the new file must have, from the
	// same trusted source: a header that promises another is refused with
	// ErrResultMismatch before anything is written.
	NewSize int64
}

// Stats tells what one Apply did.
type Stats struct {
	Header  Header
	Records int64 // records decoded
	Copied  int64 // new bytes made from old bytes plus a difference
	Extra   int64 // new bytes taken literally from the patch
}

// readBuf is the size of the buffer over the decoded body (body): 64 KiB
// keeps the calls into the decoder few, and is small next to Window and
// BlockSize.
const readBuf = 64 << 10

// Apply reads a patch made by Diff, checks that old is the file it starts
// from (unless opts.TrustOld), and writes the new file to out strictly
// sequentially, reading old only through ReadAt. Memory is constant, at
// most Window + 4×BlockSize + 1.5 MiB whatever the file sizes: blocks of
// output and of differences in flight, taking turns in four goroutines
// (see pipeline), at most 2×BlockSize of each, 2 MiB in all for patches
// Diff makes now; the rest is what the modes learned, the tables of
// records and a span of old. out is written from a goroutine of Apply's,
// never after Apply returns; old is read from another.
//
// Apply never writes more than the header's NewSize to out, and checks the
// size and sha256 of what it wrote against the header at the end. Until it
// returns nil, what it wrote must be treated as garbage: a patch can be
// found corrupt, or the result wrong, after most of it is written. Write to
// a temporary file and rename it on success.
//
// Errors wrap ErrCorrupt, ErrVersion, ErrOldMismatch, ErrResultMismatch or
// ErrTooLarge; or are ctx.Err(), or an I/O error from old, patch or out.
func Apply(ctx context.Context, old io.ReaderAt, patch io.Reader, out io.Writer, opts *ApplyOptions) (Stats, error) {
	if opts == nil {
		opts = &ApplyOptions{}
	}
	h, err := ReadHeader(patch)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Header: h}
	limit := opts.MaxNewSize
	if limit <= 0 {
		limit = DefaultMaxNewSize
	}
	if h.NewSize > limit {
		return st, fmt.Errorf("%w: the patch makes %d bytes, the limit is %d", ErrTooLarge, h.NewSize, limit)
	}
	if opts.NewHash != nil && *opts.NewHash != h.NewHash {
		return st, fmt.Errorf("%w: it promises a file with sha256 %x, unlike the one wanted (%x)", ErrResultMismatch, h.NewHash, *opts.NewHash)
	}
	if opts.NewSize != 0 && opts.NewSize != h.NewSize {
		return st, fmt.Errorf("%w: it promises a file of %d bytes, unlike the %d wanted", ErrResultMismatch, h.NewSize, opts.NewSize)
	}
	if !opts.TrustOld {
		if err := CheckOld(old, h); err != nil {
			return st, err
		}
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	src := &patchReader{r: patch}
	dec, err := zstd.NewReader(src,
		zstd.WithDecoderConcurrency(1), // decode in the caller's goroutine, no read-ahead buffers
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(Window),
		zstd.WithDecoderMaxMemory(Window), // also bounds single-segment frames, whose window is their size
	)
	if err != nil {
		return st, err
	}
	defer dec.Close()
	hash := sha256.New()
	a := applier{
		ctx: ctx, h: h, st: &st, src: src,
		body: newBody(dec, readBuf),
		// A block makes at most BlockSize bytes and never more than the
		// new file has: a small file gets small buffers.
		out: newPipeline(ctx, oldWindow{r: old, size: h.OldSize}, hash, out, int(min(BlockSize, h.NewSize))),
	}
	err = a.run()
	if werr := a.out.close(); err == nil {
		err = werr
	}
	if err != nil {
		return st, err
	}
	if got := hash.Sum(nil); !bytes.Equal(got, h.NewHash[:]) {
		return st, fmt.Errorf("%w: made %d bytes with sha256 %x, the header promises %x", ErrResultMismatch, a.written, got, h.NewHash)
	}
	return st, nil
}

// CheckOld reads old from its start and checks that it is exactly
// h.OldSize bytes with sha256 h.OldHash: the file the patch starts from.
// It fails with ErrOldMismatch if not.
func CheckOld(old io.ReaderAt, h Header) error {
	s := sha256.New()
	// One byte past the promised size tells a longer file from the right one.
	n, err := io.Copy(s, io.NewSectionReader(old, 0, h.OldSize+1))
	if err != nil {
		return fmt.Errorf("delta: reading old file: %w", err)
	}
	if n != h.OldSize {
		return fmt.Errorf("%w: old file is %d bytes or more, the patch starts from %d", ErrOldMismatch, n, h.OldSize)
	}
	if got := s.Sum(nil); !bytes.Equal(got, h.OldHash[:]) {
		return fmt.Errorf("%w: old file has sha256 %x, the patch starts from %x", ErrOldMismatch, got, h.OldHash)
	}
	return nil
}

// applier is one run of Apply's block loop.
type applier struct {
	ctx     context.Context
	out     *pipeline // finishes, hashes and writes each block while the next decodes
	h       Header
	st      *Stats
	src     *patchReader
	body    *body
	written int64 // output bytes made and sent to out
	oldPos  int64
	lens    []recordLens // the block's records, as read; then the block's own
}

// recordLens is what the second and third passes over a block need of each
// record: its lengths (uint32 is plenty: no record exceeds BlockSize) and
// where its add bytes start in the old file.
type recordLens struct {
	add, extra uint32
	oldPos     int64
}

func (a *applier) run() error {
	for a.written < a.h.NewSize {
		if err := a.ctx.Err(); err != nil {
			return err
		}
		if err := a.readBlock(); err != nil {
			return err
		}
	}
	// The body must end here. Reading on to the end also makes the zstd
	// decoder check the frame checksum.
	var b [1]byte
	for {
		n, err := a.body.readFull(b[:])
		if n > 0 {
			return fmt.Errorf("%w: data after the last block", ErrCorrupt)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return a.bodyErr(err, "the end of the body")
		}
	}
	return nil
}

// readBlock decodes one block and sends it on to be finished: the
// controls; each record's add bytes, copied from old into place; the
// differences to add onto them; then the extra bytes, into the gaps.
func (a *applier) readBlock() error {
	n, err := a.body.uvarint()
	if err != nil {
		return a.bodyErr(err, "a block's record count")
	}
	modes := uint64(modesOf(a.h.Version))
	m := mode(n % modes)
	n /= modes
	if n == 0 || n > MaxBlockRecords {
		return fmt.Errorf("%w: block at output byte %d has %d records, want 1 to %d", ErrCorrupt, a.written, n, MaxBlockRecords)
	}
	room := uint64(min(BlockSize, a.h.NewSize-a.written))
	size, adds := uint64(0), uint64(0)
	lens := a.lens[:0]
	for range n {
		seek, err := a.body.varint()
		if err != nil {
			return a.bodyErr(err, "a seek")
		}
		add, err := a.body.uvarint()
		if err != nil {
			return a.bodyErr(err, "an add length")
		}
		extra, err := a.body.uvarint()
		if err != nil {
			return a.bodyErr(err, "an extra length")
		}
		left := room - size
		switch {
		case add == 0 && extra == 0:
			// Refused so that every record makes a byte: a body of empty
			// records could otherwise decompress forever.
			return fmt.Errorf("%w: record %d is empty", ErrCorrupt, a.st.Records)
		case add > left || extra > left-add:
			return fmt.Errorf("%w: record %d makes %d+%d bytes, only %d fit the block (%d of the promised %d bytes are made)", ErrCorrupt, a.st.Records, add, extra, left, a.written, a.h.NewSize)
		case seek < -a.oldPos || seek > a.h.OldSize-a.oldPos:
			return fmt.Errorf("%w: record %d seeks %+d from %d, outside the old file's %d bytes", ErrCorrupt, a.st.Records, seek, a.oldPos, a.h.OldSize)
		}
		a.oldPos += seek
		if add > uint64(a.h.OldSize-a.oldPos) {
			return fmt.Errorf("%w: record %d adds %d bytes from %d, past the old file's %d bytes", ErrCorrupt, a.st.Records, add, a.oldPos, a.h.OldSize)
		}
		lens = append(lens, recordLens{uint32(add), uint32(extra), a.oldPos})
		a.oldPos += int64(add)
		adds += add
		size += add + extra
		a.st.Records++
		a.st.Copied += int64(add)
		a.st.Extra += int64(extra)
	}
	out, w, err := a.out.buffers(int(size), int(adds))
	if err != nil {
		return err
	}
	// The records go with the block; the decoder takes the lens of the
	// block the buffers came back from for the next.
	w.lens, a.lens = lens, w.lens
	if err := a.readRuns(&w, int(adds)); err != nil {
		return err
	}
	off := 0
	for _, l := range lens {
		off += int(l.add)
		if _, err := a.body.readFull(out[off : off+int(l.extra)]); err != nil {
			return a.bodyErr(err, "extra bytes")
		}
		off += int(l.extra)
	}
	a.out.send(&block{out: out, m: m, at: a.written, work: w})
	a.written += int64(size)
	return nil
}

// readRuns reads the block's difference bytes, written as runs of zeros
// and literals, into w.diffs[:total]: one difference for each byte of the
// block's add runs, which follow one another across records. Only the
// literals are written; the zeros are what w.dirty says was left of the
// block before cleared. A block that moved without a change (most of a
// rebuild with a new version string) clears nothing: clearing every
// block's differences was a fifth of applying hello's patch.
func (a *applier) readRuns(w *blockWork, total int) error {
	d := w.diffs[:total]
	clear(d[:min(w.dirty, total)])
	if w.dirty <= total {
		w.dirty = 0 // else the bytes past total are still to clear
	}
	end := 0 // past the last literal
	body := a.body
	for at := 0; at < total; {
		// Most runs are short: two one-byte lengths and literals already
		// in the buffer, taken here without a call (readRuns was a fifth
		// of Apply's CPU on versitygw's patch, mostly in calls).
		var zeros, lits uint64
		if r := body.r; body.w-r >= 2 && body.buf[r]|body.buf[r+1] < 0x80 {
			zeros, lits = uint64(body.buf[r]), uint64(body.buf[r+1])
			body.r += 2
		} else {
			var err error
			if zeros, err = body.uvarint(); err != nil {
				return a.bodyErr(err, "a run of zero differences")
			}
			if lits, err = body.uvarint(); err != nil {
				return a.bodyErr(err, "a run of literal differences")
			}
		}
		left := uint64(total - at)
		if zeros+lits == 0 || zeros > left || lits > left-zeros {
			return fmt.Errorf("%w: difference runs of %d+%d bytes, %d are left of the block's add runs", ErrCorrupt, zeros, lits, left)
		}
		at += int(zeros)
		lit := d[at : at+int(lits)]
		if int(lits) <= body.w-body.r {
			body.r += copy(lit, body.buf[body.r:])
		} else if _, err := body.readFull(lit); err != nil {
			return a.bodyErr(err, "difference bytes")
		}
		if at += int(lits); lits > 0 {
			end = at
		}
	}
	w.dirty = max(w.dirty, end)
	return nil
}

// bodyErr names a failure to decode the body. The end of the body before
// the promised size is a truncated patch; an error of the patch reader
// itself is passed on; anything else is the decoder's complaint (a bad
// frame or checksum, a window too large, a varint past 64 bits): a corrupt
// patch.
func (a *applier) bodyErr(err error, what string) error {
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return fmt.Errorf("%w: body ends in %s after %d of %d bytes: truncated", ErrCorrupt, what, a.written, a.h.NewSize)
	case a.src.err != nil && errors.Is(err, a.src.err):
		return fmt.Errorf("delta: reading patch: %w", err)
	}
	return fmt.Errorf("%w: decoding %s of record %d, after %d of %d bytes: %v", ErrCorrupt, what, a.st.Records, a.written, a.h.NewSize, err)
}

// patchReader remembers the patch reader's own error, other than io.EOF,
// so that bodyErr can tell it from the decoder's.
type patchReader struct {
	r   io.Reader
	err error
}

func (p *patchReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		p.err = err
	}
	return n, err
}
