//go:build unix

package git

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestBuildTimeoutKillsGroup(t *testing.T) {
	t.Parallel()
	// The build starts a helper in the background and waits: the helper
	// must die with it, not only the shell.
	r := newRepo(t, Options{Repo: "unused", BuildTimeout: 300 * time.Millisecond,
		Build: []string{"sleep 600 & echo $! > helper.pid; wait"}})
	dir := t.TempDir()
	var out bytes.Buffer
	err := r.Build(context.Background(), dir, &out)
	if !errors.Is(err, ErrBuildTimeout) || errors.Is(err, ErrBuildFailed) {
		t.Fatalf("Build = %v, want ErrBuildTimeout", err)
	}
	b, rerr := os.ReadFile(filepath.Join(dir, "helper.pid"))
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if rerr != nil || perr != nil {
		t.Fatalf("helper.pid: %q %v %v", b, rerr, perr)
	}
	if gone := waitGone(pid); !gone {
		t.Errorf("the build's helper %d survived the timeout", pid)
	}
}

// waitGone waits a little for pid to disappear (or be a zombie nobody
// reaps, which is as dead): signals are asynchronous.
func waitGone(pid int) bool {
	for range 200 {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 && f[0] == "Z" {
				return true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}
