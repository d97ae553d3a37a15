//go:build unix

package git

import (
	"os/exec"
	"syscall"
)

var shell = []string{"/bin/sh", "-c"}

// ownGroup puts cmd in a new process group and makes cancellation kill the
// whole group, not just the shell.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
