//go:build unix

package update

import (
	"errors"
	"os/exec"
	"syscall"
)

// ownProcessGroup starts the probe in a process group of its own and makes
// cancellation kill the whole group, so a grandchild it left behind dies
// with it.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// textBusy reports ETXTBSY: the file is open for writing somewhere.
func textBusy(err error) bool { return errors.Is(err, syscall.ETXTBSY) }
