package apply

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/molt-go/update/internal/atomicfile"
)

// Errors returned by Replace, to be tested with errors.Is.
var (
	// ErrStagedElsewhere means Change.Staged is not a regular file in the
	// directory of the (resolved) target, so that one rename could not
	// install it. Apply leaves such a file alone.
	ErrStagedElsewhere = errors.New("apply: staged file is not a file beside the target")
)

var _ Applier = (*Replace)(nil)

// Replace installs a new version over the old file with one atomic rename,
// keeping the old version beside it as a backup. Its zero value is ready to
// use.
//
// A target that is a symbolic link is resolved first: the file it points to
// is replaced and the link is kept, so links such as /usr/local/bin/hello ->
// /opt/hello/hello keep working. Staged files and the backup live in the
// resolved file's directory, since a rename cannot cross file systems.
//
// On unix there is no moment at which the target path is missing: the
// backup is a hard link (or a copy) of the current file, and the new file
// takes the path in one rename, which a running program does not notice (it
// keeps its old inode). On windows a running executable cannot be replaced
// but it can be renamed, so the current file is renamed to the backup path
// first and the staged file renamed into its place; if that fails, the
// backup is renamed back.
type Replace struct {
	// Backup is the name of the backup file, in the directory of the
	// resolved target, where each "*" stands for the target's file name.
	// If empty, the default ".*.old" is used: /opt/hello/hello is kept as
	// /opt/hello/.hello.old. It must not contain a path separator.
	Backup string

	// Test seams; nil means the os functions.
	link    func(oldname, newname string) error
	rename  func(oldname, newname string) error
	syncDir func(dir string) error
}

// BackupPath returns where Replace with the default Backup keeps the
// previous version of target, after resolving symbolic links.
func BackupPath(target string) (string, error) {
	return (&Replace{}).BackupPath(target)
}

// BackupPath returns where r keeps the previous version of target, after
// resolving symbolic links, so that a caller can record it.
func (r *Replace) BackupPath(target string) (string, error) {
	real, err := resolve(target)
	if err != nil {
		return "", err
	}
	return r.backupPath(real)
}

func (r *Replace) backupPath(real string) (string, error) {
	pattern := r.Backup
	if pattern == "" {
		pattern = ".*.old"
	}
	if strings.ContainsAny(pattern, `/`+string(filepath.Separator)) {
		return "", fmt.Errorf("apply: backup name %q has a path separator: %w", pattern, fs.ErrInvalid)
	}
	name := strings.ReplaceAll(pattern, "*", filepath.Base(real))
	if name == filepath.Base(real) || name == "." || name == ".." {
		return "", fmt.Errorf("apply: backup name %q names the target itself: %w", pattern, fs.ErrInvalid)
	}
	return filepath.Join(filepath.Dir(real), name), nil
}

// resolve returns the file that target names, following symbolic links, as
// an absolute path. A target that does not exist yet (a first install)
// resolves through its directory only.
func resolve(target string) (string, error) {
	real, err := filepath.EvalSymlinks(target)
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(target); errors.Is(lerr, fs.ErrNotExist) {
			var dir string
			dir, err = filepath.EvalSymlinks(filepath.Dir(target))
			real = filepath.Join(dir, filepath.Base(target))
		}
	}
	if err != nil {
		return "", fmt.Errorf("apply: resolve %s: %w", target, err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return "", fmt.Errorf("apply: resolve %s: %w", target, err)
	}
	return real, nil
}

// Stage creates an empty file named ".<name>.new-<random>" beside the file
// that target resolves to. Errors from the file system are wrapped, so a
// directory the program may not write gives an error that errors.Is
// fs.ErrPermission.
func (r *Replace) Stage(target string) (*os.File, error) {
	real, err := resolve(target)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(real), "."+filepath.Base(real)+".new-*")
	if err != nil {
		return nil, fmt.Errorf("apply: stage %s: %w", target, err)
	}
	return f, nil
}

// Clean removes staged files (".<name>.new-*") and half-made backup copies
// (".<name>.old-*") that an update killed halfway left beside the file that
// target resolves to. The backup itself is kept.
func (r *Replace) Clean(target string) error {
	real, err := resolve(target)
	if err != nil {
		return err
	}
	dir, base := filepath.Dir(real), filepath.Base(real)
	var errs []error
	for _, pattern := range []string{"." + base + ".new-*", "." + base + ".old-*"} {
		matches, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

var _ Cleaner = (*Replace)(nil)

// Apply installs c.Staged as c.Target. The staged file gets the mode of the
// file it replaces (and its owner, when running as root) and is fsynced; the
// old file is kept at the backup path, replacing any older backup; the
// staged file is renamed over the target; the directory is fsynced.
//
// When Apply fails, the target is as it was and the staged file is removed,
// unless Apply refused it before owning it (a target that cannot be
// resolved, ErrStagedElsewhere): then it is left alone. The backup may by
// then already be a copy of the current target, which is still a valid way
// back. If the directory cannot be fsynced after the swap, the old version
// is renamed back before the error is returned.
//
// A target that does not exist yet is installed with mode 0755 and no
// backup.
func (r *Replace) Apply(ctx context.Context, c Change) (err error) {
	real, err := resolve(c.Target)
	if err != nil {
		return err
	}
	if err := besideTarget(c.Staged, real); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(c.Staged)
		}
	}()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	bak, err := r.backupPath(real)
	if err != nil {
		return err
	}
	old, err := os.Stat(real)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil:
		return fmt.Errorf("apply: %w", err)
	case !old.Mode().IsRegular():
		return fmt.Errorf("apply: %s is not a regular file: %w", real, fs.ErrInvalid)
	}
	if err := syncFile(c.Staged); err != nil {
		return fmt.Errorf("apply: sync staged file: %w", err)
	}
	mode := os.FileMode(0o755)
	if old != nil {
		if err := chown(c.Staged, old); err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		// After chown, which clears the setuid and setgid bits.
		mode = old.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	}
	if err := os.Chmod(c.Staged, mode); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if old == nil {
		if err := r.doRename(c.Staged, real); err != nil {
			return fmt.Errorf("apply: install: %w", err)
		}
		if err := r.doSyncDir(filepath.Dir(real)); err != nil {
			os.Remove(real) // as it was: absent
			return err
		}
		return nil
	}
	return r.install(real, c.Staged, bak, old.Mode())
}

// besideTarget checks that staged is a regular file in real's directory and
// is not real itself.
func besideTarget(staged, real string) error {
	fi, err := os.Lstat(staged)
	if err != nil {
		return fmt.Errorf("apply: staged file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("apply: %s: %w", staged, ErrStagedElsewhere)
	}
	sd, err := os.Stat(filepath.Dir(staged))
	if err != nil {
		return fmt.Errorf("apply: staged file: %w", err)
	}
	rd, err := os.Stat(filepath.Dir(real))
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if !os.SameFile(sd, rd) {
		return fmt.Errorf("apply: %s is not in %s: %w", staged, filepath.Dir(real), ErrStagedElsewhere)
	}
	if rf, err := os.Stat(real); err == nil && os.SameFile(fi, rf) {
		return fmt.Errorf("apply: %s is the target itself: %w", staged, ErrStagedElsewhere)
	}
	return nil
}

// Revert puts the backup back in place of the target with one rename, so
// the backup is gone afterwards. Without a backup it returns an error
// wrapping ErrNoBackup and changes nothing.
func (r *Replace) Revert(ctx context.Context, target string) error {
	real, err := resolve(target)
	if err != nil {
		return err
	}
	bak, err := r.backupPath(real)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(bak)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("apply: revert %s: %w", target, ErrNoBackup)
	}
	if err != nil {
		return fmt.Errorf("apply: revert: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("apply: revert: backup %s is not a regular file: %w", bak, ErrNoBackup)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("apply: revert: %w", err)
	}
	return r.restore(real, bak)
}

func (r *Replace) doLink(oldname, newname string) error {
	if r.link != nil {
		return r.link(oldname, newname)
	}
	return os.Link(oldname, newname)
}

func (r *Replace) doRename(oldname, newname string) error {
	if r.rename != nil {
		return r.rename(oldname, newname)
	}
	return os.Rename(oldname, newname)
}

func (r *Replace) doSyncDir(dir string) error {
	sync := atomicfile.SyncDir
	if r.syncDir != nil {
		sync = r.syncDir
	}
	if err := sync(dir); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}
