//go:build !unix && !windows

package lock

import "os"

func lockFile(*os.File) error   { return ErrUnsupported }
func unlockFile(*os.File) error { return ErrUnsupported }

// canRemoveOpen: an open file cannot be removed here.
const canRemoveOpen = false
