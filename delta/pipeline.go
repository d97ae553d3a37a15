package delta

import (
	"context"
	"fmt"
	"hash"
	"io"
	"sync"
)

// pipeline runs Apply in four goroutines, each on its own block: Apply's
// own decodes the patch's body (zstd, the controls, the difference runs,
// the extra bytes into place); the finisher reads the records' old bytes
// into place and adds the differences in the block's mode; the writer
// writes the block to out while the hasher hashes it. On versitygw 1.7 ->
// 1.8 decoding, finishing and hashing plus writing were about 40%, 35% and
// 25% of the work. One goroutine decoding and finishing left the writer
// idle most of the time; three applied that patch 1.4 times as fast on two
// cores, and hashing apart from writing, with four blocks in flight
// instead of two, 1.1 times as fast again.
//
// The blocks' buffers go round in two pools, so memory stays bounded
// whatever the file sizes: up to four blocks of output and four of
// differences, each the size of its block, and no more than two blocks of
// BlockSize in each pool. Diff cuts its blocks at diffBlockSize, so a
// patch of this package's has four of each in flight in 2 MiB; a patch
// cut at BlockSize (as Diff did before) still has two, as then.
type pipeline struct {
	ctx  context.Context // once done, nothing more is written
	hash hash.Hash
	out  io.Writer
	old  oldWindow // read by the finisher only

	outs   pool[[]byte]    // output buffers
	works  pool[blockWork] // difference buffers
	finish chan *block     // decoded blocks, in order
	write  chan []byte     // finished blocks, in order
	toHash chan []byte     // the block being written, to the hasher
	hashed chan struct{}   // the hasher is done with it
	done   chan struct{}   // closed when the writer has stopped

	mu  sync.Mutex
	err error // the first error of any stage; after it nothing more is written
}

// inFlight is how many blocks the pools lend out at most, and poolBudget
// the bytes each pool's buffers may add up to: four blocks of
// diffBlockSize, or two of BlockSize. On versitygw 1.7 -> 1.8 four
// blocks of 256 KiB applied 1.1 times as fast as two of 1 MiB, in half the
// memory.
const (
	inFlight   = 4
	poolBudget = 2 * BlockSize
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
	dirty int // diffs[dirty:] are zeros (readRuns)
	lens  []recordLens
}

// newPipeline starts the stages after decoding, for blocks of at most
// most bytes.
func newPipeline(ctx context.Context, old oldWindow, h hash.Hash, out io.Writer, most int) *pipeline {
	p := &pipeline{
		ctx: ctx, old: old, hash: h, out: out,
		outs: newPool(most, func(b []byte) int { return cap(b) }, func(n int) []byte { return make([]byte, n) }),
		works: newPool(most, func(w blockWork) int { return cap(w.diffs) }, func(n int) blockWork {
			return blockWork{diffs: make([]byte, n)}
		}),
		finish: make(chan *block, inFlight),
		write:  make(chan []byte, inFlight),
		toHash: make(chan []byte),
		hashed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	go p.finisher()
	go p.writer()
	go p.hasher()
	return p
}

// fail records err as the pipeline's error, unless it has one.
func (p *pipeline) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// failed is the pipeline's first error, or nil.
func (p *pipeline) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// finisher copies each block's old bytes into place and adds their
// differences, with what the modes learned from the blocks before it
// (pred, made at the first block that learns). After an error (old is
// short, or unreadable) it passes the blocks on untouched.
func (p *pipeline) finisher() {
	defer close(p.write)
	var pred *predictor
	for b := range p.finish {
		if p.failed() == nil {
			if err := p.old.fetch(b.out, b.work.lens); err != nil {
				p.fail(err)
			}
		}
		if p.failed() == nil {
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
		p.works.put(b.work)
		p.write <- b.out
	}
}

// writer writes each finished block to out while the hasher hashes it,
// then gives its buffer back.
func (p *pipeline) writer() {
	defer close(p.done)
	defer close(p.toHash)
	for b := range p.write {
		if p.failed() == nil {
			if err := p.ctx.Err(); err != nil {
				p.fail(err)
			}
		}
		if p.failed() == nil {
			p.toHash <- b
			if _, err := p.out.Write(b); err != nil {
				p.fail(fmt.Errorf("delta: writing output: %w", err))
			}
			<-p.hashed
		}
		p.outs.put(b[:cap(b)])
	}
}

func (p *pipeline) hasher() {
	for b := range p.toHash {
		p.hash.Write(b)
		p.hashed <- struct{}{}
	}
}

// buffers returns an output buffer of n bytes and difference buffers for
// adds bytes, to decode a block into. It fails with the pipeline's error,
// if a stage has met one.
func (p *pipeline) buffers(n, adds int) ([]byte, blockWork, error) {
	w := p.works.get(adds)
	out := p.outs.get(n)
	return out[:n], w, p.failed()
}

// send hands a decoded block on.
func (p *pipeline) send(b *block) { p.finish <- b }

// close waits for every block sent to be finished and written, and
// returns the first error of any stage. Apply calls it before it returns,
// on every path: nothing is written to out after Apply has returned.
func (p *pipeline) close() error {
	close(p.finish)
	<-p.done
	return p.failed()
}

// pool lends buffers to the blocks in flight and takes them back. A buffer
// is made the size of the block that first needs it, rounded up to
// diffBlockSize (or the most a block of this patch can make); at most inFlight exist at once, adding up to poolBudget
// at most. One given back too small for the block that wants it next (a
// patch of larger blocks) is dropped for a larger one.
type pool[T any] struct {
	free  chan T
	made  int // buffers lent out or in free
	bytes int // their sizes, summed
	most  int // the largest buffer a block can need
	size  func(T) int
	alloc func(n int) T
}

func newPool[T any](most int, size func(T) int, alloc func(n int) T) pool[T] {
	return pool[T]{free: make(chan T, inFlight), most: most, size: size, alloc: alloc}
}

// get returns a buffer of n bytes or more: one given back, else a new one
// if the limits allow it, else the next one given back. Only the
// decoding goroutine calls it; the stages after it give every buffer back,
// so the wait ends.
func (p *pool[T]) get(n int) T {
	c := min((n+diffBlockSize-1)/diffBlockSize*diffBlockSize, p.most)
	for {
		var b T
		select {
		case b = <-p.free:
		default:
			if p.made < inFlight && p.bytes+c <= poolBudget {
				p.made++
				p.bytes += c
				return p.alloc(c)
			}
			b = <-p.free
		}
		if p.size(b) >= n {
			return b
		}
		p.made--
		p.bytes -= p.size(b)
	}
}

// put gives a buffer back.
func (p *pool[T]) put(b T) { p.free <- b }
