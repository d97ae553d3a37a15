// Command daemon is an HTTP server that updates itself with zero downtime.
//
//	daemon -addr 127.0.0.1:8080 -feed URL -key update.pub -state DIR
//
// GET / answers "daemon <version>". The daemon checks the feed every
// -interval, and at once on SIGHUP (systemd's ExecReload). A new version
// is downloaded, verified, probed and installed, then started through a
// listener handoff: it inherits the listening socket, says it is ready, is
// held on probation while this process serves alone, and takes over; this
// process then finishes its requests and exits. The new version confirms
// itself once it has answered a request on its own socket. A version that
// crashes before taking over is reverted at once; one that does not
// confirm within -confirm-timeout is rolled back by a handoff to the
// previous binary. Either way no request fails, and that release is never
// tried again. SIGTERM drains and exits.
//
// Build it with its version set at link time:
//
//	go build -ldflags "-X main.version=1.2.0" ./examples/daemon
//
// Under systemd, point PIDFile= at the -pidfile so that the unit follows
// the handoff (see restart.Handoff).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/restart"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

var version = "0.0.0"

type config struct {
	addr, feed, key, state, pidFile    string
	restart                            string
	interval, confirmTimeout           time.Duration
	readyTimeout, probation, drainTime time.Duration
}

func main() {
	// Answer the updater's probe before anything else: the probe runs a
	// staged copy of this program and asks its version.
	update.AnswerProbe(version)

	var c config
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to serve on")
	flag.StringVar(&c.feed, "feed", "", "URL of the signed feed, e.g. http://127.0.0.1:9000/daemon/")
	flag.StringVar(&c.key, "key", "", "PEM public key the feed is signed with")
	flag.StringVar(&c.state, "state", "", "updater state directory (default: the user config dir)")
	flag.StringVar(&c.pidFile, "pidfile", "", "PID file that follows the handoff (for systemd's PIDFile=)")
	flag.DurationVar(&c.interval, "interval", 10*time.Minute, "how often to check for updates (0: only on SIGHUP)")
	flag.DurationVar(&c.confirmTimeout, "confirm-timeout", time.Minute, "roll a new version back if it has not confirmed within this")
	flag.DurationVar(&c.readyTimeout, "ready-timeout", 30*time.Second, "how long a new version has to become ready")
	flag.DurationVar(&c.probation, "probation", 2*time.Second, "how long a ready new version waits while this one serves")
	flag.DurationVar(&c.drainTime, "drain", 30*time.Second, "how long requests in flight may take after a handoff")
	flag.StringVar(&c.restart, "restart", "handoff", "how a new version starts: handoff (a second process takes the listener over) or exec (in place, the socket kept open)")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("app", "daemon", "version", version, "pid", os.Getpid())
	runner := run
	if c.restart == "exec" {
		runner = runExec
	}
	if err := runner(c, log); err != nil {
		log.Error("daemon: " + err.Error())
		os.Exit(1)
	}
}

func run(c config, log *slog.Logger) error {
	h, err := restart.NewHandoff(restart.HandoffOptions{
		ReadyTimeout: c.readyTimeout,
		Probation:    c.probation,
		PIDFile:      c.pidFile,
		Logger:       log,
	})
	if err != nil {
		return err
	}
	defer h.Stop()
	// Taken before the PID file names us, so that an early SIGHUP asks for
	// a check instead of ending the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	u, err := newUpdater(c, h, log)
	if errors.Is(err, update.ErrRolledBack) && handedOver(h) {
		// New finished a rollback that an earlier run left and handed over
		// to the previous version, which serves now.
		log.Info("daemon: rolled back; the previous version took over", "err", err)
		return nil
	}
	if err != nil {
		return err
	}

	ln, err := h.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(), ReadHeaderTimeout: 10 * time.Second}
	drainer := restart.NewHTTPDrainer(srv)
	go drainer.Serve(ln)
	fmt.Printf("daemon %s serving on http://%s\n", version, ln.Addr())
	// Ready blocks while the previous version holds us on probation.
	if err := h.Ready(); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if c.interval > 0 {
		go u.Watch(ctx, c.interval)
	}
	go checkOnHangup(ctx, u, hup, log)
	go confirmWhenServing(ctx, u, ln.Addr().String(), log)

	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, os.Interrupt)
	select {
	case <-h.Exit():
		log.Info("daemon: a new version took over; draining")
	case sig := <-term:
		log.Info("daemon: stopping", "signal", sig.String())
	}
	cancel()
	drainCtx, stop := context.WithTimeout(context.Background(), c.drainTime)
	defer stop()
	return drainer.Drain(drainCtx, ln)
}

func newUpdater(c config, r restart.Restarter, log *slog.Logger) (*update.Updater, error) {
	if c.feed == "" || c.key == "" {
		return nil, errors.New("-feed and -key are required")
	}
	pem, err := os.ReadFile(c.key)
	if err != nil {
		return nil, fmt.Errorf("reading the public key: %w", err)
	}
	keys, err := verify.Signature(pem)
	if err != nil {
		return nil, err
	}
	return update.New(update.Options{
		App:            "daemon",
		Version:        version,
		Source:         feed.New(c.feed),
		Verifier:       keys,
		StateDir:       c.state,
		Restarter:      r,
		ConfirmTimeout: c.confirmTimeout,
		Logger:         log,
	})
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "daemon %s\n", version)
	})
	return mux
}

func handedOver(h *restart.Handoff) bool {
	select {
	case <-h.Exit():
		return true
	default:
		return false
	}
}

// checkOnHangup checks for an update whenever SIGHUP comes.
func checkOnHangup(ctx context.Context, u *update.Updater, hup <-chan os.Signal, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if _, err := u.Check(ctx); err != nil && ctx.Err() == nil {
				log.Warn("daemon: check on SIGHUP failed", "err", err)
			}
		}
	}
}
