// Package lock gives one process at a time the right to update an
// executable.
//
// The lock is the operating system's own (flock on unix, LockFileEx on
// windows), held through an open file. The system releases it when the
// holder's file is closed, which includes the holder dying in any way, even
// by SIGKILL or a power cut: so a lock left by a dead process is reclaimed by
// the next TryLock, without any stale-lock guessing based on PIDs or times.
// The holder's PID is written into the file for humans only; nothing reads
// it back.
package lock

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Errors returned by this package, to be tested with errors.Is.
var (
	// ErrLocked means another process (or another Lock in this process)
	// holds the lock.
	ErrLocked = errors.New("lock: held by another process")
	// ErrUnsupported means the platform has no file locks this package can use.
	ErrUnsupported = errors.New("lock: not supported on this platform")
)

// Lock is a held lock. Its zero value is not usable; get one from TryLock.
type Lock struct {
	f      *os.File
	once   sync.Once
	remove string // the path to remove at Unlock (TryLockTemp), or ""
}

// TryLock takes the exclusive lock on the file at path, creating the file if
// needed, without waiting: if someone else holds it, the error wraps
// ErrLocked. Locks taken through different calls conflict even inside one
// process.
//
// The file is never removed, not even by Unlock: removing it would let a
// process that opened the old file and one that created a new one both hold
// "the" lock.
func TryLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := lockFile(f); err != nil {
		holder := readHolder(f)
		f.Close()
		if holder != "" && errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("lock %s: %w (by pid %s)", path, err, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The PID is a courtesy to whoever looks at the file; failing to write
	// it must not cost us a lock we hold.
	if f.Truncate(0) == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// TryLockTemp is TryLock for a lock file in a shared folder that should
// not pile up: Unlock removes the file while still holding the lock. That
// is safe because a locker checks, once it holds the lock, that the path
// still names the file it locked (a remover may have unlinked it in
// between), and tries again if not. Where files cannot be removed while
// open (windows), the file stays, as with TryLock.
func TryLockTemp(path string) (*Lock, error) {
	for range 8 {
		l, err := TryLock(path)
		if err != nil {
			return nil, err
		}
		if sameFile(l.f, path) {
			if canRemoveOpen {
				l.remove = path
			}
			return l, nil
		}
		l.Unlock() // the file was removed under us: lock the new one
	}
	return nil, fmt.Errorf("lock %s: %w (the file keeps being replaced)", path, ErrLocked)
}

// sameFile reports whether path still names the open file f.
func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// readHolder reads the PID a holder wrote, for the message only; it reads
// at most a few bytes, and gives "" when there is none to read.
func readHolder(f *os.File) string {
	b := make([]byte, 24)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 {
		return ""
	}
	return strconv.Itoa(pid)
}

// Unlock releases the lock. Calls after the first return an error wrapping
// os.ErrClosed.
func (l *Lock) Unlock() error {
	err := fmt.Errorf("lock: unlock: %w", os.ErrClosed)
	l.once.Do(func() {
		if l.remove != "" {
			// Removed while held, so nobody can lock the name in between
			// and then lose it; a locker that opened it before checks.
			os.Remove(l.remove)
		}
		err = unlockFile(l.f)
		// Closing releases the lock too, so even when the explicit unlock
		// failed the lock is gone once Close succeeds.
		if cerr := l.f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			err = fmt.Errorf("lock: unlock: %w", err)
		}
	})
	return err
}
