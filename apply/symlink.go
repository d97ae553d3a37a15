package apply

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/molt-go/update/internal/atomicfile"
)

// Symlink installs every version in a directory of its own and points a
// link named current at the one in use:
//
//	Root/versions/1.4.0/hello
//	Root/versions/1.5.0/hello
//	Root/current  -> versions/1.5.0
//	Root/previous -> versions/1.4.0
//
// The program runs as Root/current/hello. A new version is built in a
// hidden directory, fsynced, marked complete and only then renamed into
// versions/; current is switched by renaming a new link over it, which is
// atomic. A crash at any moment therefore leaves current naming a complete
// version, the old one or the new one, never a half-written file.
//
// Apply calls for one Root must not run concurrently; the updater runs one
// at a time. Symlink needs symbolic links, so on Windows Stage, Apply and
// Revert return ErrUnsupported.
type Symlink struct {
	// Root holds versions/, current and previous. It is required.
	Root string
	// Keep is how many versions besides current are kept after an Apply;
	// older ones are removed. The previous version is always kept, so that
	// Revert works. If zero, 2 is used; a negative Keep keeps only current
	// and previous.
	Keep int

	hook func(step string) // called after each step of Apply, for crash tests
}

var _ Applier = (*Symlink)(nil)

// The names Symlink uses inside Root. Names that start with a dot in
// versions/ are never versions.
const (
	symlinkVersionsDir = "versions"
	symlinkCurrent     = "current"
	symlinkPrevious    = "previous"
	symlinkMarker      = ".complete" // in a version directory: it is whole; holds the install sequence
	symlinkStaging     = ".staging-"
	symlinkBuilding    = ".building-"
	symlinkTrash       = ".trash-"
	symlinkLinkTemp    = ".tmp-" // after current or previous: a link not yet renamed into place

	symlinkDefaultKeep = 2
	// symlinkStaleStaging is the age after which a staged file left in
	// versions/ by a crashed download is removed.
	symlinkStaleStaging = 24 * time.Hour
)

func (s *Symlink) step(name string) {
	if s.hook != nil {
		s.hook(name)
	}
}

func (s *Symlink) check() error {
	if err := symlinkSupported(); err != nil {
		return err
	}
	if s.Root == "" {
		return errors.New("apply: Symlink.Root is required")
	}
	return nil
}

func (s *Symlink) versionsDir() string { return filepath.Join(s.Root, symlinkVersionsDir) }

// Stage creates an empty file in Root/versions, on the file system where
// the versions live.
func (s *Symlink) Stage(target string) (*os.File, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.versionsDir(), 0o755); err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	f, err := os.CreateTemp(s.versionsDir(), symlinkStaging+"*")
	if err != nil {
		return nil, fmt.Errorf("apply: stage %s: %w", target, err)
	}
	return f, nil
}

// Apply installs c.Staged as Root/versions/<c.Version>/<base name of
// c.Target>, switches current to it and remembers the version it replaced
// as previous. A version already installed completely is reused. Versions
// beyond Keep are removed afterwards, best effort: a failure there is left
// for the next Apply and does not fail this one.
func (s *Symlink) Apply(ctx context.Context, c Change) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := symlinkValidVersion(c.Version); err != nil {
		return err
	}
	name := filepath.Base(c.Target)
	if name == "." || name == string(filepath.Separator) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("apply: bad target %q", c.Target)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	old, err := s.Current()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := s.install(c, name, old); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // the new version is in versions/ but not in use
	}
	if old != c.Version {
		// previous first: a crash between the two flips leaves
		// previous == current, which Revert treats as no backup.
		origPrev, _ := s.link(symlinkPrevious)
		if old != "" {
			if err := s.flip(symlinkPrevious, old); err != nil {
				return err
			}
			s.step("previous-flipped")
		}
		if err := s.flip(symlinkCurrent, c.Version); err != nil {
			if origPrev != "" {
				s.flip(symlinkPrevious, origPrev) // best effort: keep the older backup
			}
			return err
		}
		s.step("current-flipped")
	}
	prev, _ := s.link(symlinkPrevious)
	s.prune(c.Version, prev)
	s.step("pruned")
	return nil
}

// install makes Root/versions/<version> a complete version holding the
// staged file, or reuses it if it is one already.
func (s *Symlink) install(c Change, name, current string) error {
	versions := s.versionsDir()
	dir := filepath.Join(versions, c.Version)
	seq := s.nextSeq()
	if s.complete(c.Version, name) {
		// Renumber it so that it counts as the newest when pruning.
		if err := symlinkWriteMarker(dir, seq); err != nil {
			return fmt.Errorf("apply: reuse %s: %w", c.Version, err)
		}
		os.Remove(c.Staged)
		s.step("installed")
		return nil
	}
	if c.Version == current {
		return fmt.Errorf("apply: version %s is current but incomplete", c.Version)
	}
	mode := fs.FileMode(0o755)
	if current != "" {
		if fi, err := os.Stat(filepath.Join(versions, current, name)); err == nil {
			mode = fi.Mode().Perm() // the running version's mode, as the admin left it
		}
	}

	tmp, err := os.MkdirTemp(versions, symlinkBuilding+"*")
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	built := false
	defer func() {
		if !built {
			os.RemoveAll(tmp)
		}
	}()
	exe := filepath.Join(tmp, name)
	if err := os.Rename(c.Staged, exe); err != nil {
		return fmt.Errorf("apply: move staged file: %w", err)
	}
	if err := symlinkSyncFile(exe, mode); err != nil {
		os.Rename(exe, c.Staged) // give the caller back its file
		return fmt.Errorf("apply: %w", err)
	}
	s.step("moved")
	if err := symlinkWriteMarker(tmp, seq); err != nil {
		os.Rename(exe, c.Staged)
		return fmt.Errorf("apply: %w", err)
	}
	if err := symlinkSyncDir(tmp); err != nil {
		os.Rename(exe, c.Staged)
		return fmt.Errorf("apply: %w", err)
	}
	s.step("built")
	if _, err := os.Lstat(dir); err == nil {
		// Not complete, so not ours: an interrupted copy made by hand.
		if err := s.discard(c.Version); err != nil {
			os.Rename(exe, c.Staged)
			return fmt.Errorf("apply: replace incomplete %s: %w", c.Version, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(exe, c.Staged)
		return fmt.Errorf("apply: install %s: %w", c.Version, err)
	}
	built = true
	if err := symlinkSyncDir(versions); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	s.step("installed")
	return nil
}

// flip points the link Root/<name> at versions/<version> by renaming a new
// link over it.
func (s *Symlink) flip(name, version string) error {
	var b [8]byte
	rand.Read(b[:])
	tmp := filepath.Join(s.Root, name+symlinkLinkTemp+hex.EncodeToString(b[:]))
	if err := os.Symlink(filepath.Join(symlinkVersionsDir, version), tmp); err != nil {
		return fmt.Errorf("apply: link %s: %w", name, err)
	}
	s.step(name + "-linked")
	if err := os.Rename(tmp, filepath.Join(s.Root, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("apply: switch %s to %s: %w", name, version, err)
	}
	if err := symlinkSyncDir(s.Root); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}

// Revert switches current back to the version the last Apply replaced, and
// forgets it as previous so that a second Revert returns ErrNoBackup.
func (s *Symlink) Revert(ctx context.Context, target string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	prev, err := s.link(symlinkPrevious)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoBackup
	}
	if err != nil {
		return err
	}
	cur, err := s.Current()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if prev == cur || !s.complete(prev, filepath.Base(target)) {
		return fmt.Errorf("%w: previous version %q is current or incomplete", ErrNoBackup, prev)
	}
	if err := s.flip(symlinkCurrent, prev); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.Root, symlinkPrevious)); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return symlinkSyncDir(s.Root)
}

// Current returns the version that Root/current points at. The error wraps
// fs.ErrNotExist if nothing was installed yet.
func (s *Symlink) Current() (string, error) {
	return s.link(symlinkCurrent)
}

// link returns the version that the link Root/<name> points at.
func (s *Symlink) link(name string) (string, error) {
	if s.Root == "" {
		return "", errors.New("apply: Symlink.Root is required")
	}
	dest, err := os.Readlink(filepath.Join(s.Root, name))
	if err != nil {
		return "", fmt.Errorf("apply: %w", err)
	}
	dir, version := filepath.Split(filepath.Clean(dest))
	if filepath.Clean(dir) != symlinkVersionsDir || symlinkValidVersion(version) != nil {
		return "", fmt.Errorf("apply: %s points outside %s: %q", name, symlinkVersionsDir, dest)
	}
	return version, nil
}

// Versions returns the complete versions in Root/versions, oldest
// installed first.
func (s *Symlink) Versions() ([]string, error) {
	vs, err := s.installed()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.name
	}
	return names, nil
}

type symlinkVersion struct {
	name string
	seq  int
}

// installed lists the complete versions by install sequence.
func (s *Symlink) installed() ([]symlinkVersion, error) {
	if s.Root == "" {
		return nil, errors.New("apply: Symlink.Root is required")
	}
	entries, err := os.ReadDir(s.versionsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	var vs []symlinkVersion
	for _, e := range entries {
		if !e.IsDir() || symlinkValidVersion(e.Name()) != nil {
			continue
		}
		if seq, ok := symlinkReadMarker(filepath.Join(s.versionsDir(), e.Name())); ok {
			vs = append(vs, symlinkVersion{e.Name(), seq})
		}
	}
	slices.SortFunc(vs, func(a, b symlinkVersion) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), strings.Compare(a.name, b.name))
	})
	return vs, nil
}

func (s *Symlink) nextSeq() int {
	vs, _ := s.installed()
	if len(vs) == 0 {
		return 1
	}
	return vs[len(vs)-1].seq + 1
}

// complete reports whether versions/<version> is marked complete and holds
// the executable name.
func (s *Symlink) complete(version, name string) bool {
	dir := filepath.Join(s.versionsDir(), version)
	if _, ok := symlinkReadMarker(dir); !ok {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && fi.Mode().IsRegular()
}

// prune removes versions beyond Keep, never current or previous, and what
// crashed Applies left behind.
func (s *Symlink) prune(current, previous string) {
	keep := s.Keep
	if keep == 0 {
		keep = symlinkDefaultKeep
	}
	vs, err := s.installed()
	if err != nil {
		return
	}
	kept := 0
	for _, v := range slices.Backward(vs) {
		switch {
		case v.name == current:
		case v.name == previous:
			kept++ // counts as kept even beyond Keep
		case kept < keep:
			kept++
		default:
			s.discard(v.name)
		}
	}
	entries, _ := os.ReadDir(s.versionsDir())
	for _, e := range entries {
		path := filepath.Join(s.versionsDir(), e.Name())
		switch {
		case strings.HasPrefix(e.Name(), symlinkBuilding), strings.HasPrefix(e.Name(), symlinkTrash):
			os.RemoveAll(path)
		case strings.HasPrefix(e.Name(), symlinkStaging):
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > symlinkStaleStaging {
				os.Remove(path)
			}
		}
	}
	for _, link := range []string{symlinkCurrent, symlinkPrevious} {
		tmps, _ := filepath.Glob(filepath.Join(s.Root, link+symlinkLinkTemp+"*"))
		for _, t := range tmps {
			os.Remove(t)
		}
	}
}

// discard removes a version directory: first renamed aside in one atomic
// step, so that a crash halfway through the removal never leaves a version
// that looks complete but misses files.
func (s *Symlink) discard(version string) error {
	var b [8]byte
	rand.Read(b[:])
	trash := filepath.Join(s.versionsDir(), symlinkTrash+hex.EncodeToString(b[:]))
	if err := os.Rename(filepath.Join(s.versionsDir(), version), trash); err != nil {
		return err
	}
	return os.RemoveAll(trash)
}

// symlinkValidVersion accepts a version that is one plain file name.
func symlinkValidVersion(v string) error {
	if v == "" || v == "." || v == ".." || strings.HasPrefix(v, ".") ||
		strings.ContainsAny(v, `/\:`+"\x00") {
		return fmt.Errorf("apply: version %q cannot name a directory", v)
	}
	return nil
}

func symlinkReadMarker(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, symlinkMarker))
	if err != nil {
		return 0, false
	}
	seq, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return seq, err == nil
}

// symlinkWriteMarker writes dir's marker atomically, so a version once
// complete never looks incomplete.
func symlinkWriteMarker(dir string, seq int) error {
	return atomicfile.WriteFile(filepath.Join(dir, symlinkMarker), []byte(strconv.Itoa(seq)+"\n"), 0o644)
}

func symlinkSyncFile(path string, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Chmod(mode)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func symlinkSyncDir(dir string) error { return atomicfile.SyncDir(dir) }
