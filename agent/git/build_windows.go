//go:build windows

package git

import (
	"os/exec"
	"syscall"
)

var shell = []string{"cmd", "/C"}

// ownGroup puts cmd in a new process group. Cancellation kills the shell
// only: windows has no kill for a process group; a job object would be
// needed for the processes the build started.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}
