package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// install renames real to bak and staged to real. A running executable
// cannot be overwritten or deleted on windows, but it can be renamed; a
// failed second rename renames the old version back.
func (r *Replace) install(real, staged, bak string, _ fs.FileMode) error {
	dir, base := filepath.Split(real)
	sweep(dir, base)
	// The old backup may be the image of a process still running (the
	// program that applied two updates without restarting): it cannot be
	// removed, but it can be moved aside and deleted later.
	if err := os.Remove(bak); err != nil && !errors.Is(err, fs.ErrNotExist) {
		if err := r.moveAside(bak, dir, base); err != nil {
			return fmt.Errorf("apply: remove old backup: %w", err)
		}
	}
	if err := r.doRename(real, bak); err != nil {
		return fmt.Errorf("apply: move current version aside: %w", err)
	}
	if err := r.doRename(staged, real); err != nil {
		if rerr := r.doRename(bak, real); rerr != nil {
			return fmt.Errorf("apply: install: %w; putting %s back from %s also failed: %w", err, real, bak, rerr)
		}
		return fmt.Errorf("apply: install: %w", err)
	}
	if err := r.doSyncDir(dir); err != nil {
		// As on unix: the caller is about to hear that Apply failed, so put
		// the old version back. The new file at real runs nowhere yet, so
		// the rename may replace it.
		if rerr := r.doRename(bak, real); rerr != nil {
			return fmt.Errorf("%w; putting the old version back also failed: %w", err, rerr)
		}
		return err
	}
	return nil
}

// restore moves the current version aside (it may be running) and renames
// bak to real; with no current version, bak is just renamed to real.
func (r *Replace) restore(real, bak string) error {
	dir, base := filepath.Split(real)
	sweep(dir, base)
	aside, err := asideName(dir, base)
	if err != nil {
		return fmt.Errorf("apply: revert: %w", err)
	}
	if err := r.doRename(real, aside); err != nil {
		os.Remove(aside)
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("apply: revert: %w", err)
		}
		// Nothing at real (an install whose put-back failed left the old
		// version at bak only): the backup just takes its place, as on
		// unix.
		if err := r.doRename(bak, real); err != nil {
			return fmt.Errorf("apply: revert: %w", err)
		}
		return r.doSyncDir(dir)
	}
	if err := r.doRename(bak, real); err != nil {
		if rerr := r.doRename(aside, real); rerr != nil {
			return fmt.Errorf("apply: revert: %w; putting %s back from %s also failed: %w", err, real, aside, rerr)
		}
		return fmt.Errorf("apply: revert: %w", err)
	}
	os.Remove(aside) // fails while that version still runs; swept later
	return r.doSyncDir(dir)
}

// moveAside renames path to a fresh name that sweep will delete, then tries
// to delete it at once.
func (r *Replace) moveAside(path, dir, base string) error {
	aside, err := asideName(dir, base)
	if err != nil {
		return err
	}
	if err := r.doRename(path, aside); err != nil {
		os.Remove(aside)
		return err
	}
	os.Remove(aside)
	return nil
}

// asideName reserves a unique name for a file to be deleted once no process
// runs it. The empty file it creates is replaced by the rename (os.Rename
// replaces existing files on windows).
func asideName(dir, base string) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".del-*")
	if err != nil {
		return "", err
	}
	f.Close()
	return f.Name(), nil
}

// sweep deletes what earlier moves aside left, as far as their processes
// have ended.
func sweep(dir, base string) {
	old, _ := filepath.Glob(filepath.Join(dir, "."+base+".del-*"))
	for _, p := range old {
		os.Remove(p)
	}
}

// chown does nothing: windows files have no unix owner to keep.
func chown(string, fs.FileInfo) error { return nil }

// syncFile flushes path to stable storage; FlushFileBuffers needs a handle
// with write access.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
