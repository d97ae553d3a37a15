package restart

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// slowServer serves GET / on 127.0.0.1, answering "done" once release is
// closed; entered receives a value when a request is in the handler.
func slowServer(t *testing.T) (srv *http.Server, ln net.Listener, d *HTTPDrainer, entered chan struct{}, release chan struct{}) {
	t.Helper()
	entered, release = make(chan struct{}, 1), make(chan struct{})
	srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		io.WriteString(w, "done")
	})}
	d = NewHTTPDrainer(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go d.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv, ln, d, entered, release
}

func TestHTTPDrainerFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	_, ln, d, entered, release := slowServer(t)
	body := make(chan string, 1)
	go func() {
		resp, err := new(http.Client).Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			body <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body <- string(b)
	}()
	<-entered
	drained := make(chan error, 1)
	go func() { drained <- d.Drain(context.Background(), ln) }()
	close(release)
	if got := <-body; got != "done" {
		t.Errorf("request in flight during Drain got %q, want done", got)
	}
	if err := <-drained; err != nil {
		t.Errorf("Drain: %v", err)
	}
}

func TestHTTPDrainerGivesUpWithContext(t *testing.T) {
	t.Parallel()
	_, ln, d, entered, release := slowServer(t)
	defer close(release)
	failed := make(chan error, 1)
	go func() {
		resp, err := new(http.Client).Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
		failed <- err
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Drain(ctx, ln); !errors.Is(err, context.Canceled) {
		t.Errorf("Drain with a cancelled context: %v, want context.Canceled", err)
	}
	if err := <-failed; err == nil {
		t.Error("a request outliving the drain deadline was answered")
	}
}

// lateListener hands out one connection, then reports closed once closed.
type lateListener struct {
	conn      net.Conn
	accepted  chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	calls     int
}

func (l *lateListener) Accept() (net.Conn, error) {
	l.calls++
	if l.calls == 1 {
		close(l.accepted)
		return l.conn, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *lateListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *lateListener) Addr() net.Addr { return l.conn.LocalAddr() }

// TestHTTPDrainerWaitsForAcceptedConnection: a connection that Accept had
// returned, but that the server had not yet counted when Drain began, is
// answered rather than closed by the shutdown.
func TestHTTPDrainerWaitsForAcceptedConnection(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := inner.Accept()
	inner.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(client, "GET / HTTP/1.1\r\nHost: drain\r\n\r\n"); err != nil {
		t.Fatal(err)
	}

	ln := &lateListener{conn: server, accepted: make(chan struct{}), closed: make(chan struct{})}
	shutdown := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "done")
	})}
	srv.RegisterOnShutdown(func() { close(shutdown) })
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		// Hold the connection between Accept and the server's count of it
		// until Shutdown begins, which a correct Drain does not start
		// before Serve has returned; the bound only keeps a correct Drain
		// from waiting for ever.
		select {
		case <-shutdown:
		case <-time.After(200 * time.Millisecond):
		}
		return ctx
	}
	d := NewHTTPDrainer(srv)
	t.Cleanup(func() { srv.Close() })
	go d.Serve(ln)
	<-ln.accepted
	if err := d.Drain(context.Background(), ln); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	client.SetDeadline(time.Now().Add(time.Minute)) // a bound, not a measure
	resp, err := http.ReadResponse(bufio.NewReader(client), nil)
	if err != nil {
		t.Fatalf("the accepted connection got no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "done" {
		t.Errorf("answer %s %q, want 200 done", resp.Status, body)
	}
}
