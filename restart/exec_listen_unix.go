//go:build unix

package restart

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// execInheritFile wraps an inherited descriptor, marking it close-on-exec
// again so it reaches only the programs a later Exec passes it to.
func execInheritFile(fd int, name string) *os.File {
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), name)
}

// keepAcrossExec duplicates each listener's descriptor without
// close-on-exec, so the sockets stay open through the exec, and returns
// the environment entry that names them. The duplicates are meant to leak
// into the new program; if the exec fails, release closes them.
func keepAcrossExec(listeners []Addressed) (env string, release func(), err error) {
	var items []string
	var files []*os.File
	release = func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, l := range listeners {
		f, err := handoffDupListener(l.Listener, l.Network+":"+l.Address)
		if err != nil {
			release()
			return "", nil, fmt.Errorf("restart: keeping %s %s open across exec: %w", l.Network, l.Address, err)
		}
		files = append(files, f)
		fd := f.Fd()
		if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFD, 0); e != 0 {
			release()
			return "", nil, fmt.Errorf("restart: keeping %s %s open across exec: %w", l.Network, l.Address, e)
		}
		items = append(items, listenerItem(l.Network, l.Address, fd))
	}
	return execListenersEnv + "=" + strings.Join(items, ";"), release, nil
}
