//go:build !unix && !windows

package apply

import (
	"fmt"
	"io/fs"
)

func (r *Replace) install(real, _, _ string, _ fs.FileMode) error {
	return fmt.Errorf("apply: replace %s: %w", real, ErrUnsupported)
}

func (r *Replace) restore(real, _ string) error {
	return fmt.Errorf("apply: revert %s: %w", real, ErrUnsupported)
}

func chown(string, fs.FileInfo) error { return nil }
func syncFile(string) error           { return nil }
