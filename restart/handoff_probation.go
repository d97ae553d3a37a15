package restart

import (
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// This file is the probation of a handoff (HandoffOptions.Probation): the
// new process's side, which waits for the old one's go before accepting,
// and the PID file that the old one takes back when a handoff fails.

// awaitGo blocks until the old process ends the probation, then opens the
// inherited listeners. An EOF instead of the go byte means the old process
// is gone (it crashed, or was killed): nobody else serves, so this process
// takes over at once.
func (h *Handoff) awaitGo() {
	defer close(h.open)
	defer h.goPipe.Close()
	h.log.Info("handoff: ready; on probation while the old process serves")
	var b [1]byte
	if n, err := io.ReadFull(h.goPipe, b[:]); n != 1 || b[0] != handoffGoByte {
		h.log.Warn("handoff: the old process went away during probation; serving now", "err", err)
	}
}

// reclaimPIDFile writes this process's pid back to the PID file after a
// failed handoff, since the new process may have written its own before it
// died. It does so only if Ready had written it in the first place.
func (h *Handoff) reclaimPIDFile() {
	if h.opts.PIDFile == "" || !h.readied.Load() {
		return
	}
	self := strconv.Itoa(os.Getpid())
	if b, err := os.ReadFile(h.opts.PIDFile); err == nil && strings.TrimSpace(string(b)) == self {
		return
	}
	if err := writeHandoffPIDFile(h.opts.PIDFile, os.Getpid()); err != nil {
		h.log.Warn("handoff: write the PID file back", "err", err)
	}
}

// gatedListener is an inherited listener during probation: Accept waits
// until open is closed, so that connections queued on the shared socket go
// to the old process until the new one is let in. Closing it ends a waiting
// Accept.
type gatedListener struct {
	net.Listener
	open      <-chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func newGatedListener(ln net.Listener, open <-chan struct{}) *gatedListener {
	return &gatedListener{Listener: ln, open: open, closed: make(chan struct{})}
}

// Accept waits for the end of probation, then accepts.
func (g *gatedListener) Accept() (net.Conn, error) {
	select {
	case <-g.open:
	case <-g.closed:
		return nil, &net.OpError{Op: "accept", Net: g.Addr().Network(), Addr: g.Addr(), Err: net.ErrClosed}
	}
	return g.Listener.Accept()
}

// Close closes the listener and ends a waiting Accept.
func (g *gatedListener) Close() error {
	g.closeOnce.Do(func() { close(g.closed) })
	return g.Listener.Close()
}
