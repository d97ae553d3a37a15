//go:build unix

package supervise

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// groupPoll is how often stopGroup looks whether the group is empty.
const groupPoll = 20 * time.Millisecond

func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopGroup sends SIGTERM to c's process group and waits until every
// process of the group is gone; whatever is left after timeout, the leader
// or a helper that ignores SIGTERM, is killed with SIGKILL.
func stopGroup(c *child, timeout time.Duration) error {
	pgid := c.cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("supervise: stop %d: %w", pgid, err)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		// The leader is reaped by its Wait goroutine; then kill(-pgid, 0)
		// fails with ESRCH once no member of the group is left.
		if c.exited() && errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
			return nil
		}
		time.Sleep(groupPoll)
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("supervise: kill %d: %w", pgid, err)
	}
	<-c.done
	return nil
}
