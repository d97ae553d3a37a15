package restart

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// execListenersEnv names the environment variable through which Exec tells
// the new program which of its descriptors are listening sockets kept open
// across the exec: "network|address|fd" items separated by ";".
const execListenersEnv = "MOLT_EXEC_LISTENERS"

// ExecListen returns the listener that an Exec with Listeners kept open
// across the exec for network and addr, or a new one from net.Listen if
// there is none (the first start). A daemon that restarts with Exec and
// listens through ExecListen drops no connection during an update: the
// socket never closes, so the kernel queues new connections while the
// program execs, and the new version accepts them.
func ExecListen(network, addr string) (net.Listener, error) {
	for _, item := range strings.Split(os.Getenv(execListenersEnv), ";") {
		n, rest, ok1 := strings.Cut(item, "|")
		a, fdText, ok2 := strings.Cut(rest, "|")
		if !ok1 || !ok2 || n != network || a != addr {
			continue
		}
		fd, err := strconv.Atoi(fdText)
		if err != nil || fd < 3 {
			return nil, fmt.Errorf("restart: %s: bad descriptor %q", execListenersEnv, fdText)
		}
		f := execInheritFile(fd, network+":"+addr)
		ln, err := net.FileListener(f)
		f.Close() // FileListener made a duplicate
		if err != nil {
			return nil, fmt.Errorf("restart: inherited listener %s %s: %w", network, addr, err)
		}
		return ln, nil
	}
	return net.Listen(network, addr)
}

// listenerItem is one entry of execListenersEnv; the address is the one the
// program asked for when it listened, so its ExecListen call finds it again.
func listenerItem(network, addr string, fd uintptr) string {
	return network + "|" + addr + "|" + strconv.FormatUint(uint64(fd), 10)
}

// withoutListenersEnv drops an inherited execListenersEnv from env, so that
// a listener is never announced twice.
func withoutListenersEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, execListenersEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}
