//go:build !unix && !windows

package lock

import "os"

func lockFile(*os.File) error   { return ErrUnsupported }
func unlockFile(*os.File) error { return ErrUnsupported }
