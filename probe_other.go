//go:build !unix && !windows

package update

import "os/exec"

// runGroup runs the probe as is: cancellation kills the child only, as
// these systems have no group of processes to kill together.
func runGroup(cmd *exec.Cmd) error { return cmd.Run() }

// textBusy is a unix condition.
func textBusy(error) bool { return false }
