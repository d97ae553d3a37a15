package delta

import (
	"fmt"
	"io"
)

// How Apply reads the old file. A block's records copy their add bytes
// from all over old, most of them a few dozen bytes near where the one
// before ended; a read of each on its own was 40% of a 61 MB binary's
// apply time. So Apply reads the span that records near each other cover
// at once, and copies each from it. On this machine a pread from the page
// cache costs about 1.8 µs and 0.27 µs a KiB: fewer reads win until the
// spans fill with bytes nobody needs. On versitygw 1.7 -> 1.8 (76,000
// records, 58 MB of add bytes), a 16 KiB window filled at each miss made
// 14,000 reads of 244 MB; spans of up to 64 KiB joining records less than
// 16 KiB apart make 7,800 reads of 64 MB; 256 KiB spans 5,800 of 83 MB.
const (
	oldSpan = 64 << 10 // the most one read of old covers, and its buffer
	oldGap  = 16 << 10 // the farthest a record may start from a span and join it
)

// oldWindow reads the old file for Apply through one buffer of oldSpan.
type oldWindow struct {
	r    io.ReaderAt
	size int64  // the old file's size, per the header
	buf  []byte // made at the first span, at most oldSpan and the old size
	at   int64  // the file offset of buf[0]
	n    int    // how many bytes of buf hold file data
}

// fetch copies each record's add bytes from old into its place in out,
// where the records' add and extra bytes follow one another. The header
// has said each is inside the old file.
func (w *oldWindow) fetch(out []byte, lens []recordLens) error {
	off := 0
	for i := 0; i < len(lens); {
		// Records i to j-1 read within one span, lo to hi.
		lo, hi := lens[i].oldPos, lens[i].oldPos+int64(lens[i].add)
		j := i + 1
		for ; j < len(lens); j++ {
			l := lens[j]
			if l.add == 0 {
				continue
			}
			s, e := l.oldPos, l.oldPos+int64(l.add)
			if s > hi+oldGap || e < lo-oldGap || max(hi, e)-min(lo, s) > oldSpan {
				break
			}
			lo, hi = min(lo, s), max(hi, e)
		}
		switch held := lo >= w.at && hi <= w.at+int64(w.n); {
		case held:
		case j == i+1 || hi-lo > oldSpan:
			// A record alone, or one longer than a span (with records
			// of no add bytes after it), reads straight into place.
			for ; i < j; i++ {
				l := lens[i]
				if err := w.read(out[off:off+int(l.add)], l.oldPos); err != nil {
					return err
				}
				off += int(l.add + l.extra)
			}
			continue
		default:
			if w.buf == nil {
				w.buf = make([]byte, min(oldSpan, w.size))
			}
			w.n = 0
			if err := w.read(w.buf[:hi-lo], lo); err != nil {
				return err
			}
			w.at, w.n = lo, int(hi-lo)
		}
		for ; i < j; i++ {
			l := lens[i]
			if l.add > 0 { // a record without add bytes may have any position
				copy(out[off:off+int(l.add)], w.buf[l.oldPos-w.at:])
			}
			off += int(l.add + l.extra)
		}
	}
	return nil
}

// read fills p from old at off; a file that ends before p does is not the
// one the header describes.
func (w *oldWindow) read(p []byte, off int64) error {
	if len(p) == 0 {
		return nil
	}
	m, err := w.r.ReadAt(p, off)
	if m < len(p) && (err == nil || err == io.EOF) {
		return fmt.Errorf("%w: old file ends at %d, the header says it is %d bytes", ErrOldMismatch, off+int64(m), w.size)
	}
	if m < len(p) {
		return fmt.Errorf("delta: reading old file at %d: %w", off, err)
	}
	return nil
}
