//go:build !unix && !windows

package supervise

import (
	"os/exec"
	"time"
)

func setGroup(*exec.Cmd) {}

func stopGroup(c *child, _ time.Duration) error {
	c.cmd.Process.Kill()
	<-c.done
	return nil
}
