//go:build unix

package restart

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

func handoffSupported() error { return nil }

// handoffInheritFile wraps a descriptor passed by the parent. It is marked
// close-on-exec at once, so that it reaches only the processes that Restart
// passes it to explicitly.
func handoffInheritFile(fd int, name string) *os.File {
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), name)
}

// handoffDupListener returns a duplicate of ln's descriptor, to pass on.
//
// It duplicates the raw descriptor rather than calling the listener's File
// method: a File made by the net package turns the socket blocking when
// os/exec asks for its descriptor, and since duplicates share that flag the
// serving listener would block a thread in accept and hang in Close. A
// descriptor wrapped with os.NewFile while non-blocking stays non-blocking.
func handoffDupListener(ln net.Listener, name string) (*os.File, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("%T has no file descriptor to pass", ln)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var dup int
	var dupErr error
	err = raw.Control(func(fd uintptr) {
		// Holding ForkLock keeps a concurrent fork from inheriting the
		// duplicate before it is marked close-on-exec.
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		dup, dupErr = syscall.Dup(int(fd))
		if dupErr == nil {
			syscall.CloseOnExec(dup)
		}
	})
	if err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, fmt.Errorf("dup: %w", dupErr)
	}
	return os.NewFile(uintptr(dup), name), nil
}

// handoffKeepSocketFile stops a Unix listener from removing its socket file
// when closed, since the new process serves on it; it reports whether ln is
// such a listener.
func handoffKeepSocketFile(ln net.Listener) bool {
	u, ok := ln.(*net.UnixListener)
	if ok {
		u.SetUnlinkOnClose(false)
	}
	return ok
}
