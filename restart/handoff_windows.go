//go:build windows

package restart

import (
	"fmt"
	"net"
	"os"
)

// handoffSupported says why Windows cannot hand off: a socket cannot be
// inherited by a child through os/exec there, and the program that has it
// open cannot be replaced while it runs.
func handoffSupported() error {
	return fmt.Errorf("%w: listener handoff needs Unix descriptor passing; use Exit with a service manager", ErrUnsupported)
}

func handoffInheritFile(int, string) *os.File { return nil }

func handoffDupListener(net.Listener, string) (*os.File, error) { return nil, handoffSupported() }

func handoffKeepSocketFile(net.Listener) bool { return false }
