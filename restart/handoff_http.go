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
// stops accepting (the socket lives on in the new process), waits until the
// server has taken in every connection it accepted, turns keep-alives off
// so that every connection ends after its current request, waits until all
// have ended, and only then shuts the server down.
//
// Serve through the drainer (d.Serve(ln), not srv.Serve(ln)): a connection
// that Accept has returned but that the server has not yet counted is then
// waited for, where otherwise Drain could find no connection open and shut
// the server down under it.
type HTTPDrainer struct {
	srv     *http.Server
	serving sync.WaitGroup // calls of Serve not yet returned

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

// Serve calls srv.Serve(ln), and lets Drain know when it has returned:
// then every connection it accepted is counted. It returns what Serve
// returns; after Drain that is an error wrapping net.ErrClosed.
func (d *HTTPDrainer) Serve(ln net.Listener) error {
	d.serving.Add(1)
	defer d.serving.Done()
	return d.srv.Serve(ln)
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

// Drain closes listeners (every one srv serves on), waits for the calls of
// Serve to return, lets every open connection finish its request, and shuts
// srv down. If ctx ends first, srv is shut down at once and ctx's error
// returned.
func (d *HTTPDrainer) Drain(ctx context.Context, listeners ...net.Listener) error {
	for _, ln := range listeners {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
	}
	served := make(chan struct{})
	go func() { d.serving.Wait(); close(served) }()
	select {
	case <-served:
	case <-ctx.Done():
		d.srv.Close()
		return ctx.Err()
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
