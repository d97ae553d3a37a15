//go:build unix

package apply

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// install keeps real at bak and renames staged over real. The backup is a
// hard link, so real never goes missing, and it is in place before the
// rename, so that a crash at any point leaves bak holding the version that
// real held before it.
func (r *Replace) install(real, staged, bak string, mode fs.FileMode) error {
	if err := os.Remove(bak); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("apply: remove old backup: %w", err)
	}
	if err := r.doLink(real, bak); err != nil {
		// Some file systems (FAT, some network and overlay mounts) have no
		// hard links.
		if cerr := copyFile(real, bak, mode, r.doRename); cerr != nil {
			return fmt.Errorf("apply: keep backup: %w", errors.Join(err, cerr))
		}
	}
	if err := r.doRename(staged, real); err != nil {
		return fmt.Errorf("apply: install: %w", err)
	}
	if err := r.doSyncDir(filepath.Dir(real)); err != nil {
		// The swap may not survive a crash, and the caller is about to hear
		// that Apply failed: make that true by putting the old version back.
		if rerr := r.doRename(bak, real); rerr != nil {
			return fmt.Errorf("%w; putting the old version back also failed: %w", err, rerr)
		}
		return err
	}
	return nil
}

// restore renames bak over real.
func (r *Replace) restore(real, bak string) error {
	if err := r.doRename(bak, real); err != nil {
		return fmt.Errorf("apply: revert: %w", err)
	}
	return r.doSyncDir(filepath.Dir(real))
}

// chown gives path the owner and group of old. Only root may give files
// away, so others keep their own ownership.
func chown(path string, old fs.FileInfo) error {
	st, ok := old.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 {
		return nil
	}
	return os.Chown(path, int(st.Uid), int(st.Gid))
}

// syncFile flushes path to stable storage. A read-only descriptor is
// enough for fsync on unix.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyFile copies src to a new temporary file beside dst, fsyncs it and
// renames it to dst, for file systems without hard links.
func copyFile(src, dst string, mode fs.FileMode, rename func(string, string) error) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(out.Name())
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if err := out.Chmod(mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return rename(out.Name(), dst)
}
