package lock

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockHigh places the locked byte far beyond any PID the file holds:
// windows locks are mandatory, and locking the whole file would stop humans
// from reading the PID while the lock is held. Locking past the end of a
// file is allowed.
const lockHigh = 1 << 30 // offset 1<<62

func lockFile(f *os.File) error {
	ol := &windows.Overlapped{OffsetHigh: lockHigh}
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION):
		return ErrLocked
	default:
		return &os.PathError{Op: "LockFileEx", Path: f.Name(), Err: err}
	}
}

func unlockFile(f *os.File) error {
	ol := &windows.Overlapped{OffsetHigh: lockHigh}
	if err := windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol); err != nil {
		return &os.PathError{Op: "UnlockFileEx", Path: f.Name(), Err: err}
	}
	return nil
}

// canRemoveOpen: an open file cannot be removed here.
const canRemoveOpen = false
