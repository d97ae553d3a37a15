package httpx

import (
	"fmt"
	"io"
	"sync/atomic"

	"github.com/molt-go/update/source"
)

// Skipper is what ResumeBody returns for a server that ignored Range: a
// body that first reads and drops the bytes the caller already has.
// Skipped counts them as they go, so that a stall watchdog sees that
// skipping moves (a slow mirror is not a stuck one) and can cut one that
// trickles them: the skip happens in Read, under the reader's deadline,
// not before the caller could start watching.
type Skipper interface {
	io.ReadCloser
	Skipped() int64
}

// skipper drops the first left bytes of body.
type skipper struct {
	body    io.ReadCloser
	left    int64
	skipped atomic.Int64
}

func (s *skipper) Skipped() int64 { return s.skipped.Load() }

func (s *skipper) Close() error { return s.body.Close() }

func (s *skipper) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for s.left > 0 {
		// p is the caller's to overwrite, so it serves as the scratch.
		n, err := s.body.Read(p[:min(int64(len(p)), s.left)])
		s.left -= int64(n)
		s.skipped.Add(int64(n))
		if err == io.EOF && s.left > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("skipping %d bytes the server did not range: %w: %w", s.left+s.skipped.Load(), source.ErrUnavailable, err)
		}
	}
	return s.body.Read(p)
}
