package update

import (
	"context"
	"io"
	"sync/atomic"
	"time"

	"github.com/molt-go/update/internal/httpx"
)

// The stall watchdog's defaults. A download that moves less than
// defaultStallBytes in defaultStallInterval is not a slow link but a stuck
// or hostile one (a mirror trickling a byte a second would take 194 days
// for a 16 MiB file): the attempt is cut and resumed from the last byte, as
// after a broken connection. 16 KiB in 30 s is about 550 bytes/s, far
// below any real link, and 30 s outlasts a server's garbage collection or a
// Wi-Fi roam.
const (
	defaultStallInterval       = 30 * time.Second
	defaultStallBytes    int64 = 16 << 10
)

// stallWatch cancels one download attempt when it makes too little
// progress in an interval.
type stallWatch struct {
	n       atomic.Int64 // bytes read so far
	stalled atomic.Bool
}

// watch starts the watchdog over rc, read under the returned context; stop
// ends it. On a stall it cancels the context and closes rc, so that a Read
// blocked in the network returns at once.
func (u *Updater) watch(ctx context.Context, rc io.Closer) (context.Context, *stallWatch, func()) {
	ctx, cancel := context.WithCancel(ctx)
	w := &stallWatch{}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(u.o.StallInterval)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				now := w.n.Load()
				if sk, ok := rc.(httpx.Skipper); ok {
					// Bytes a server that ignored Range resends before
					// the new ones are progress too, and must be as brisk.
					now += sk.Skipped()
				}
				if now-last < u.o.StallBytes {
					w.stalled.Store(true)
					cancel()
					rc.Close()
					return
				}
				last = now
			}
		}
	}()
	return ctx, w, func() { close(done); cancel() }
}

// reader counts what r reads for the watchdog.
func (w *stallWatch) reader(r io.Reader) io.Reader { return &countingReader{r: r, n: &w.n} }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
