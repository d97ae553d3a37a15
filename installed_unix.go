//go:build linux || darwin

package update

import (
	"fmt"
	"io/fs"
	"syscall"
)

// fileStampSys adds the device, inode and change time: a file put in
// place by anything but a write to this inode gets another inode, and any
// write or chmod a new change time, which no one can set back.
func fileStampSys(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	c := changeTime(st)
	return fmt.Sprintf(" %d %d %d.%d", st.Dev, st.Ino, c.Sec, c.Nsec)
}
