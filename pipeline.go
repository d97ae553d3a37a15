package update

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// pipeline writes a download to its file (or, for a patch, to the
// applier's pipe) and hashes it on two goroutines of their own, so that
// reading the network, writing and hashing overlap instead of taking
// turns. Memory is a fixed ring of buffers, whatever the download's size.
type pipeline struct {
	w       io.Writer
	h       io.Writer
	free    chan *chunk
	write   chan *chunk
	hash    chan *chunk
	wg      sync.WaitGroup
	werr    atomic.Pointer[error]
	written int64 // bytes handed to the writer, for writeback hints
}

type chunk struct {
	buf  []byte
	n    int
	refs atomic.Int32
}

const (
	chunkSize  = 128 << 10
	chunkCount = 8 // 1 MiB in all
	// writebackEvery asks the kernel to start writing dirty pages out every
	// so many bytes, so the fsync before the swap has little left to do.
	writebackEvery = 8 << 20
)

func newPipeline(w io.Writer, h io.Writer) *pipeline {
	p := &pipeline{
		w: w, h: h,
		free:  make(chan *chunk, chunkCount),
		write: make(chan *chunk, chunkCount),
		hash:  make(chan *chunk, chunkCount),
	}
	for range chunkCount {
		p.free <- &chunk{buf: make([]byte, chunkSize)}
	}
	p.wg.Add(2)
	go p.writer()
	go p.hasher()
	return p
}

// buffer returns an empty chunk to read into.
func (p *pipeline) buffer() *chunk { return <-p.free }

// submit hands a filled chunk to the writer and the hasher, or takes it
// back if it is empty.
func (p *pipeline) submit(c *chunk) {
	if c.n == 0 {
		p.free <- c
		return
	}
	c.refs.Store(2)
	p.write <- c
	p.hash <- c
}

// err is the first write error, if any.
func (p *pipeline) err() error {
	if e := p.werr.Load(); e != nil {
		return *e
	}
	return nil
}

// close waits until every chunk is written and hashed and returns the
// first write error.
func (p *pipeline) close() error {
	close(p.write)
	close(p.hash)
	p.wg.Wait()
	return p.err()
}

func (p *pipeline) release(c *chunk) {
	if c.refs.Add(-1) == 0 {
		c.n = 0
		p.free <- c
	}
}

func (p *pipeline) writer() {
	defer p.wg.Done()
	var since int64
	f, _ := p.w.(*os.File)
	for c := range p.write {
		if p.err() == nil {
			if _, err := p.w.Write(c.buf[:c.n]); err != nil {
				err = &writeError{err}
				p.werr.Store(&err)
			} else {
				since += int64(c.n)
				p.written += int64(c.n)
				if since >= writebackEvery && f != nil {
					startWriteback(f, p.written-since, since)
					since = 0
				}
			}
		}
		p.release(c)
	}
}

func (p *pipeline) hasher() {
	defer p.wg.Done()
	for c := range p.hash {
		p.h.Write(c.buf[:c.n])
		p.release(c)
	}
}
