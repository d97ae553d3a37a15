package delta

import (
	"context"
	"fmt"
	"hash"
	"io"
)

// sink finishes, hashes and writes Apply's blocks in a goroutine of its
// own while the next block decodes. Decoding (zstd, the controls and
// difference runs, the reads of old) and finishing (adding the
// differences in each block's mode, sha256, and whatever the caller's
// writer does: a file's write for the updater) each take about half the
// time of applying a patch to a Go binary, so with two cores they take
// turns on two blocks. The modes' predictor lives here: blocks are
// finished in order, so it learns in the order Diff's did.
type sink struct {
	ctx  context.Context // once done, nothing more is written
	hash hash.Hash
	out  io.Writer
	size int           // the blocks' buffer size
	made int           // blocks made so far, at most 2
	full chan *block   // blocks to finish and write, in order
	free chan freed    // blocks back from the writer, with its first error
	done chan struct{} // closed when the writer has stopped
	err  error         // the writer's first error; read after done or from free
	pred *predictor    // what the blocks so far taught the modes; made at the first that learns
}

// block is one block of the patch between decoding and writing.
type block struct {
	out   []byte       // the output: the records' old bytes and extra bytes in place
	diffs []byte       // the differences of the add bytes, all records' one after another
	lens  []recordLens // the records
	mode  mode
	at    int64 // the new file's offset of out[0]
}

// recordLens is what finishing a block needs of each record: its lengths
// (uint32 is plenty: no record exceeds BlockSize) and where its add bytes
// start in the old file.
type recordLens struct {
	add, extra uint32
	oldPos     int64
}

// freed is a block the writer is done with, and the first error it has
// met so far (it goes on taking blocks after one, and writes none).
type freed struct {
	b   *block
	err error
}

func newSink(ctx context.Context, h hash.Hash, out io.Writer, size int) *sink {
	s := &sink{ctx: ctx, hash: h, out: out, size: size, full: make(chan *block, 2), free: make(chan freed, 2), done: make(chan struct{})}
	go s.write()
	return s
}

func (s *sink) write() {
	defer close(s.done)
	var err error
	for b := range s.full {
		if err == nil {
			err = s.ctx.Err()
		}
		if err == nil {
			s.finish(b)
			s.hash.Write(b.out)
			if _, werr := s.out.Write(b.out); werr != nil {
				err = fmt.Errorf("delta: writing output: %w", werr)
			}
		}
		s.free <- freed{b, err}
	}
	s.err = err
}

// finish turns each record's old bytes, in place, into its new bytes with
// its differences.
func (s *sink) finish(b *block) {
	if s.pred == nil && (b.mode == modeCode || b.mode == modeTables) {
		s.pred = new(predictor)
	}
	off, d := 0, b.diffs
	for _, l := range b.lens {
		s.pred.convert(b.mode, b.out[off:off+int(l.add)], d[:l.add], l.oldPos, b.at+int64(off), true)
		d = d[l.add:]
		off += int(l.add) + int(l.extra)
	}
}

// buffer returns a block to decode into: a new one while fewer than two
// exist, else the one the writer gives back next. It fails with the
// writer's error, if it has met one.
func (s *sink) buffer() (*block, error) {
	if s.made < 2 {
		select {
		case f := <-s.free:
			return f.b, f.err
		default:
			s.made++
			// Each record makes a byte at least, so a block of size bytes
			// has at most size records.
			return &block{
				out:   make([]byte, s.size),
				diffs: make([]byte, s.size),
				lens:  make([]recordLens, 0, min(MaxBlockRecords, s.size)),
			}, nil
		}
	}
	f := <-s.free
	return f.b, f.err
}

// send hands a decoded block to the writer.
func (s *sink) send(b *block) { s.full <- b }

// close waits for the writer to finish every block sent, and returns its
// first error. Apply calls it before it returns, on every path: nothing
// is written to out after Apply has returned.
func (s *sink) close() error {
	close(s.full)
	<-s.done
	return s.err
}
