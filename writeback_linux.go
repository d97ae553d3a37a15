package update

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks Linux to start writing a range of f to disk without
// waiting for it (as dpkg does), so the fsync before the swap finds most
// pages already clean. It is a hint: errors are ignored, fsync decides.
func startWriteback(f *os.File, off, n int64) {
	unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
