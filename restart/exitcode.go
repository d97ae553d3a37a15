package restart

import (
	"context"
	"os"
)

// ExitCodeRestart is a conventional exit status for Exit: a non-zero code
// that a supervisor restarts on failure, and that can be declared a success
// so that updates are not counted as crashes.
const ExitCodeRestart = 3

// Exit restarts by leaving: the program exits with Code and its supervisor
// (systemd, launchd, a container runtime, a Windows service manager) starts
// it again, now from the new version installed at the same path. The exe
// argument of Restart is therefore not used.
//
// Exit flushes nothing and runs no deferred functions: the caller closes
// its files and flushes its logs before restarting.
//
// The zero value exits with status 0, which suits systemd's Restart=always.
// With Restart=on-failure, use a non-zero code such as ExitCodeRestart and
// tell systemd that it means "restart me", not "I failed":
//
//	[Service]
//	ExecStart=/usr/local/bin/hello
//	Restart=on-failure
//	SuccessExitStatus=3
//	RestartForceExitStatus=3
//
// Exit works on every platform.
type Exit struct {
	// Code is the exit status; 0 by default. Portable codes are 0 to 125.
	Code int

	exit func(code int) // os.Exit unless a test replaces it
}

var _ Restarter = Exit{}

// Restart exits the program with e.Code. It returns only if ctx has already
// ended, with ctx's error, so that a cancelled update does not stop the
// program.
func (e Exit) Restart(ctx context.Context, exe string) (Outcome, error) {
	if err := ctx.Err(); err != nil {
		return NotStarted, err
	}
	exit := e.exit
	if exit == nil {
		exit = os.Exit
	}
	exit(e.Code)
	return Exiting, nil
}
