//go:build windows

package supervise

import (
	"os/exec"
	"syscall"
	"time"
)

func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// stopGroup kills the child: windows has no SIGTERM for a console-less
// child and no kill for a group, so the stop is not graceful and processes
// the child started survive it.
func stopGroup(c *child, _ time.Duration) error {
	c.cmd.Process.Kill()
	<-c.done
	return nil
}
