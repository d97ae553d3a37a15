package update

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/molt-go/update/verify"
)

// TestTargetDigestRemembered: a remembered digest is used while the file's
// stamp is unchanged, and the file is hashed once it changed, even to the
// same size and modification time.
func TestTargetDigestRemembered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(path, []byte("version one"), 0o755); err != nil {
		t.Fatal(err)
	}
	made := verify.Digest{Algorithm: verify.SHA256, Sum: bytes.Repeat([]byte{7}, 32)} // not the file's: shows where the answer came from
	s := &state{}
	// A digest that is not sha256 is not remembered.
	if rememberInstalled(s, path, verify.Digest{Algorithm: "sha512", Sum: make([]byte, 64)}); s.Installed != nil {
		t.Errorf("a sha512 digest was remembered: %+v", s.Installed)
	}
	rememberInstalled(s, path, made)
	got, err := targetDigest(path, s)
	if err != nil || got.String() != made.String() {
		t.Fatalf("targetDigest with a fresh memo = %v, %v; want the remembered %v", got, err, made)
	}

	// Rewrite the file in place to the same size and modification time:
	// only its change time tells, once the kernel's clock (coarse, a tick
	// of up to 10 ms) has moved on.
	fi, _ := os.Stat(path)
	if fileStampSys(fi) == "" {
		t.Skip("here a file's stamp is its size and modification time alone: a rewrite that keeps both is not seen")
	}
	for deadline := time.Now().Add(2 * time.Second); ; {
		time.Sleep(20 * time.Millisecond)
		if err := os.WriteFile(path, []byte("version two"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
		now, _ := os.Stat(path)
		if fileStamp(now) != s.Installed.Stamp || time.Now().After(deadline) {
			break
		}
	}
	got, err = targetDigest(path, s)
	want := sha256.Sum256([]byte("version two"))
	if err != nil || !bytes.Equal(got.Sum, want[:]) {
		t.Fatalf("targetDigest after the file changed (same size and mtime) = %v, %v; want its real sha256 %x", got, err, want)
	}

}

// TestInstallRemembersDigest: after an update, the state holds the new
// executable's sha256 and stamp, and survives a reload.
func TestInstallRemembersDigest(t *testing.T) {
	t.Parallel()
	f := newPatchFixture(t)
	o := f.options(t)
	f.check(t, o, true)
	s, err := loadState(o.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(o.Target)
	if s.Installed == nil || s.Installed.Digest != sha(f.new).String() || s.Installed.Stamp != fileStamp(fi) {
		t.Fatalf("state remembers %+v, want %s with the target's stamp %q", s.Installed, sha(f.new), fileStamp(fi))
	}
}

// TestStaleDigestFallsBack: a remembered digest that is wrong for the file
// (its stamp forged to match) makes the updater try the patch, which then
// fails the signed digest: the full download installs, nothing is lost.
func TestStaleDigestFallsBack(t *testing.T) {
	t.Parallel()
	f := newPatchFixture(t)
	o := f.options(t)
	other := bytes.Clone(f.old)
	other[50000] ^= 0xff // a byte the patch copies
	if err := os.WriteFile(o.Target, other, 0o755); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(o.Target)
	if err := saveState(o.StateDir, &state{Installed: &installedFile{Digest: sha(f.old).String(), Stamp: fileStamp(fi)}}); err != nil {
		t.Fatal(err)
	}
	f.check(t, o, false)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opened["patch"] != 1 {
		t.Fatalf("downloads %v: the remembered digest should have picked the patch", f.opened)
	}
	assertOnly(t, o.Target)
}
