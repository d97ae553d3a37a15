//go:build unix

package update

import (
	"errors"
	"os/exec"
	"syscall"
)

// runGroup runs the probe in a process group of its own and makes
// cancellation kill the whole group, so a grandchild it left behind dies
// with it.
func runGroup(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return cmd.Run()
}

// textBusy reports ETXTBSY: the file is open for writing somewhere.
func textBusy(err error) bool { return errors.Is(err, syscall.ETXTBSY) }
