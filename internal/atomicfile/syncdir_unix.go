//go:build !windows

package atomicfile

import (
	"fmt"
	"os"
)

// SyncDir fsyncs the directory dir, so that files just created, renamed or
// removed in it are still so after a crash; fsyncing a file does not persist
// its directory entry.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: sync dir: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("atomicfile: sync dir: %w", err)
	}
	return nil
}
