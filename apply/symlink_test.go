//go:build !windows

package apply

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const symlinkTestExe = "app"

// symlinkTestContent is the executable of version v, big enough that writing
// it is not instantaneous.
func symlinkTestContent(v string) []byte {
	return bytes.Repeat([]byte("molt test binary "+v+"\n"), 8000)
}

// symlinkStageAndApply installs version v the way the updater does.
func symlinkStageAndApply(t *testing.T, s *Symlink, v string) error {
	t.Helper()
	target := filepath.Join(s.Root, symlinkCurrent, symlinkTestExe)
	f, err := s.Stage(target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(symlinkTestContent(v)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return s.Apply(context.Background(), Change{Target: target, Staged: f.Name(), Version: v})
}

func mustSymlinkApply(t *testing.T, s *Symlink, v string) {
	t.Helper()
	if err := symlinkStageAndApply(t, s, v); err != nil {
		t.Fatalf("Apply %s: %v", v, err)
	}
}

// checkSymlinkConsistent asserts that current, and previous if present,
// resolve to complete versions holding exactly their bytes, and returns the
// current version.
func checkSymlinkConsistent(t *testing.T, root string) string {
	t.Helper()
	current := ""
	for _, link := range []string{symlinkCurrent, symlinkPrevious} {
		dest, err := os.Readlink(filepath.Join(root, link))
		if link == symlinkPrevious && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", link, err)
		}
		v := filepath.Base(dest)
		if _, err := os.Stat(filepath.Join(root, link, symlinkMarker)); err != nil {
			t.Errorf("%s -> %s has no completion marker: %v", link, dest, err)
		}
		got, err := os.ReadFile(filepath.Join(root, link, symlinkTestExe))
		if err != nil {
			t.Fatalf("%s -> %s: %v", link, dest, err)
		}
		if !bytes.Equal(got, symlinkTestContent(v)) {
			t.Errorf("%s -> %s holds %d bytes that are not version %s", link, dest, len(got), v)
		}
		if link == symlinkCurrent {
			current = v
		}
	}
	return current
}

func TestSymlinkAppliesVersions(t *testing.T) {
	t.Parallel()
	s := &Symlink{Root: t.TempDir()}
	if _, err := s.Current(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Current before any Apply: %v, want fs.ErrNotExist", err)
	}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		mustSymlinkApply(t, s, v)
		if got := checkSymlinkConsistent(t, s.Root); got != v {
			t.Errorf("after Apply %s current is %s", v, got)
		}
	}
	if cur, err := s.Current(); err != nil || cur != "1.2.0" {
		t.Errorf("Current = %q, %v; want 1.2.0", cur, err)
	}
	if prev, err := s.link(symlinkPrevious); err != nil || prev != "1.1.0" {
		t.Errorf("previous = %q, %v; want 1.1.0", prev, err)
	}
	vs, err := s.Versions()
	if err != nil || !slices.Equal(vs, []string{"1.0.0", "1.1.0", "1.2.0"}) {
		t.Errorf("Versions = %q, %v", vs, err)
	}
	fi, err := os.Stat(filepath.Join(s.Root, symlinkCurrent, symlinkTestExe))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("installed file: %v, %v; want mode 0755", fi, err)
	}
	// Nothing staged or temporary is left behind.
	entries, _ := os.ReadDir(s.versionsDir())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left in versions/: %s", e.Name())
		}
	}
	links, _ := filepath.Glob(filepath.Join(s.Root, "*"+symlinkLinkTemp+"*"))
	if len(links) > 0 {
		t.Errorf("temporary links left: %q", links)
	}
}

func TestSymlinkKeepPrunes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		keep int
		want []string
	}{
		{"default", 0, []string{"3", "4", "5"}},
		{"one", 1, []string{"4", "5"}},
		{"previous always kept", -1, []string{"4", "5"}},
		{"more than installed", 10, []string{"1", "2", "3", "4", "5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &Symlink{Root: t.TempDir(), Keep: tc.keep}
			for _, v := range []string{"1", "2", "3", "4", "5"} {
				mustSymlinkApply(t, s, v)
			}
			vs, err := s.Versions()
			if err != nil || !slices.Equal(vs, tc.want) {
				t.Errorf("Versions = %q, %v; want %q", vs, err, tc.want)
			}
			entries, _ := os.ReadDir(s.versionsDir())
			if len(entries) != len(tc.want) {
				t.Errorf("versions/ holds %d entries, want %d", len(entries), len(tc.want))
			}
			checkSymlinkConsistent(t, s.Root)
		})
	}
}

func TestSymlinkRevert(t *testing.T) {
	t.Parallel()
	s := &Symlink{Root: t.TempDir()}
	target := filepath.Join(s.Root, symlinkCurrent, symlinkTestExe)
	if err := s.Revert(context.Background(), target); !errors.Is(err, ErrNoBackup) {
		t.Errorf("Revert with nothing installed: %v, want ErrNoBackup", err)
	}
	mustSymlinkApply(t, s, "1")
	if err := s.Revert(context.Background(), target); !errors.Is(err, ErrNoBackup) {
		t.Errorf("Revert after the first Apply: %v, want ErrNoBackup", err)
	}
	mustSymlinkApply(t, s, "2")
	if err := s.Revert(context.Background(), target); err != nil {
		t.Fatalf("Revert: %v", err)
	}
	if got := checkSymlinkConsistent(t, s.Root); got != "1" {
		t.Errorf("after Revert current is %s, want 1", got)
	}
	if err := s.Revert(context.Background(), target); !errors.Is(err, ErrNoBackup) {
		t.Errorf("second Revert: %v, want ErrNoBackup", err)
	}
}

func TestSymlinkReappliesInstalledVersion(t *testing.T) {
	t.Parallel()
	s := &Symlink{Root: t.TempDir()}
	mustSymlinkApply(t, s, "1")
	mustSymlinkApply(t, s, "2")
	mustSymlinkApply(t, s, "1")
	if got := checkSymlinkConsistent(t, s.Root); got != "1" {
		t.Errorf("current is %s, want 1", got)
	}
	if prev, _ := s.link(symlinkPrevious); prev != "2" {
		t.Errorf("previous is %q, want 2", prev)
	}
	if vs, _ := s.Versions(); !slices.Equal(vs, []string{"2", "1"}) {
		t.Errorf("Versions = %q, want the reapplied one newest", vs)
	}
	staged, _ := filepath.Glob(filepath.Join(s.versionsDir(), symlinkStaging+"*"))
	if len(staged) > 0 {
		t.Errorf("staged files left: %q", staged)
	}
	// Applying the current version again changes nothing.
	mustSymlinkApply(t, s, "1")
	if prev, _ := s.link(symlinkPrevious); prev != "2" {
		t.Errorf("previous is %q after reapplying current, want 2", prev)
	}
}

func TestSymlinkRejectsBadInput(t *testing.T) {
	t.Parallel()
	s := &Symlink{Root: t.TempDir()}
	mustSymlinkApply(t, s, "1")
	for _, v := range []string{"", ".", "..", "../x", "a/b", ".hidden", `a\b`} {
		target := filepath.Join(s.Root, symlinkCurrent, symlinkTestExe)
		f, err := s.Stage(target)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := s.Apply(context.Background(), Change{Target: target, Staged: f.Name(), Version: v}); err == nil {
			t.Errorf("Apply of version %q succeeded", v)
		}
		os.Remove(f.Name())
	}
	if got := checkSymlinkConsistent(t, s.Root); got != "1" {
		t.Errorf("current is %s after bad Applies, want 1", got)
	}
	if _, err := (&Symlink{}).Stage("x"); err == nil {
		t.Error("Stage without Root succeeded")
	}
}

func TestSymlinkCancelledApplyKeepsCurrent(t *testing.T) {
	t.Parallel()
	s := &Symlink{Root: t.TempDir()}
	mustSymlinkApply(t, s, "1")
	target := filepath.Join(s.Root, symlinkCurrent, symlinkTestExe)
	f, err := s.Stage(target)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(symlinkTestContent("2"))
	f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Apply(ctx, Change{Target: target, Staged: f.Name(), Version: "2"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply with a cancelled context: %v, want context.Canceled", err)
	}
	if got := checkSymlinkConsistent(t, s.Root); got != "1" {
		t.Errorf("current is %s, want 1", got)
	}
}

func TestSymlinkIgnoresIncompleteVersion(t *testing.T) {
	t.Parallel()
	s := &Symlink{Root: t.TempDir()}
	mustSymlinkApply(t, s, "1")
	// A version directory without its marker, as a copy cut short leaves.
	half := filepath.Join(s.versionsDir(), "2")
	if err := os.MkdirAll(half, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(half, symlinkTestExe), []byte("half"), 0o755)
	if vs, _ := s.Versions(); !slices.Equal(vs, []string{"1"}) {
		t.Errorf("Versions = %q, want only the complete one", vs)
	}
	mustSymlinkApply(t, s, "2")
	if got := checkSymlinkConsistent(t, s.Root); got != "2" {
		t.Errorf("current is %s, want 2 rebuilt whole", got)
	}
}
