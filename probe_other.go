//go:build !unix

package update

import "os/exec"

// ownProcessGroup leaves the default: cancellation kills the child.
func ownProcessGroup(*exec.Cmd) {}

// textBusy is a unix condition.
func textBusy(error) bool { return false }
