package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/molt-go/update/restart"
)

// runExec is the daemon with -restart exec: no second process, but an
// exec in place that keeps the listening socket open across it. New
// connections wait in the kernel's queue while the program restarts;
// requests in flight finish first (HTTPDrainer.Drain); the new version takes the
// socket back with restart.ExecListen. It is simpler than a handoff, and
// its only cost is that requests pause for the length of the exec.
func runExec(c config, log *slog.Logger) error {
	ln, err := restart.ExecListen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(), ReadHeaderTimeout: 10 * time.Second}
	// The drainer, not srv.Shutdown: Shutdown closes a kept-alive
	// connection whose next request is already on its way, and that client
	// sees an empty reply; the drainer answers it first.
	drainer := restart.NewHTTPDrainer(srv)
	ex := restart.Exec{
		Shutdown:  func(ctx context.Context) error { return drainer.Drain(ctx, ln) },
		Listeners: []restart.Addressed{{Listener: ln, Network: "tcp", Address: c.addr}},
	}
	u, err := newUpdater(c, ex, log)
	if err != nil {
		return err
	}
	go drainer.Serve(ln)
	fmt.Printf("daemon %s serving on http://%s\n", version, ln.Addr())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	if c.interval > 0 {
		go u.Watch(ctx, c.interval)
	}
	go checkOnHangup(ctx, u, hup, log)
	go confirmWhenServing(ctx, u, ln.Addr().String(), log)

	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, os.Interrupt)
	sig := <-term
	log.Info("daemon: stopping", "signal", sig.String())
	cancel()
	drainCtx, stop := context.WithTimeout(context.Background(), c.drainTime)
	defer stop()
	return srv.Shutdown(drainCtx)
}
