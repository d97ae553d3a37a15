package delta

import (
	"context"
	"fmt"
	"hash"
	"io"
)

// sink hashes and writes Apply's output blocks in a goroutine of its own,
// while the next block decodes: hashing and writing (sha256 here, and
// whatever the caller's writer does, a file's write for the updater) are a
// third of the work of applying a patch to a Go binary, and with two
// cores they cost no time. Two block buffers take turns, so the output
// waits in memory one block at most.
type sink struct {
	ctx  context.Context // once done, nothing more is written
	hash hash.Hash
	out  io.Writer
	size int           // the buffers' size
	made int           // buffers made so far, at most 2
	full chan []byte   // blocks to hash and write, in order
	free chan freed    // buffers back from the writer, with its first error
	done chan struct{} // closed when the writer has stopped
	err  error         // the writer's first error; read after done or from free
}

// freed is a buffer the writer is done with, and the first error it has
// met so far (it goes on taking blocks after one, and writes none).
type freed struct {
	buf []byte
	err error
}

func newSink(ctx context.Context, h hash.Hash, out io.Writer, size int) *sink {
	s := &sink{ctx: ctx, hash: h, out: out, size: size, full: make(chan []byte, 2), free: make(chan freed, 2), done: make(chan struct{})}
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
			s.hash.Write(b)
			if _, werr := s.out.Write(b); werr != nil {
				err = fmt.Errorf("delta: writing output: %w", werr)
			}
		}
		s.free <- freed{b[:cap(b)], err}
	}
	s.err = err
}

// buffer returns a block buffer to decode into: a new one while fewer than
// two exist, else the one the writer gives back next. It fails with the
// writer's error, if it has met one.
func (s *sink) buffer() ([]byte, error) {
	if s.made < 2 {
		select {
		case f := <-s.free:
			return f.buf, f.err
		default:
			s.made++
			return make([]byte, s.size), nil
		}
	}
	f := <-s.free
	return f.buf, f.err
}

// send hands a decoded block to the writer.
func (s *sink) send(b []byte) { s.full <- b }

// close waits for the writer to finish every block sent, and returns its
// first error. Apply calls it before it returns, on every path: nothing
// is written to out after Apply has returned.
func (s *sink) close() error {
	close(s.full)
	<-s.done
	return s.err
}
