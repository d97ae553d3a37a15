package restart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/molt-go/update/internal/atomicfile"
)

// Errors returned by Handoff, to be tested with errors.Is.
var (
	// ErrChildExited means the new process exited before it called Ready;
	// the error also carries its exit status. The old process still serves.
	ErrChildExited = errors.New("restart: new process exited before it was ready")
	// ErrNotReady means the new process did not call Ready within
	// ReadyTimeout, or before the context ended; it was killed and the old
	// process still serves.
	ErrNotReady = errors.New("restart: new process did not become ready")
	// ErrInProgress means another Restart of the same Handoff is under way.
	ErrInProgress = errors.New("restart: a handoff is already in progress")
	// ErrHandedOff means this process has already handed its listeners to a
	// new one and must drain and exit.
	ErrHandedOff = errors.New("restart: already handed off to a new process")
	// ErrStopped means Stop was called.
	ErrStopped = errors.New("restart: handoff stopped")
)

// DefaultReadyTimeout is how long a new process has to call Ready when
// HandoffOptions.ReadyTimeout is zero.
const DefaultReadyTimeout = 30 * time.Second

// handoffEnvVar names the environment variable through which the old process
// tells the new one which of its file descriptors are what.
const handoffEnvVar = "MOLT_HANDOFF"

// handoffReadyByte is what the new process writes on the ready pipe;
// handoffGoByte is what the old process writes on the go pipe when the new
// process has passed its probation.
const (
	handoffReadyByte = 'R'
	handoffGoByte    = 'G'
)

// HandoffOptions configures a Handoff. The zero value works.
type HandoffOptions struct {
	// ReadyTimeout is how long the new process has to call Ready before
	// it is killed and Restart fails with ErrNotReady. If zero,
	// DefaultReadyTimeout (30s) is used.
	ReadyTimeout time.Duration
	// Probation is how long the old process goes on serving alone after
	// the new one has called Ready, before it lets the new one accept and
	// hands over. A new version that crashes during probation (a panic a
	// second after start, a failed dependency) never takes a connection:
	// Restart returns ErrChildExited and the old process serves on. While
	// on probation the new process's Ready blocks and the listeners it
	// inherited accept nothing. Restart takes up to ReadyTimeout plus
	// Probation. If zero, there is no probation: the old process hands over
	// as soon as the new one is ready.
	Probation time.Duration
	// PIDFile, if set, is written atomically with this process's pid when
	// Ready is called, before the old process is told, so that a supervisor
	// watching it (systemd's PIDFile=) follows the handoff. If the handoff
	// then fails, the old process writes its own pid back. A relative path
	// is resolved against the working directory at NewHandoff. If empty, no
	// file is written.
	PIDFile string
	// Logger receives what the handoff does. If nil, slog.Default() is used.
	Logger *slog.Logger
}

// Handoff restarts a server with zero downtime: the new version inherits the
// listening sockets of the old one, so no connection is refused while both
// run, and the old process stops accepting only once the new one has said,
// by calling Ready, that it serves.
//
// A server creates one Handoff at startup, opens its listeners through
// Listen (a restarted process gets the sockets its parent passed), calls
// Ready once it serves, and waits on Exit to drain and exit:
//
//	h, err := restart.NewHandoff(restart.HandoffOptions{PIDFile: "/run/hello.pid"})
//	ln, err := h.Listen("tcp", ":8080")
//	drainer := restart.NewHTTPDrainer(srv)
//	go drainer.Serve(ln)
//	h.Ready()
//	<-h.Exit()             // a new version took over (after h.Restart)
//	drainer.Drain(ctx, ln) // finish the requests in flight
//	h.Stop()
//
// Under systemd, let the unit follow the pid through its PID file and send
// the restart with a signal the program turns into an update check:
//
//	[Service]
//	Type=simple
//	ExecStart=/opt/hello/current/hello
//	PIDFile=/run/hello.pid
//	ExecReload=/bin/kill -HUP $MAINPID
//
// When the old main process exits, systemd reads the PID file again and
// adopts the process named there as the service's main process; Ready
// writes it before the old process is told to go. Type=forking works the
// same way. Without PIDFile=, systemd would take the old process's exit for
// the service's end and stop the new one.
//
// # Probation
//
// Ready only says that the new process started. A release that fails a
// moment later (a panic in a background goroutine, a dependency that drops
// it) would, once handed over, take the service down with it and drop the
// requests it holds. With HandoffOptions.Probation the old process keeps
// serving alone for that long after Ready: the new process holds the
// listeners but its Ready blocks and its inherited listeners accept
// nothing. If it exits meanwhile, Restart returns ErrChildExited and no
// client noticed; otherwise the old process says go (over a second pipe),
// the new process's Ready returns and it starts accepting, and the old
// process drains and exits. The new process learns of the probation from
// its parent, so only the old process's option counts.
//
// A failure after probation is no longer the handoff's business: the
// updater's confirm deadline (update.Options.ConfirmTimeout) and start
// count roll such a release back.
//
// Handoff works on Unix systems; on Windows NewHandoff returns ErrUnsupported.
type Handoff struct {
	opts HandoffOptions
	log  *slog.Logger
	env  handoffEnv

	parent    *os.File      // write end of the parent's ready pipe; nil without a parent
	goPipe    *os.File      // read end of the parent's go pipe; nil unless on probation
	open      chan struct{} // closed when inherited listeners may accept; nil unless on probation
	readyOnce sync.Once
	readyErr  error
	readied   atomic.Bool // Ready wrote this process's pid to PIDFile

	exit     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	running  sync.WaitGroup // the Restart in flight, so Stop closes files only after it

	mu         sync.Mutex
	restarting bool
	handedOff  bool
	stopped    bool
	inherited  map[handoffKey]*os.File // passed by the parent, not yet claimed by Listen
	passing    map[handoffKey]*os.File // our own copies of the listeners, to pass on
	unlink     []string                // Unix socket paths we created, removed by Stop without a handoff
}

var _ Restarter = (*Handoff)(nil)

// handoffEnv is what Handoff takes from the process, so tests can fake it.
type handoffEnv struct {
	getenv   func(string) string
	unsetenv func(string) error
	environ  func() []string // environment of the new process, before the handoff variable
	args     []string        // arguments of the new process after its name
	getppid  func() int
}

func osHandoffEnv() handoffEnv {
	return handoffEnv{
		getenv:   os.Getenv,
		unsetenv: os.Unsetenv,
		environ:  os.Environ,
		args:     os.Args[1:],
		getppid:  os.Getppid,
	}
}

// handoffKey names a listener: the network and address given to Listen.
type handoffKey struct {
	Network string `json:"network"`
	Addr    string `json:"addr"`
}

func (k handoffKey) String() string { return k.Network + ":" + k.Addr }

// handoffMessage is what the handoff environment variable holds.
type handoffMessage struct {
	PPID      int               `json:"ppid"`         // the old process, to ignore a variable meant for another process
	Ready     int               `json:"ready"`        // fd of the ready pipe
	Go        int               `json:"go,omitempty"` // fd of the go pipe, when the old process holds a probation
	Listeners []handoffListener `json:"listeners"`
}

type handoffListener struct {
	handoffKey
	FD int `json:"fd"`
}

// NewHandoff returns the Handoff of this process. If the process was started
// by Restart, it takes over the listeners its parent passed; they are
// claimed with Listen, and those not claimed by Ready are closed. Create one
// Handoff per process.
func NewHandoff(o HandoffOptions) (*Handoff, error) {
	return newHandoff(o, osHandoffEnv())
}

func newHandoff(o HandoffOptions, env handoffEnv) (*Handoff, error) {
	if err := handoffSupported(); err != nil {
		return nil, err
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PIDFile != "" {
		abs, err := filepath.Abs(o.PIDFile)
		if err != nil {
			return nil, fmt.Errorf("restart: PID file: %w", err)
		}
		o.PIDFile = abs
	}
	h := &Handoff{
		opts:      o,
		log:       o.Logger,
		env:       env,
		exit:      make(chan struct{}),
		stop:      make(chan struct{}),
		inherited: make(map[handoffKey]*os.File),
		passing:   make(map[handoffKey]*os.File),
	}
	if err := h.inherit(); err != nil {
		return nil, err
	}
	return h, nil
}

// inherit takes the file descriptors that the parent described in the
// environment. The variable is removed first, so that a program exec'd in
// place or a child started otherwise never mistakes other descriptors for
// these.
func (h *Handoff) inherit() error {
	raw := h.env.getenv(handoffEnvVar)
	if raw == "" {
		return nil
	}
	if err := h.env.unsetenv(handoffEnvVar); err != nil {
		return fmt.Errorf("restart: clear %s: %w", handoffEnvVar, err)
	}
	var m handoffMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return fmt.Errorf("restart: read %s: %w", handoffEnvVar, err)
	}
	if m.PPID != h.env.getppid() {
		// The variable leaked to a process that the old one did not start
		// through Restart; its descriptors are not ours to touch.
		h.log.Warn("handoff: ignoring listeners passed to another process", "ppid", m.PPID)
		return nil
	}
	if m.Ready < 3 {
		return fmt.Errorf("restart: %s: bad ready descriptor %d", handoffEnvVar, m.Ready)
	}
	if m.Go != 0 && m.Go < 3 {
		return fmt.Errorf("restart: %s: bad go descriptor %d", handoffEnvVar, m.Go)
	}
	h.parent = handoffInheritFile(m.Ready, "handoff-ready")
	if m.Go != 0 {
		h.goPipe = handoffInheritFile(m.Go, "handoff-go")
		h.open = make(chan struct{})
	}
	for _, l := range m.Listeners {
		if l.FD < 3 {
			return fmt.Errorf("restart: %s: bad descriptor %d for %s", handoffEnvVar, l.FD, l.handoffKey)
		}
		h.inherited[l.handoffKey] = handoffInheritFile(l.FD, l.handoffKey.String())
	}
	h.log.Info("handoff: started by the previous process", "ppid", m.PPID, "listeners", len(m.Listeners), "probation", m.Go != 0)
	return nil
}

// HasParent reports whether this process was started by Restart, and so has
// a parent waiting for Ready.
func (h *Handoff) HasParent() bool { return h.parent != nil }

// Exit returns a channel that is closed once Restart has handed the
// listeners to a new process that is ready: this process must then stop
// accepting, finish what is in flight and exit. Stop does not close it.
func (h *Handoff) Exit() <-chan struct{} { return h.exit }

// Listen returns the listener the parent passed under the same network and
// address, or else a new one, and remembers it so that Restart passes it on.
// An address with port 0 is matched as written, so the new process gets the
// same port its parent was given. The caller owns and closes the listener;
// closing it does not affect a copy that was passed on. While the parent
// holds this process on probation, an inherited listener is a wrapper whose
// Accept waits until Ready has returned (see HandoffOptions.Probation), so
// it is not a *net.TCPListener then.
func (h *Handoff) Listen(network, addr string) (net.Listener, error) {
	key := handoffKey{Network: network, Addr: addr}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil, ErrStopped
	}
	if _, ok := h.passing[key]; ok {
		return nil, fmt.Errorf("restart: %s is already listening", key)
	}
	if f, ok := h.inherited[key]; ok {
		ln, err := net.FileListener(f) // a duplicate; f stays ours, to pass on
		if err != nil {
			return nil, fmt.Errorf("restart: inherited listener %s: %w", key, err)
		}
		delete(h.inherited, key)
		h.passing[key] = f
		handoffKeepSocketFile(ln)
		h.log.Debug("handoff: inherited listener", "listener", key)
		if h.open != nil {
			return newGatedListener(ln, h.open), nil
		}
		return ln, nil
	}
	ln, err := new(net.ListenConfig).Listen(context.Background(), network, addr)
	if err != nil {
		return nil, fmt.Errorf("restart: listen %s: %w", key, err)
	}
	f, err := handoffDupListener(ln, key.String())
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("restart: listener %s: %w", key, err)
	}
	if handoffKeepSocketFile(ln) {
		h.unlink = append(h.unlink, ln.Addr().String())
	}
	h.passing[key] = f
	return ln, nil
}

// Ready says that this process serves. It writes the PID file, tells the
// parent (which then drains and exits), and closes the inherited listeners
// that were not claimed with Listen. Without a parent it only writes the PID
// file. If the parent holds a probation, Ready returns only when it is over
// and the inherited listeners accept (should the parent vanish meanwhile,
// this process serves at once: it holds the listeners). Calls after the
// first return the first result.
func (h *Handoff) Ready() error {
	h.readyOnce.Do(func() { h.readyErr = h.ready() })
	return h.readyErr
}

func (h *Handoff) ready() error {
	if h.opts.PIDFile != "" {
		// Written before the parent is told, so that a supervisor that reads
		// it when the parent exits finds this process.
		if err := writeHandoffPIDFile(h.opts.PIDFile, os.Getpid()); err != nil {
			return fmt.Errorf("restart: write PID file: %w", err)
		}
		h.readied.Store(true)
	}
	h.mu.Lock()
	for key, f := range h.inherited {
		f.Close()
		delete(h.inherited, key)
	}
	h.mu.Unlock()
	if h.parent == nil {
		return nil
	}
	defer h.parent.Close()
	if _, err := h.parent.Write([]byte{handoffReadyByte}); err != nil {
		if h.open != nil {
			close(h.open)
		}
		return fmt.Errorf("restart: tell the old process: %w", err)
	}
	if h.goPipe != nil {
		h.awaitGo()
	}
	h.log.Info("handoff: ready, the old process drains")
	return nil
}

// Restart starts exe with the same arguments and environment, passing it
// every listener opened through Listen, and waits until it calls Ready and,
// with a Probation, until the probation has passed. Then it closes Exit and
// returns nil. If the new process exits first (ErrChildExited, also during
// probation), or does not call Ready within ReadyTimeout or before ctx ends
// (ErrNotReady), it is killed and Restart returns the error while this
// process keeps serving on its untouched listeners, ready to try again.
func (h *Handoff) Restart(ctx context.Context, exe string) (Outcome, error) {
	files, err := h.beginRestart()
	if err != nil {
		return NotStarted, err
	}
	defer h.running.Done()
	err = h.handOff(ctx, exe, files)
	if err != nil {
		h.reclaimPIDFile()
	}
	h.endRestart(err)
	if err != nil {
		return NotStarted, err
	}
	return HandedOver, nil
}

// Stop ends the Handoff: a Restart in flight kills its new process and
// returns ErrStopped, later ones fail, and the descriptors it keeps are
// closed. Listeners returned by Listen stay open; the caller closes them.
// Unix socket files are removed unless they were handed off. Stop may be
// called more than once.
func (h *Handoff) Stop() {
	h.stopOnce.Do(func() {
		h.mu.Lock()
		h.stopped = true
		close(h.stop)
		h.mu.Unlock()
		h.running.Wait()

		h.mu.Lock()
		defer h.mu.Unlock()
		for _, f := range h.inherited {
			f.Close()
		}
		for _, f := range h.passing {
			f.Close()
		}
		clear(h.inherited)
		clear(h.passing)
		if !h.handedOff {
			for _, path := range h.unlink {
				os.Remove(path)
			}
		}
		if h.parent != nil {
			h.parent.Close()
		}
		if h.goPipe != nil {
			h.goPipe.Close()
		}
	})
}

// writeHandoffPIDFile replaces path with a file holding pid, atomically, so
// that a supervisor never reads a half-written one.
func writeHandoffPIDFile(path string, pid int) error {
	return atomicfile.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}
