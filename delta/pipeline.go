package delta

import (
	"context"
	"fmt"
	"hash"
	"io"
)

// pipeline runs Apply in three goroutines, each on its own block: Apply's
// own decodes the patch's body (zstd, the controls, the difference runs,
// the extra bytes into place); the finisher reads the records' old bytes
// into place and adds the differences in the block's mode; the writer
// hashes the block and writes it to out. On versitygw 1.7 -> 1.8 they were
// about 40%, 35% and 25% of the work. The first design, decoding and
// finishing in one goroutine, left the writer idle most of the time: on
// two cores this one applies that patch 1.4 times as fast, and
// pkgserver's (mostly the code mode's work) as fast as before.
//
// Two output buffers and two of differences go round, so memory stays
// constant: with a third output buffer each stage could always run, but
// with two cores two stages at work are enough; the third measured no
// faster and cost 1 MiB.
type pipeline struct {
	ctx  context.Context // once done, nothing more is written
	hash hash.Hash
	out  io.Writer
	old  oldWindow // read by the finisher only
	size int       // the output buffers' size, and the differences'

	made, madeWork int
	finish         chan *block    // decoded blocks, in order
	write          chan freed     // finished blocks, in order, with the finisher's first error
	free           chan freed     // output buffers back from the writer, with its first error
	freeWork       chan blockWork // difference buffers back from the finisher
	done           chan struct{}  // closed when the writer has stopped
	err            error          // the writer's first error; read after done or from free
}

const (
	outBuffers  = 2 // of decoding, finishing and writing, two at a time
	workBuffers = 2 // decoding, finishing
)

// block is one decoded block on its way to out.
type block struct {
	out  []byte // old bytes and extra bytes in place; the new bytes once finished
	m    mode
	at   int64 // where out starts in the new file
	work blockWork
}

// blockWork is what finishing a block needs besides its output: the
// differences of its add bytes, and its records.
type blockWork struct {
	diffs []byte
	lens  []recordLens
}

// freed is a buffer a stage is done with, and the first error it has met
// so far (it goes on taking blocks after one, and does nothing with them).
type freed struct {
	buf []byte
	err error
}

func newPipeline(ctx context.Context, old oldWindow, h hash.Hash, out io.Writer, size int) *pipeline {
	p := &pipeline{
		ctx: ctx, old: old, hash: h, out: out, size: size,
		finish:   make(chan *block, 1),
		write:    make(chan freed, outBuffers),
		free:     make(chan freed, outBuffers),
		freeWork: make(chan blockWork, workBuffers),
		done:     make(chan struct{}),
	}
	go p.finisher()
	go p.writer()
	return p
}

// finisher copies each block's old bytes into place and adds their
// differences, with what the modes learned from the blocks before it
// (pred, made at the first block that learns). After an error (old is
// short, or unreadable) it passes the blocks on untouched, with the error.
func (p *pipeline) finisher() {
	defer close(p.write)
	var pred *predictor
	var err error
	for b := range p.finish {
		if err == nil {
			err = p.old.fetch(b.out, b.work.lens)
		}
		if err == nil {
			if pred == nil && (b.m == modeCode || b.m == modeTables) {
				pred = new(predictor)
			}
			// Each record's old bytes, now in place, become its new
			// bytes with its differences; its extra bytes follow.
			off, d := 0, b.work.diffs
			for _, l := range b.work.lens {
				pred.convert(b.m, b.out[off:off+int(l.add)], d[:l.add], l.oldPos, b.at+int64(off), true)
				d = d[l.add:]
				off += int(l.add + l.extra)
			}
		}
		p.freeWork <- b.work
		p.write <- freed{b.out, err}
	}
}

func (p *pipeline) writer() {
	defer close(p.done)
	var err error
	for f := range p.write {
		b := f.buf
		if err == nil {
			err = f.err
		}
		if err == nil {
			err = p.ctx.Err()
		}
		if err == nil {
			p.hash.Write(b)
			if _, werr := p.out.Write(b); werr != nil {
				err = fmt.Errorf("delta: writing output: %w", werr)
			}
		}
		p.free <- freed{b[:cap(b)], err}
	}
	p.err = err
}

// buffer returns an output buffer to decode into: a new one while fewer
// than outBuffers exist, else the one the writer gives back next. It fails
// with the writer's error, if it has met one.
func (p *pipeline) buffer() ([]byte, error) {
	if p.made < outBuffers {
		select {
		case f := <-p.free:
			return f.buf, f.err
		default:
			p.made++
			return make([]byte, p.size), nil
		}
	}
	f := <-p.free
	return f.buf, f.err
}

// work returns buffers for a block's differences and records, as buffer
// does for its output.
func (p *pipeline) work() blockWork {
	if p.madeWork < workBuffers {
		select {
		case w := <-p.freeWork:
			return w
		default:
			p.madeWork++
			return blockWork{make([]byte, p.size), make([]recordLens, 0, min(MaxBlockRecords, p.size))}
		}
	}
	return <-p.freeWork
}

// send hands a decoded block on.
func (p *pipeline) send(b *block) { p.finish <- b }

// close waits for every block sent to be finished and written, and
// returns the writer's first error. Apply calls it before it returns, on
// every path: nothing is written to out after Apply has returned.
func (p *pipeline) close() error {
	close(p.finish)
	<-p.done
	return p.err
}
