// Package atomicfile writes small files (state, PID files) so that a reader
// or a crash sees either the old content or the new one, never a mix or an
// empty file.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to path atomically: it writes a temporary file in the
// same directory (a rename never crosses file systems), fsyncs it, renames it
// over path and fsyncs the directory so that the rename itself survives a
// crash. The temporary file is removed on any failure, and path is then left
// as it was.
//
// Unlike os.WriteFile, perm is applied exactly (the umask does not apply).
// If path is a symbolic link, the link itself is replaced by a regular file.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, tempPattern(base))
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close() // a second Close only reports os.ErrClosed
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	// Chmod by name: on windows it only sets the read-only attribute, which
	// must come after the last write.
	if err := os.Chmod(tmp, perm); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := SyncDir(dir); err != nil {
		// The new content is in place; only its durability is in doubt,
		// and there is nothing left to clean up.
		return err
	}
	return nil
}

// tempPattern is how WriteFile names its temporary file beside path.
func tempPattern(base string) string { return "." + base + ".tmp-*" }

// CleanTemps removes the temporary files that WriteFile calls for path
// left behind when a crash stopped them halfway. Call it only while no
// WriteFile of path can run (under the caller's lock).
func CleanTemps(path string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	matches, err := filepath.Glob(filepath.Join(dir, tempPattern(base)))
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range matches {
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
