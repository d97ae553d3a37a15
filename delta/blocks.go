package delta

import (
	"encoding/binary"
	"io"

	"github.com/klauspost/compress/zstd"
)

// diffBlockSize is the output at which Diff ends a block; the format allows
// up to BlockSize. Smaller blocks let Apply keep more of them in flight in
// the same memory (see pipeline), and let Diff choose a mode for each
// smaller stretch: against blocks of 1 MiB, pkgserver's patch at adjacent
// commits got 1% smaller (238,762 -> 236,254 bytes) and versitygw 1.7 ->
// 1.8's 0.4% larger (5,982,141 -> 6,006,464), where 128 KiB made it
// 6,000,143 and Apply slower, a block costing it a hand-over between
// goroutines.
const diffBlockSize = 256 << 10

// blockWriter groups Diff's records into blocks (see the package doc): the
// controls of up to MaxBlockRecords records, then all their difference
// bytes as runs, then all their extra bytes, for at most cut bytes of
// output. Each kind of byte then sits with its own kind, which zstd
// compresses about 5% better than records interleaved one by one, while
// the applier still holds only one block.
type blockWriter struct {
	w       io.Writer
	modes   int // how many modes the format version has (modesOf)
	cut     int // the output at which a block ends (layout.blockSize)
	est     *zstd.Encoder
	pos     int64 // new-file offset of the pending block's first byte
	ctl     []byte
	extra   []byte
	pending []pendingAdd // the block's add runs
	size    int          // output bytes of the pending block
	records int

	// What the modes have learned from the blocks written so far, and a
	// scratch copy for trying a mode on the pending block.
	learned, trial, best *predictor
	x, runs, bestRuns    []byte
	estBuf               []byte
}

// pendingAdd is one record's add run in the pending block: the old and new
// bytes it pairs, and where each starts in its file.
type pendingAdd struct {
	old, new       []byte
	oldPos, newPos int64
}

func newBlockWriter(w io.Writer, l layout) *blockWriter {
	return &blockWriter{w: w, modes: modesOf(l.version), cut: l.blockSize, learned: new(predictor), trial: new(predictor), best: new(predictor)}
}

// record adds one record: a seek, the add bytes nw paired with old (of
// equal length, starting at oldPos in the old file), and extra bytes. A
// record that does not fit the block's room is split; the pieces after the
// first seek nowhere, since old's position already follows the first
// piece's add bytes.
func (b *blockWriter) record(seek int, oldPos int64, old, nw, extra []byte) error {
	for len(nw) > 0 || len(extra) > 0 {
		room := b.cut - b.size
		a := min(len(nw), room)
		e := min(len(extra), room-a)
		b.ctl = binary.AppendVarint(b.ctl, int64(seek))
		b.ctl = binary.AppendUvarint(b.ctl, uint64(a))
		b.ctl = binary.AppendUvarint(b.ctl, uint64(e))
		if a > 0 {
			b.pending = append(b.pending, pendingAdd{old: old[:a], new: nw[:a], oldPos: oldPos, newPos: b.pos + int64(b.size)})
		}
		b.extra = append(b.extra, extra[:e]...)
		old, nw, extra = old[a:], nw[a:], extra[e:]
		oldPos += int64(a)
		seek = 0
		b.records++
		b.size += a + e
		if b.size == b.cut || b.records == MaxBlockRecords {
			if err := b.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the pending block, if any, in the mode whose difference
// runs compress smallest. Which mode pays depends on what the block holds:
// bytes on code whose bytes changed one by one, words on tables of moved
// pointers (a word's borrow spreads a changed byte over the bytes above
// it, so neither wins everywhere), code on machine code whose calls and
// addresses moved, tables on Go's tables of 32-bit offsets. Which is
// smallest is told by compressing each alone at the fastest level (on
// pkgserver it picks as well as the default level does).
func (b *blockWriter) flush() error {
	if b.records == 0 {
		return nil
	}
	chosen, bestSize := mode(0), -1
	for m := range mode(b.modes) {
		*b.trial = *b.learned
		b.x = b.x[:0]
		for _, r := range b.pending {
			at := len(b.x)
			b.x = append(b.x, r.new...)
			b.trial.convert(m, r.old, b.x[at:], r.oldPos, r.newPos, false)
		}
		b.runs = appendRuns(b.runs[:0], b.x)
		if b.modes == 1 {
			b.bestRuns, b.runs = b.runs, b.bestRuns
			break
		}
		size := b.estimate(b.runs)
		if bestSize < 0 || size < bestSize {
			chosen, bestSize = m, size
			b.bestRuns, b.runs = b.runs, b.bestRuns
			b.best, b.trial = b.trial, b.best
		}
	}
	if b.modes > 1 {
		b.learned, b.best = b.best, b.learned
	}
	count := uint64(b.records)*uint64(b.modes) + uint64(chosen)
	for _, p := range [][]byte{binary.AppendUvarint(nil, count), b.ctl, b.bestRuns, b.extra} {
		if _, err := b.w.Write(p); err != nil {
			return err
		}
	}
	b.ctl, b.extra, b.pending = b.ctl[:0], b.extra[:0], b.pending[:0]
	b.pos += int64(b.size)
	b.records, b.size = 0, 0
	return nil
}

// estimate is how many bytes p compresses to on its own.
func (b *blockWriter) estimate(p []byte) int {
	if b.est == nil {
		b.est, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(Window))
	}
	b.estBuf = b.est.EncodeAll(p, b.estBuf[:0])
	return len(b.estBuf)
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
