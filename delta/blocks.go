package delta

import (
	"encoding/binary"
	"io"

	"github.com/klauspost/compress/zstd"
)

// blockWriter groups Diff's records into blocks (see the package doc): the
// controls of up to MaxBlockRecords records, then all their difference
// bytes as runs, then all their extra bytes, for at most BlockSize bytes
// of output. Each kind of byte then sits with its own kind, which zstd
// compresses about 5% better than records interleaved one by one, while
// the applier still holds only one block.
type blockWriter struct {
	w                io.Writer
	v2               bool // version 2: each block picks byte or word differences
	est              *zstd.Encoder
	pos              int64 // new-file offset of the pending block's first byte
	ctl, diff, extra []byte
	wdiff, wruns     []byte // the block's differences as words, and as runs
	estBuf           []byte
	runs             []byte // diff as appendRuns writes it
	records, size    int
	varint           [binary.MaxVarintLen64]byte
}

// record adds one record: a seek, the differences of nw from old (of equal
// length), and extra bytes. A record that does not fit the block's room is
// split; the pieces after the first seek nowhere, since old's position
// already follows the first piece's add bytes.
func (b *blockWriter) record(seek int, old, nw, extra []byte) error {
	for len(nw) > 0 || len(extra) > 0 {
		room := BlockSize - b.size
		a := min(len(nw), room)
		e := min(len(extra), room-a)
		b.ctl = binary.AppendVarint(b.ctl, int64(seek))
		b.ctl = binary.AppendUvarint(b.ctl, uint64(a))
		b.ctl = binary.AppendUvarint(b.ctl, uint64(e))
		b.diff = appendDiff(b.diff, old[:a], nw[:a], b.pos+int64(b.size), false)
		if b.v2 {
			b.wdiff = appendDiff(b.wdiff, old[:a], nw[:a], b.pos+int64(b.size), true)
		}
		b.extra = append(b.extra, extra[:e]...)
		old, nw, extra = old[a:], nw[a:], extra[e:]
		seek = 0
		b.records++
		b.size += a + e
		if b.size == BlockSize || b.records == MaxBlockRecords {
			if err := b.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the pending block, if any.
func (b *blockWriter) flush() error {
	if b.records == 0 {
		return nil
	}
	count := uint64(b.records)
	b.runs = appendRuns(b.runs[:0], b.diff)
	if b.v2 {
		// The low bit of the count says which differences the block
		// holds: words pay on tables of moved pointers, bytes on code
		// whose bytes changed one by one (a word's borrow spreads a
		// changed byte over the bytes above it). Which compresses
		// smaller is told by compressing both, alone, at a fast level.
		count <<= 1
		b.wruns = appendRuns(b.wruns[:0], b.wdiff)
		if b.estimate(b.wruns) < b.estimate(b.runs) {
			count |= 1
			b.runs, b.wruns = b.wruns, b.runs
		}
	}
	n := binary.PutUvarint(b.varint[:], count)
	for _, p := range [][]byte{b.varint[:n], b.ctl, b.runs, b.extra} {
		if _, err := b.w.Write(p); err != nil {
			return err
		}
	}
	b.ctl, b.diff, b.extra, b.wdiff = b.ctl[:0], b.diff[:0], b.extra[:0], b.wdiff[:0]
	b.pos += int64(b.size)
	b.records, b.size = 0, 0
	return nil
}

// estimate is how many bytes p compresses to on its own.
func (b *blockWriter) estimate(p []byte) int {
	if b.est == nil {
		b.est, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(Window))
	}
	b.estBuf = b.est.EncodeAll(p, b.estBuf[:0])
	return len(b.estBuf)
}

// appendDiff appends the differences of nw from old (of equal length),
// whose first byte is at new-file offset pos. In version 1 each is a byte
// difference. In version 2 (words) every 8 bytes that start at a multiple
// of 8 in the new file and lie wholly inside nw are one little-endian
// 64-bit difference, mod 2^64; the bytes of the partial words at either end
// are byte differences. A Go binary's changed bytes are mostly pointers and
// offsets that moved by the same amount: as words their differences repeat
// exactly, as bytes a carry into the next byte makes them vary.
func appendDiff(dst, old, nw []byte, pos int64, words bool) []byte {
	for i := 0; i < len(nw); {
		if words && (pos+int64(i))&7 == 0 && i+8 <= len(nw) {
			d := binary.LittleEndian.Uint64(nw[i:]) - binary.LittleEndian.Uint64(old[i:])
			dst = binary.LittleEndian.AppendUint64(dst, d)
			i += 8
			continue
		}
		dst = append(dst, nw[i]-old[i])
		i++
	}
	return dst
}

// appendRuns writes difference bytes as runs: a count of zero bytes, a
// count of literal bytes, the literal bytes; over and over. Differences
// of code that merely moved are mostly zeros with a few changed bytes
// where offsets changed. Written as they are, each changed stretch costs
// zstd a sequence of its own, and klauspost/compress's encoder, weaker
// than zstd -19, spends about 40% more on them than on these runs.
func appendRuns(dst, diff []byte) []byte {
	for i := 0; i < len(diff); {
		j := i
		for j < len(diff) && diff[j] == 0 {
			j++
		}
		k := j
		for k < len(diff) && diff[k] != 0 {
			k++
		}
		dst = binary.AppendUvarint(dst, uint64(j-i))
		dst = binary.AppendUvarint(dst, uint64(k-j))
		dst = append(dst, diff[j:k]...)
		i = k
	}
	return dst
}
