//go:build unix

package restart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// The handoff tests run real processes: the test binary, re-executed with
// handoffRoleEnv set, becomes one of the programs below instead of running
// tests. init is used rather than TestMain so that other test files of the
// package stay free to have their own.
const (
	handoffRoleEnv    = "MOLT_HANDOFF_TEST_ROLE"    // which program to be
	handoffDirEnv     = "MOLT_HANDOFF_TEST_DIR"     // where to write the pid files
	handoffVersionEnv = "MOLT_HANDOFF_TEST_VERSION" // what the server answers
	handoffTimeoutEnv = "MOLT_HANDOFF_TEST_TIMEOUT" // the server's ReadyTimeout
	handoffAddrEnv    = "MOLT_HANDOFF_TEST_ADDR"    // the address the echo program listens on
	handoffProbEnv    = "MOLT_HANDOFF_TEST_PROB"    // the server's Probation
)

// handoffSafetyNet ends a helper program that a failed test forgot, so that
// no process outlives the test run for long.
const handoffSafetyNet = 2 * time.Minute

func init() {
	role := os.Getenv(handoffRoleEnv)
	if role == "" {
		return
	}
	time.AfterFunc(handoffSafetyNet, func() { os.Exit(4) })
	switch role {
	case "server":
		handoffServerMain()
	case "exit1":
		os.Exit(1)
	case "crashlater":
		// A server that serves, is ready, and dies half a second after it
		// started: within its parent's probation.
		time.AfterFunc(500*time.Millisecond, func() { os.Exit(3) })
		handoffServerMain()
	case "hang":
		handoffHangMain()
	case "echo":
		handoffEchoMain()
	}
	fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
	os.Exit(5)
}

func handoffFatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "helper %d: "+format+"\n", append([]any{os.Getpid()}, args...)...)
	os.Exit(2)
}

// handoffUpgradeResult is the server's handoffAnswer to POST /upgrade.
type handoffUpgradeResult struct {
	OK          bool   `json:"ok"`
	ChildExited bool   `json:"childExited"`
	NotReady    bool   `json:"notReady"`
	ExitCode    int    `json:"exitCode"`
	Err         string `json:"err"`
}

// handoffServerInfo is the server's handoffAnswer to GET /info.
type handoffServerInfo struct {
	PID     int    `json:"pid"`
	Version string `json:"version"`
	Early   int64  `json:"early"` // requests answered before Ready returned
}

// handoffServerMain is a small zero-downtime HTTP server. GET / answers its
// version after a short pause, so that requests are in flight during a
// handoff; POST /upgrade?role=R&version=V restarts it into role R at
// version V and reports the outcome; SIGTERM stops it.
func handoffServerMain() {
	dir := os.Getenv(handoffDirEnv)
	version := os.Getenv(handoffVersionEnv)
	timeout, _ := time.ParseDuration(os.Getenv(handoffTimeoutEnv))
	probation, _ := time.ParseDuration(os.Getenv(handoffProbEnv))
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("version", version, "self", os.Getpid())
	h, err := NewHandoff(HandoffOptions{
		ReadyTimeout: timeout,
		Probation:    probation,
		PIDFile:      filepath.Join(dir, "server.pid"),
		Logger:       log,
	})
	if err != nil {
		handoffFatal("NewHandoff: %v", err)
	}
	ln, err := h.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		handoffFatal("Listen: %v", err)
	}
	var next atomic.Pointer[[]string]
	h.env.environ = func() []string {
		env := os.Environ()
		if p := next.Load(); p != nil {
			env = append(env, *p...)
		}
		return env
	}

	var readyDone atomic.Bool
	var early atomic.Int64
	// The gate opens inside Ready, a moment before it returns: a request
	// served in that moment is not early, so look at the gate itself.
	gateOpen := func() bool {
		select {
		case <-h.open:
			return true
		default:
			return false
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if !readyDone.Load() && !gateOpen() {
			early.Add(1)
		}
		time.Sleep(2 * time.Millisecond)
		fmt.Fprint(w, version)
	})
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(handoffServerInfo{PID: os.Getpid(), Version: version, Early: early.Load()})
	})
	mux.HandleFunc("POST /upgrade", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		env := []string{handoffRoleEnv + "=" + q.Get("role"), handoffVersionEnv + "=" + q.Get("version")}
		next.Store(&env)
		exe, err := os.Executable()
		if err == nil {
			_, err = h.Restart(r.Context(), exe)
		}
		res := handoffUpgradeResult{
			OK:          err == nil,
			ChildExited: errors.Is(err, ErrChildExited),
			NotReady:    errors.Is(err, ErrNotReady),
			ExitCode:    -1,
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			res.ExitCode = ee.ExitCode()
		}
		if err != nil {
			res.Err = err.Error()
		}
		json.NewEncoder(w).Encode(res)
	})
	srv := &http.Server{Handler: mux, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	drainer := NewHTTPDrainer(srv)
	go drainer.Serve(ln)
	if err := h.Ready(); err != nil {
		handoffFatal("Ready: %v", err)
	}
	readyDone.Store(true)
	if !h.HasParent() {
		fmt.Printf("addr %s\n", ln.Addr())
	}

	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	select {
	case <-h.Exit():
		log.Info("handed off; draining")
	case <-term:
		log.Info("terminated")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = drainer.Drain(ctx, ln)
	h.Stop()
	if err != nil {
		handoffFatal("Drain: %v", err)
	}
	log.Info("drained; exiting")
	os.Exit(0)
}

// handoffHangMain is a new version that never calls Ready. It writes its pid
// so that the test can check it was killed.
func handoffHangMain() {
	h, err := NewHandoff(HandoffOptions{})
	if err != nil {
		handoffFatal("NewHandoff: %v", err)
	}
	if !h.HasParent() {
		handoffFatal("hang: started without a parent")
	}
	if err := writeHandoffPIDFile(filepath.Join(os.Getenv(handoffDirEnv), "hang.pid"), os.Getpid()); err != nil {
		handoffFatal("pid file: %v", err)
	}
	select {}
}

// handoffEchoMain is a new version that takes over the listener named by
// handoffAddrEnv, calls Ready, answers one connection with its pid and exits.
func handoffEchoMain() {
	h, err := NewHandoff(HandoffOptions{})
	if err != nil {
		handoffFatal("NewHandoff: %v", err)
	}
	if !h.HasParent() {
		handoffFatal("echo: started without a parent")
	}
	ln, err := h.Listen("tcp", os.Getenv(handoffAddrEnv))
	if err != nil {
		handoffFatal("Listen: %v", err)
	}
	if err := h.Ready(); err != nil {
		handoffFatal("Ready: %v", err)
	}
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		handoffFatal("Accept: %v", err)
	}
	fmt.Fprintf(c, "echo %s\n", strconv.Itoa(os.Getpid()))
	c.Close()
	h.Stop()
	os.Exit(0)
}
