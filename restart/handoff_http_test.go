package restart

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
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
	go srv.Serve(ln)
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
