//go:build !unix

package restart

import (
	"fmt"
	"os"
)

func execInheritFile(fd int, name string) *os.File { return os.NewFile(uintptr(fd), name) }

// keepAcrossExec cannot keep sockets open across a restart here: Exec on
// windows starts a child, which does not inherit them.
func keepAcrossExec(listeners []Addressed) (string, func(), error) {
	if len(listeners) == 0 {
		return "", func() {}, nil
	}
	return "", nil, fmt.Errorf("restart: Exec.Listeners: %w", ErrUnsupported)
}
