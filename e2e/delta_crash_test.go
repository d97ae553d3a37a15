//go:build unix

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDeltaKillDuringPatch kills hello with SIGKILL at several points of
// an update through a patch: while the patch downloads (a proxy sends so
// many of its bytes, then holds) and while the patch is applied (hello is
// stopped once the new file it writes beside the old reaches so many
// bytes). After every kill the installed binary is byte for byte the old
// one and runs; the next run cleans what the kill left, updates through
// the patch, and leaves only the program and its backup.
func TestDeltaKillDuringPatch(t *testing.T) {
	// hello is about 40 MB: applying its patch writes tens of 1 MiB
	// blocks, so the kills below land inside the apply.
	d, oldBytes, newBytes := startHelloDeltaServer(t)
	p := d.patch
	h := d.install(t, "client", oldBytes)

	// Undisturbed: through the patch, and the state directory it leaves.
	out, errOut := h.run(t)
	if strings.TrimSpace(out) != "hello 1.1.0" || !slices.Equal(downloadEvents(errOut), []string{"patch ok"}) {
		t.Fatalf("undisturbed run printed %q, downloads %v\n%s", out, downloadEvents(errOut), errOut)
	}
	wantState := names(t, h.state)
	reset := func() {
		t.Helper()
		for _, n := range names(t, h.bin) {
			os.Remove(filepath.Join(h.bin, n))
		}
		if err := writeFile(h.target, oldBytes, 0o755); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(h.state)
		d.reset()
	}

	type point struct {
		patchBytes int64 // download: kill once the proxy has sent this many bytes of the patch
		outBytes   int64 // apply: kill once the new file holds this many bytes
	}
	var points []point
	for _, k := range []int64{0, p.Size / 3, 2 * p.Size / 3, p.Size - 1} {
		points = append(points, point{patchBytes: k, outBytes: -1})
	}
	for _, f := range []int64{1, 3, 5, 7, 9} {
		n := int64(len(newBytes)) * f / 10
		if n <= p.Size {
			t.Fatalf("kill point %d is within the patch's %d bytes", n, p.Size)
		}
		points = append(points, point{patchBytes: -1, outBytes: n})
	}

	midApply := 0
	for _, pt := range points {
		name := fmt.Sprintf("patch byte %d", pt.patchBytes)
		if pt.outBytes >= 0 {
			name = fmt.Sprintf("new file byte %d of %d", pt.outBytes, len(newBytes))
		}
		t.Run(name, func(t *testing.T) {
			reset()
			var left []string
			if pt.patchBytes >= 0 {
				left = killInDownload(t, d, h, pt.patchBytes)
			} else {
				var mid bool
				left, mid = killInApply(t, h, pt.outBytes, int64(len(newBytes)))
				if mid {
					midApply++
				}
			}
			if got := readFile(t, h.target); !bytes.Equal(got, oldBytes) {
				t.Fatalf("after the kill the installed file is %d bytes, not the old binary", len(got))
			}
			if v := versionOf(t, h.target); v != "1.0.0" {
				t.Fatalf("after the kill the installed program says %s", v)
			}
			d.reset()
			out, errOut := h.run(t)
			if strings.TrimSpace(out) != "hello 1.1.0" {
				t.Fatalf("the run after the kill printed %q\n%s", out, errOut)
			}
			if ev := downloadEvents(errOut); !slices.Equal(ev, []string{"patch ok"}) {
				t.Errorf("the run after the kill downloaded %v, want the patch\n%s", ev, errOut)
			}
			sameBytes(t, h.target, d.published)
			h.onlyProgramAndBackup(t)
			if got := names(t, h.state); !slices.Equal(got, wantState) {
				t.Errorf("state directory holds %v, want %v", got, wantState)
			}
			t.Logf("the kill left %v beside the program; the next run cleaned it", left)
		})
	}
	if midApply < 3 {
		t.Fatalf("only %d of the apply kills landed while the new file was incomplete", midApply)
	}
}

// killInDownload runs hello while the proxy holds the patch after k bytes,
// and kills it there. It returns what the kill left beside the program.
func killInDownload(t *testing.T, d *deltaServer, h *installed, k int64) []string {
	t.Helper()
	reached := make(chan struct{})
	var once sync.Once
	d.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".molt-patch") {
			return false
		}
		resp, err := http.Get(d.ps.base + strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return true
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Length", resp.Header.Get("Content-Length"))
		w.WriteHeader(resp.StatusCode)
		io.CopyN(w, resp.Body, k)
		w.(http.Flusher).Flush()
		once.Do(func() { close(reached) })
		<-r.Context().Done() // until hello dies
		return true
	})
	cmd, done := startHello(t, h)
	select {
	case <-reached:
	case <-done:
		t.Fatal("hello ended before the patch was held")
	case <-time.After(2 * time.Minute):
		t.Fatal("hello never fetched the patch")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	return names(t, h.bin)
}

// killInApply runs hello, stops it once a file it writes beside the
// program holds at least n bytes, and kills it. It returns what the kill
// left there, and whether the new file was then still short of its full
// size (the kill landed inside the apply).
func killInApply(t *testing.T, h *installed, n, full int64) ([]string, bool) {
	t.Helper()
	cmd, done := startHello(t, h)
	staged := filepath.Join(h.bin, "."+filepath.Base(h.target)+".new-*")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-done:
			t.Fatalf("hello ended before its new file reached %d bytes", n)
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			t.Fatalf("no new file reached %d bytes in 2 minutes", n)
		}
		if largest(staged) >= n {
			break
		}
		time.Sleep(200 * time.Microsecond)
	}
	cmd.Process.Signal(syscall.SIGSTOP)
	size := largest(staged)
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	return names(t, h.bin), size >= n && size < full
}

// largest is the size of the largest file matching pattern, or -1.
func largest(pattern string) int64 {
	paths, _ := filepath.Glob(pattern)
	var n int64 = -1
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			n = max(n, fi.Size())
		}
	}
	return n
}

// startHello starts the installed hello updating; done is closed when it
// has exited.
func startHello(t *testing.T, h *installed) (*exec.Cmd, chan struct{}) {
	t.Helper()
	cmd := exec.Command(h.target, h.args()...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return cmd, done
}
