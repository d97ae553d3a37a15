package restart

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"
)

// Exec restarts in place: the running program becomes the new executable,
// with the same arguments and environment unless told otherwise.
//
// On unix this is execve(2): the process keeps its PID, its parent, its
// controlling terminal and its stdio, so a supervisor or a shell waiting for
// it notices nothing; every other descriptor closes (Go opens files
// close-on-exec). A successful Restart does not return, and deferred
// functions do not run: the caller flushes logs and closes what must be
// closed first.
//
// On windows a running executable cannot be replaced in-process, so Restart
// starts exe as a child with the same arguments, environment and stdio,
// waits for it and exits with its exit code; the PID changes. The old
// process's other goroutines keep running meanwhile, so stop serving (close
// listeners, finish jobs) before restarting.
//
// A daemon gives Exec a Shutdown step (an HTTPDrainer's Drain, which also
// answers a kept-alive client whose request is on its way, where
// http.Server.Shutdown would close it unanswered), so requests in flight
// finish before the process is replaced; without one, an exec cuts them
// off. For no pause at all, use Handoff.
//
// The zero value is ready to use.
type Exec struct {
	// Args is the argument list of the new program, Args[0] included (the
	// name it sees as its own, not the path that is run). If nil, the
	// default os.Args is used.
	Args []string
	// Env is the environment of the new program, as "key=value" strings.
	// If nil, the default os.Environ() is used.
	Env []string
	// Shutdown, if not nil, runs before the exec with a context that ends
	// after ShutdownTimeout: stop accepting work and finish what is in
	// flight (HTTPDrainer.Drain). If it fails, the exec still goes ahead: the
	// new version is installed and the old code must not keep serving.
	Shutdown func(ctx context.Context) error
	// ShutdownTimeout bounds Shutdown. If zero, DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Listeners, on unix, are kept open through the exec, so no connection
	// is refused while the program restarts: the kernel queues them, and
	// the new version takes each listener back with ExecListen. Listen
	// with ExecListen to use it.
	Listeners []Addressed

	// Test seams; nil means the real thing.
	exec    func(argv0 string, argv, envv []string) error
	retried func(attempt int, err error) // called before each retry's wait
	exit    func(code int)
}

var _ Restarter = Exec{}

// Addressed is a listener with the network and address it was opened
// with, as ExecListen is called with them.
type Addressed struct {
	net.Listener
	Network, Address string
}

// DefaultShutdownTimeout is how long Exec's Shutdown may take unless told:
// long enough for ordinary requests to finish, short enough that an update
// does not hang on a stuck one.
const DefaultShutdownTimeout = 10 * time.Second

// Restart replaces the running program with exe. It returns only on
// failure, with the program still running; an error from the system is
// wrapped in an *os.PathError, so errors.Is(err, fs.ErrPermission) or
// fs.ErrNotExist hold when they should.
func (e Exec) Restart(ctx context.Context, exe string) (Outcome, error) {
	if err := ctx.Err(); err != nil {
		return NotStarted, err
	}
	env := e.Env
	if env == nil {
		env = os.Environ()
	}
	env = withoutListenersEnv(env)
	if len(e.Listeners) > 0 {
		kept, release, err := keepAcrossExec(e.Listeners)
		if err != nil {
			return NotStarted, err
		}
		defer release() // reached only if the exec fails
		env = append(env, kept)
	}
	if e.Shutdown != nil {
		if _, err := os.Stat(exe); err != nil {
			// Checked before Shutdown: a missing file must not stop the
			// service for nothing.
			return NotStarted, fmt.Errorf("restart: %w", err)
		}
		d := e.ShutdownTimeout
		if d <= 0 {
			d = DefaultShutdownTimeout
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
		_ = e.Shutdown(sctx) // its failure does not stop the exec; see Shutdown
		cancel()
	}
	args := e.Args
	if args == nil {
		args = os.Args
	}
	if err := e.restart(ctx, exe, args, env); err != nil {
		return NotStarted, err
	}
	return Replaced, nil
}
