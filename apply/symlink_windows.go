//go:build windows

package apply

import "fmt"

// symlinkSupported says why Symlink does not run on Windows: creating a
// symbolic link needs administrator rights or developer mode, and renaming
// a link over one that a running program was started through is not atomic
// there.
func symlinkSupported() error {
	return fmt.Errorf("%w: Symlink needs symbolic links, which Windows allows only to administrators or in developer mode; use Replace", ErrUnsupported)
}
