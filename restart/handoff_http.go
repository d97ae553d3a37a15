package restart

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// HTTPDrainer lets an http.Server that has handed off finish every request
// it accepted, without dropping one.
//
// http.Server.Shutdown is not enough after a handoff: a connection accepted
// just before Shutdown began, whose request is read just after, is closed
// without an answer, and under load some clients see an EOF. Drain instead
// stops accepting (the socket lives on in the new process), turns
// keep-alives off so that every connection ends after its current request,
// waits until all have ended, and only then shuts the server down.
type HTTPDrainer struct {
	srv *http.Server

	mu      sync.Mutex
	open    map[net.Conn]struct{}
	changed chan struct{} // closed and replaced whenever a connection ends
}

// NewHTTPDrainer makes srv count its connections; call it before Serve. It
// chains srv.ConnState, which must not be changed afterwards.
func NewHTTPDrainer(srv *http.Server) *HTTPDrainer {
	d := &HTTPDrainer{srv: srv, open: make(map[net.Conn]struct{}), changed: make(chan struct{})}
	next := srv.ConnState
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		d.track(c, st)
		if next != nil {
			next(c, st)
		}
	}
	return d
}

func (d *HTTPDrainer) track(c net.Conn, st http.ConnState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch st {
	case http.StateNew:
		d.open[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(d.open, c)
		close(d.changed)
		d.changed = make(chan struct{})
	}
}

// Drain closes listeners (those srv serves on), lets every open connection
// finish its request, and shuts srv down. If ctx ends first, srv is shut
// down at once and ctx's error returned.
func (d *HTTPDrainer) Drain(ctx context.Context, listeners ...net.Listener) error {
	for _, ln := range listeners {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
	}
	d.srv.SetKeepAlivesEnabled(false) // also closes idle connections
	for {
		d.mu.Lock()
		n, changed := len(d.open), d.changed
		d.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			d.srv.Close()
			return ctx.Err()
		}
	}
	err := d.srv.Shutdown(ctx)
	if errors.Is(err, net.ErrClosed) { // the listeners closed above
		err = nil
	}
	return err
}
