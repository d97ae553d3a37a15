package delta

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"os"

	"github.com/klauspost/compress/zstd"
)

// DiffOptions tunes Diff. The zero value is what the package is measured
// with.
type DiffOptions struct {
	// Level is the zstd level of the body, as for the zstd command (1 to
	// 22). Zero means the best that github.com/klauspost/compress offers:
	// patches are made once and fetched many times.
	Level int
}

// maxMatch caps how far one suffix-array search compares. bsdiff's scan
// searches at every byte of a region it cannot match well; uncapped, each
// search in a long run of repeated bytes compares the whole run, and the
// scan turns quadratic. Matches longer than 64 KiB are still taken whole:
// the scan counts them 64 KiB at a time against the current alignment.
const maxMatch = 64 << 10

// A short match far from where the applier is in old is written as extra
// bytes instead: farAdd is the shortest add run that may seek more than
// nearSeek bytes. Such matches of a few bytes, found anywhere in old,
// were three quarters of the records on versitygw 1.7 -> 1.8, and each
// cost the applier a read of old of its own; as extra bytes, joined to
// the record before, they compress better: the patch went from 6.46 to
// 5.98 MB and 294,000 records to 76,000, pkgserver's from 240 to 239 kB,
// and the applier's reads of old fell from 252,000 to 14,000. 64 bytes
// made versitygw's patch 6.21 MB, 256 bytes 6.22 MB, against 6.20 MB at
// 128 (before records were joined). nearSeek is oldGap: a record that
// seeks less joins the applier's read of the records before it.
const (
	farAdd   = 128
	nearSeek = oldGap
)

// Diff writes a patch that turns old into new: the header, then the
// zstd-compressed records of a bsdiff-style match of new against a suffix
// array of old. Besides both inputs it needs the array (4 bytes a byte of
// old), its construction's temporaries (as much again at most) and a
// 64 MiB table of three-byte prefixes: about 0.6 GB at peak for two 60 MB
// binaries.
func Diff(old, new []byte, w io.Writer, opts *DiffOptions) error {
	return DiffContext(context.Background(), old, new, w, opts)
}

// DiffContext is Diff that stops with ctx.Err() once ctx is done: a server
// making patches in the background stops when it shuts down. The scan
// looks at ctx between records; the suffix array's construction (seconds
// for a 60 MB file) is not interrupted, only looked at before and after.
// What was written to w until then is not a patch.
func DiffContext(ctx context.Context, old, new []byte, w io.Writer, opts *DiffOptions) error {
	return diff(ctx, old, new, w, opts, layout{Version, diffBlockSize})
}

// layout is what diff writes beyond DiffOptions: the format version (1,
// 2 or 3) and the output at which it ends a block (at most BlockSize).
// Only tests write other versions or blocks than DiffContext does, to
// check that patches already in the field still apply.
type layout struct {
	version, blockSize int
}

func diff(ctx context.Context, old, new []byte, w io.Writer, opts *DiffOptions, l layout) error {
	if opts == nil {
		opts = &DiffOptions{}
	}
	if len(old) > maxSuffixText {
		return fmt.Errorf("%w: old file is %d bytes, the suffix array takes at most %d", ErrTooLarge, len(old), maxSuffixText)
	}
	if len(new) > DefaultMaxNewSize {
		return fmt.Errorf("%w: new file is %d bytes, clients accept at most %d by default", ErrTooLarge, len(new), DefaultMaxNewSize)
	}
	h := Header{Version: l.version, OldSize: int64(len(old)), OldHash: sha256.Sum256(old), NewSize: int64(len(new)), NewHash: sha256.Sum256(new)}
	hb, err := h.MarshalBinary()
	if err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	level := zstd.SpeedBestCompression
	if opts.Level != 0 {
		level = zstd.EncoderLevelFromZstd(opts.Level)
	}
	enc, err := zstd.NewWriter(w,
		zstd.WithEncoderLevel(level),
		zstd.WithWindowSize(Window),
		zstd.WithEncoderCRC(true), // a flipped bit in the body is ErrCorrupt, not a wrong output
		zstd.WithZeroFrames(true), // even an empty new file gets a frame, with its checksum
	)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		enc.Close()
		return err
	}
	d := differ{ctx: ctx, old: old, new: new, sa: suffixArray(old), prefix: prefixIndex(old), prefix3: prefix3Index(old), blocks: newBlockWriter(enc, l)}
	err = d.run()
	if err == nil {
		err = d.flushRecord()
	}
	if err != nil {
		enc.Close()
		return err
	}
	if err := d.blocks.flush(); err != nil {
		enc.Close()
		return err
	}
	return enc.Close()
}

// DiffFiles is Diff on two files read whole into memory.
func DiffFiles(oldPath, newPath string, w io.Writer, opts *DiffOptions) error {
	old, err := os.ReadFile(oldPath)
	if err != nil {
		return err
	}
	new, err := os.ReadFile(newPath)
	if err != nil {
		return err
	}
	return Diff(old, new, w, opts)
}

// differ is one run of the bsdiff scan (Colin Percival, "Naive differences
// of executable code", 2003): find long approximate matches of new in old,
// extend each forward and backward while more bytes agree than differ, and
// write the agreeing part as byte differences (mostly zeros: they compress
// to nothing) and the rest as extra bytes.
type differ struct {
	ctx      context.Context
	old, new []byte
	sa       []int32
	prefix   []int32 // prefixIndex(old)
	prefix3  []int32 // prefix3Index(old)
	blocks   *blockWriter
	oldPos   int // the applier's position in old after the records so far
	held     heldRecord
}

func (d *differ) run() error {
	old, new := d.old, d.new
	oldSize, newSize := len(old), len(new)
	var scan, pos, length, lastScan, lastPos, lastOffset int
	for scan < newSize {
		oldScore := 0
		scan += length
		scsc := scan
		for ; scan < newSize; scan++ {
			pos, length = d.search(new[scan:])
			for ; scsc < scan+length; scsc++ {
				if o := scsc + lastOffset; o >= 0 && o < oldSize && old[o] == new[scsc] {
					oldScore++
				}
			}
			// A match is worth a new record if it is exact and no worse than
			// the current alignment, or better than it by more than 8 bytes.
			if (length == oldScore && length != 0) || length > oldScore+8 {
				break
			}
			if o := scan + lastOffset; o >= 0 && o < oldSize && old[o] == new[scan] {
				oldScore--
			}
			// Step over the bytes that agree with the current alignment
			// from here: a better match that starts among them is still
			// found where they end, and the backward extension takes back
			// what it shares with them. Unskipped, code that agrees except
			// for a changed offset every few bytes is searched at every
			// byte; on versitygw 1.7 -> 1.8 this saves 41% of the searches,
			// and the patch comes out no larger.
			if o := scan + lastOffset; length > 1 && o >= 0 && o < oldSize {
				if r := matchLen(old[o:], new[scan:scan+length]); r > 1 {
					oldScore -= r - 1
					scan += r - 1
				}
			}
		}
		if length == oldScore && scan != newSize {
			continue
		}
		// Extend the last match forward while more than half agrees.
		s, best, lenf := 0, 0, 0
		for i := 0; lastScan+i < scan && lastPos+i < oldSize; {
			if old[lastPos+i] == new[lastScan+i] {
				s++
			}
			i++
			if s*2-i > best*2-lenf {
				best, lenf = s, i
			}
		}
		// And the new match backward.
		lenb := 0
		if scan < newSize {
			s, best := 0, 0
			for i := 1; scan >= lastScan+i && pos >= i; i++ {
				if old[pos-i] == new[scan-i] {
					s++
				}
				if s*2-i > best*2-lenb {
					best, lenb = s, i
				}
			}
		}
		// Where they overlap, split at the point that keeps most agreement.
		if lastScan+lenf > scan-lenb {
			overlap := (lastScan + lenf) - (scan - lenb)
			s, best, lens := 0, 0, 0
			for i := 0; i < overlap; i++ {
				if new[lastScan+lenf-overlap+i] == old[lastPos+lenf-overlap+i] {
					s++
				}
				if new[scan-lenb+i] == old[pos-lenb+i] {
					s--
				}
				if s > best {
					best, lens = s, i+1
				}
			}
			lenf += lens - overlap
			lenb -= lens
		}
		if err := d.record(lastPos, lastScan, lenf, (scan-lenb)-(lastScan+lenf)); err != nil {
			return err
		}
		if err := d.ctx.Err(); err != nil {
			return err
		}
		lastScan, lastPos, lastOffset = scan-lenb, pos-lenb, pos-scan
	}
	return nil
}

// record writes new[at:at+add] as differences from old[from:from+add],
// then new[at+add:at+add+extra] as it is. A short add run far from the
// applier's position becomes extra bytes (farAdd). Records are held back
// one, so that extra bytes with no add run before them join the extra
// bytes of the record before: records are contiguous in new.
func (d *differ) record(from, at, add, extra int) error {
	if far := from - d.oldPos; add > 0 && add < farAdd && (far > nearSeek || -far > nearSeek) {
		add, extra = 0, add+extra
	}
	if add == 0 && extra == 0 {
		return nil
	}
	if add == 0 && d.held.add+d.held.extra > 0 {
		d.held.extra += extra
		return nil
	}
	if err := d.flushRecord(); err != nil {
		return err
	}
	d.held = heldRecord{at: at, add: add, extra: extra}
	if add > 0 {
		d.held.seek, d.held.from = from-d.oldPos, from
		d.oldPos = from + add
	}
	return nil
}

// heldRecord is the record Diff has made but not yet written: the next
// may still add to its extra bytes.
type heldRecord struct {
	seek, from, at, add, extra int
}

// flushRecord writes the held record, if there is one.
func (d *differ) flushRecord() error {
	r := d.held
	if r.add+r.extra == 0 {
		return nil
	}
	d.held = heldRecord{}
	return d.blocks.record(r.seek, int64(r.from), d.old[r.from:r.from+r.add], d.new[r.at:r.at+r.add], d.new[r.at+r.add:r.at+r.add+r.extra])
}

// search finds the longest prefix of target (up to maxMatch bytes) that
// occurs in old, by binary search over the suffix array: the longest match
// is next to where target would sort. The search starts in the range of
// suffixes that share target's first two bytes, and skips the bytes that
// both ends of the range are known to share with target: every suffix
// between them shares at least that many.
func (d *differ) search(target []byte) (pos, n int) {
	if len(target) > maxMatch {
		target = target[:maxMatch]
	}
	sa, old := d.sa, d.old
	lo, hi := 0, len(sa)-1
	if len(target) >= 3 {
		k := int(target[0])<<16 | int(target[1])<<8 | int(target[2])
		if a, b := d.prefix3[k], d.prefix3[k+1]; a < b {
			lo, hi = int(a), int(b)-1
			goto search
		}
	}
	if len(target) >= 2 {
		k := prefixSlot(target[0], int(target[1]))
		if a, b := d.prefix[k], d.prefix[k+1]; a < b {
			lo, hi = int(a), int(b)-1
		} else if a, b := d.prefix[int(target[0])*257], d.prefix[(int(target[0])+1)*257]; a < b {
			lo, hi = int(a), int(b)-1 // no two-byte match: take a one-byte one
		}
	}
search:
	if hi < 0 {
		return 0, 0
	}
	lcpLo, lcpHi := matchLen(old[sa[lo]:], target), matchLen(old[sa[hi]:], target)
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		k := min(lcpLo, lcpHi)
		p := int(sa[mid])
		l := k + matchLen(old[p+k:], target[k:])
		switch {
		case l == len(target):
			return p, l // as long as it gets
		case p+l == len(old) || old[p+l] < target[l]:
			lo, lcpLo = mid, l
		default:
			hi, lcpHi = mid, l
		}
	}
	if lcpLo >= lcpHi {
		return int(sa[lo]), lcpLo
	}
	return int(sa[hi]), lcpHi
}

// prefix3Index returns, for every three-byte prefix, where its suffixes
// start in the suffix array of old. The two suffixes shorter than three
// bytes are counted with the prefix they sort just before (xy with xy00):
// a range may then hold one suffix too many, which the binary search
// tolerates, but never misses one.
func prefix3Index(old []byte) []int32 {
	idx := make([]int32, 1<<24+1)
	for i := 0; i+2 < len(old); i++ {
		idx[int(old[i])<<16|int(old[i+1])<<8|int(old[i+2])+1]++
	}
	if n := len(old); n >= 2 {
		idx[int(old[n-2])<<16|int(old[n-1])<<8+1]++
	}
	if n := len(old); n >= 1 {
		idx[int(old[n-1])<<16+1]++
	}
	for i := 1; i < len(idx); i++ {
		idx[i] += idx[i-1]
	}
	return idx
}

// prefixSlot is where the suffixes starting with bytes b0, b1 begin in
// differ.prefix; b1 = -1 stands for the one-byte suffix at the end of old,
// which sorts before every longer suffix starting with b0.
func prefixSlot(b0 byte, b1 int) int { return int(b0)*257 + b1 + 1 }

// prefixIndex returns, for every two-byte prefix, where its suffixes start
// in the suffix array of old, counted rather than searched.
func prefixIndex(old []byte) []int32 {
	idx := make([]int32, 256*257+1)
	for i := 0; i+1 < len(old); i++ {
		idx[prefixSlot(old[i], int(old[i+1]))+1]++
	}
	if len(old) > 0 {
		idx[prefixSlot(old[len(old)-1], -1)+1]++
	}
	for i := 1; i < len(idx); i++ {
		idx[i] += idx[i-1]
	}
	return idx
}

// matchLen is the length of the common prefix of a and b, eight bytes at a
// time.
func matchLen(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for ; i < n && a[i] == b[i]; i++ {
	}
	return i
}
