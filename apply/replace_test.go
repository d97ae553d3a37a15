package apply

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

var errInjected = errors.New("injected failure")

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// newTarget writes an executable "prog" holding content into a new
// directory and returns its path.
func newTarget(t *testing.T, content string, mode fs.FileMode) string {
	t.Helper()
	target := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(target, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, mode); err != nil {
		t.Fatal(err)
	}
	return target
}

// stage stages content for target through r and returns the staged path.
func stage(t *testing.T, r *Replace, target, content string) string {
	t.Helper()
	f, err := r.Stage(target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func wantContent(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Errorf("%s holds %q, want %q", filepath.Base(path), got, want)
	}
}

func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return // only the read-only attribute exists there
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode(); got != want {
		t.Errorf("%s has mode %v, want %v", filepath.Base(path), got, want)
	}
}

func TestApplyReplacesAndKeepsBackup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	target := newTarget(t, "old version", 0o751)
	dir := filepath.Dir(target)
	r := &Replace{}
	staged := stage(t, r, target, "new version")
	if filepath.Dir(staged) != dir {
		t.Fatalf("staged in %s, want beside the target in %s", filepath.Dir(staged), dir)
	}
	if err := r.Apply(ctx, Change{Target: target, Staged: staged, Version: "2.0.0"}); err != nil {
		t.Fatal(err)
	}
	wantContent(t, target, "new version")
	wantMode(t, target, 0o751)

	bak, err := BackupPath(target)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, ".prog.old"); bak != want {
		t.Errorf("BackupPath = %s, want %s", bak, want)
	}
	wantContent(t, bak, "old version")
	wantMode(t, bak, 0o751)
	if got := listDir(t, dir); !slices.Equal(got, []string{".prog.old", "prog"}) {
		t.Errorf("dir holds %q, want the target and its backup only", got)
	}

	// A second update replaces the backup with the version it replaces.
	if err := r.Apply(ctx, Change{Target: target, Staged: stage(t, r, target, "third"), Version: "3.0.0"}); err != nil {
		t.Fatal(err)
	}
	wantContent(t, target, "third")
	wantContent(t, bak, "new version")
	if got := listDir(t, dir); !slices.Equal(got, []string{".prog.old", "prog"}) {
		t.Errorf("dir holds %q, want the target and its backup only", got)
	}
}

func TestApplyCustomBackupName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	target := newTarget(t, "v1", 0o755)
	r := &Replace{Backup: "*.previous"}
	if err := r.Apply(ctx, Change{Target: target, Staged: stage(t, r, target, "v2")}); err != nil {
		t.Fatal(err)
	}
	bak, err := r.BackupPath(target)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(target), "prog.previous"); bak != want {
		t.Errorf("BackupPath = %s, want %s", bak, want)
	}
	wantContent(t, bak, "v1")
	if err := r.Revert(ctx, target); err != nil {
		t.Fatal(err)
	}
	wantContent(t, target, "v1")
}

func TestApplyRejectsBadBackupName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"*", "sub/*.old", ".."} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			target := newTarget(t, "v1", 0o755)
			r := &Replace{Backup: name}
			staged := stage(t, r, target, "v2")
			err := r.Apply(context.Background(), Change{Target: target, Staged: staged})
			if !errors.Is(err, fs.ErrInvalid) {
				t.Fatalf("err = %v, want fs.ErrInvalid", err)
			}
			wantContent(t, target, "v1")
			if got := listDir(t, filepath.Dir(target)); !slices.Equal(got, []string{"prog"}) {
				t.Errorf("dir holds %q after a failed Apply, want only prog", got)
			}
		})
	}
}

func TestApplyThroughSymlink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	target := newTarget(t, "real v1", 0o755)
	linkDir := t.TempDir()
	link := filepath.Join(linkDir, "prog-link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	r := &Replace{}
	staged := stage(t, r, link, "real v2")
	if filepath.Dir(staged) != filepath.Dir(target) {
		t.Fatalf("staged in %s, want in the link target's dir %s", filepath.Dir(staged), filepath.Dir(target))
	}
	if err := r.Apply(ctx, Change{Target: link, Staged: staged}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the link was replaced by a %v", fi.Mode())
	}
	if dest, err := os.Readlink(link); err != nil || dest != target {
		t.Errorf("link points to %q (%v), want %q", dest, err, target)
	}
	wantContent(t, target, "real v2")
	bak, err := BackupPath(link)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(target), ".prog.old"); bak != want {
		t.Errorf("BackupPath = %s, want %s", bak, want)
	}
	wantContent(t, bak, "real v1")
	if got := listDir(t, linkDir); !slices.Equal(got, []string{"prog-link"}) {
		t.Errorf("link dir holds %q, want only the link", got)
	}
	if err := r.Revert(ctx, link); err != nil {
		t.Fatal(err)
	}
	wantContent(t, target, "real v1")
}

func TestApplyFirstInstall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	target := filepath.Join(dir, "prog")
	r := &Replace{}
	if err := r.Apply(ctx, Change{Target: target, Staged: stage(t, r, target, "v1")}); err != nil {
		t.Fatal(err)
	}
	wantContent(t, target, "v1")
	wantMode(t, target, 0o755)
	if got := listDir(t, dir); !slices.Equal(got, []string{"prog"}) {
		t.Errorf("dir holds %q, want only prog", got)
	}
	if err := r.Revert(ctx, target); !errors.Is(err, ErrNoBackup) {
		t.Errorf("Revert after a first install: err = %v, want ErrNoBackup", err)
	}
}

func TestApplyStagedElsewhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	target := newTarget(t, "v1", 0o755)
	elsewhere := filepath.Join(t.TempDir(), "new")
	if err := os.WriteFile(elsewhere, []byte("v2"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &Replace{}
	err := r.Apply(ctx, Change{Target: target, Staged: elsewhere})
	if !errors.Is(err, ErrStagedElsewhere) {
		t.Fatalf("staged in another dir: err = %v, want ErrStagedElsewhere", err)
	}
	err = r.Apply(ctx, Change{Target: target, Staged: target})
	if !errors.Is(err, ErrStagedElsewhere) {
		t.Fatalf("staged is the target: err = %v, want ErrStagedElsewhere", err)
	}
	wantContent(t, target, "v1")
	wantContent(t, elsewhere, "v2") // not ours to remove
	if got := listDir(t, filepath.Dir(target)); !slices.Equal(got, []string{"prog"}) {
		t.Errorf("dir holds %q, want only prog", got)
	}
}

// TestApplyFailedSwapLeavesTarget makes the one rename that installs fail
// and checks that the target is the very same file, and the staged file gone.
func TestApplyFailedSwapLeavesTarget(t *testing.T) {
	t.Parallel()
	target := newTarget(t, "v1", 0o755)
	before, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &Replace{rename: func(oldname, newname string) error {
		if newname == target {
			return errInjected
		}
		return os.Rename(oldname, newname)
	}}
	staged := stage(t, r, target, "v2")
	err = r.Apply(context.Background(), Change{Target: target, Staged: staged})
	if !errors.Is(err, errInjected) {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	after, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the target is another file after a failed Apply")
	}
	wantContent(t, target, "v1")
	wantMode(t, target, 0o755)
	for _, name := range listDir(t, filepath.Dir(target)) {
		switch name {
		case "prog":
		case ".prog.old":
			wantContent(t, filepath.Join(filepath.Dir(target), name), "v1")
		default:
			t.Errorf("a failed Apply left %s beside the target", name)
		}
	}
}

func TestApplyFallsBackToCopyWithoutHardLinks(t *testing.T) {
	t.Parallel()
	target := newTarget(t, "v1", 0o750)
	r := &Replace{link: func(string, string) error { return errInjected }}
	if err := r.Apply(context.Background(), Change{Target: target, Staged: stage(t, r, target, "v2")}); err != nil {
		t.Fatal(err)
	}
	wantContent(t, target, "v2")
	bak := filepath.Join(filepath.Dir(target), ".prog.old")
	wantContent(t, bak, "v1")
	wantMode(t, bak, 0o750)
	if got := listDir(t, filepath.Dir(target)); !slices.Equal(got, []string{".prog.old", "prog"}) {
		t.Errorf("dir holds %q, want the target and its backup only", got)
	}
}

// TestApplyDirSyncFailureRollsBack: when the swap cannot be made durable,
// Apply reports failure, so the old version must be what the path holds.
func TestApplyDirSyncFailureRollsBack(t *testing.T) {
	t.Parallel()
	target := newTarget(t, "v1", 0o755)
	r := &Replace{syncDir: func(string) error { return errInjected }}
	err := r.Apply(context.Background(), Change{Target: target, Staged: stage(t, r, target, "v2")})
	if !errors.Is(err, errInjected) {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	wantContent(t, target, "v1")
	if got := listDir(t, filepath.Dir(target)); !slices.Equal(got, []string{"prog"}) {
		t.Errorf("dir holds %q, want only prog", got)
	}
}

func TestApplyCancelled(t *testing.T) {
	t.Parallel()
	target := newTarget(t, "v1", 0o755)
	r := &Replace{}
	staged := stage(t, r, target, "v2")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Apply(ctx, Change{Target: target, Staged: staged}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	wantContent(t, target, "v1")
	if got := listDir(t, filepath.Dir(target)); !slices.Equal(got, []string{"prog"}) {
		t.Errorf("dir holds %q, want only prog", got)
	}
}

func TestRevert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	target := newTarget(t, "v1", 0o700)
	r := &Replace{}
	if err := r.Apply(ctx, Change{Target: target, Staged: stage(t, r, target, "v2")}); err != nil {
		t.Fatal(err)
	}
	if err := r.Revert(ctx, target); err != nil {
		t.Fatal(err)
	}
	wantContent(t, target, "v1")
	wantMode(t, target, 0o700)
	if got := listDir(t, filepath.Dir(target)); !slices.Equal(got, []string{"prog"}) {
		t.Errorf("dir holds %q after Revert, want only prog", got)
	}
	if err := r.Revert(ctx, target); !errors.Is(err, ErrNoBackup) {
		t.Errorf("second Revert: err = %v, want ErrNoBackup", err)
	}
	wantContent(t, target, "v1")
}

func TestRevertWithoutBackup(t *testing.T) {
	t.Parallel()
	target := newTarget(t, "v1", 0o755)
	if err := (&Replace{}).Revert(context.Background(), target); !errors.Is(err, ErrNoBackup) {
		t.Fatalf("err = %v, want ErrNoBackup", err)
	}
	wantContent(t, target, "v1")
}

func TestRevertMissingTarget(t *testing.T) {
	t.Parallel()
	target := filepath.Join(t.TempDir(), "missing-dir", "prog")
	if err := (&Replace{}).Revert(context.Background(), target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}
