//go:build unix

package apply

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestApplyKeepsOwnerAndSetuid(t *testing.T) {
	t.Parallel()
	target := newTarget(t, "v1", 0o755)
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		// Only root can give a file away, and only root's Apply has to
		// give the new file the old one's owner.
		uid, gid = 1234, 1234
		if err := os.Chown(target, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	// After the chown, which clears the setuid bit.
	if err := os.Chmod(target, 0o755|fs.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	r := &Replace{}
	if err := r.Apply(context.Background(), Change{Target: target, Staged: stage(t, r, target, "v2")}); err != nil {
		t.Fatal(err)
	}
	wantContent(t, target, "v2")
	wantMode(t, target, 0o755|fs.ModeSetuid)
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("new file owned by %d:%d, want %d:%d", st.Uid, st.Gid, uid, gid)
	}
}

// stageHelperEnv makes TestHelperProcessStage run Stage on the target it
// names and print whether the error is fs.ErrPermission.
const stageHelperEnv = "MOLT_APPLY_STAGE_HELPER"

func TestHelperProcessStage(t *testing.T) {
	target := os.Getenv(stageHelperEnv)
	if target == "" {
		return // not a helper run
	}
	f, err := (&Replace{}).Stage(target)
	if err == nil {
		f.Close()
		os.Remove(f.Name())
	}
	fmt.Printf("uid=%d permission=%t err=%v\n", os.Geteuid(), errors.Is(err, fs.ErrPermission), err)
	os.Exit(0)
}

// TestStageReadOnlyDir stages beside a target in a directory the program
// may not write. Root may write anywhere, so as root the Stage runs in a
// child process as the user nobody.
func TestStageReadOnlyDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "bin")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "prog")
	if err := os.WriteFile(target, []byte("v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	before := listDir(t, dir)

	if os.Geteuid() != 0 {
		_, err := (&Replace{}).Stage(target)
		if !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("err = %v, want fs.ErrPermission", err)
		}
	} else {
		const nobody = 65534
		// The child must reach its own executable and the target.
		for _, d := range []string{filepath.Dir(root), root} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		exe := filepath.Join(root, "apply.test")
		copyExe(t, os.Args[0], exe)
		cmd := exec.Command(exe, "-test.run=^TestHelperProcessStage$")
		cmd.Env = append(os.Environ(), stageHelperEnv+"="+target)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper: %v\n%s", err, out)
		}
		if !strings.HasPrefix(string(out), fmt.Sprintf("uid=%d permission=true ", nobody)) {
			t.Fatalf("Stage as nobody in a read-only dir: %s", out)
		}
	}
	wantContent(t, target, "v1")
	if after := listDir(t, dir); !slices.Equal(before, after) {
		t.Errorf("dir held %q, holds %q after the failed Stage", before, after)
	}
}
