//go:build unix

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/internal/ghfake"
	"github.com/molt-go/update/internal/memtest"
	"github.com/molt-go/update/source/github"
	"github.com/molt-go/update/verify"
)

// misbehave makes the fake GitHub answer every request for the release
// list, or the latest release, in one hostile way:
//
//   - "trickle": a valid answer, one byte a second;
//   - "silent": the connection accepted, then nothing;
//   - "endless": a JSON array of releases that never ends.
func misbehave(gh *ghfake.Server, mode string) {
	gh.Do(func(st *ghfake.State) {
		st.Hook = func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.Contains(r.URL.Path, "/releases") {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			switch mode {
			case "trickle":
				w.WriteHeader(http.StatusOK)
				for _, b := range []byte(`[{"tag_name":"v1.1.0","assets":[]}]`) {
					if _, err := w.Write([]byte{b}); err != nil {
						return true
					}
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return true
					case <-time.After(time.Second):
					}
				}
			case "silent":
				<-r.Context().Done()
			case "endless":
				w.WriteHeader(http.StatusOK)
				w.Write([]byte("["))
				item := []byte(`{"tag_name":"v1.1.0","body":"` + strings.Repeat("x", 8000) + `","assets":[]},`)
				for {
					if _, err := w.Write(item); err != nil {
						return true
					}
				}
			}
			return true
		}
	})
}

// TestGitHubHostileMetadata: a release list trickled at a byte a second
// and one never answered end hello's look with ErrTimeout once the
// metadata deadline is past, and an endless one with ErrTooLarge, in
// bounded memory (the real process's peak resident size is measured); in
// every case hello goes on as 1.0.0 and nothing is left on disk: no staged
// file beside it, no cache file claiming an answer it never had.
func TestGitHubHostileMetadata(t *testing.T) {
	t.Parallel()
	const deadline = 3 * time.Second
	// hello's own start and exit around its look, on a loaded machine.
	const slack = 10 * time.Second
	for _, tc := range []struct {
		mode string
		want error
		says string // in hello's error line
	}{
		{"trickle", github.ErrTimeout, "took too long"},
		{"silent", github.ErrTimeout, "took too long"},
		{"endless", github.ErrTooLarge, "too large"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			gh := newGitHub(t)
			misbehave(gh, tc.mode)

			// In process: the error is typed.
			w := newWorld(t)
			start := time.Now()
			err := w.refused(tc.want, func(o *update.Options) {
				src, err := github.New(github.Options{Owner: gh.Owner, Repo: gh.Repo, BaseURL: gh.APIURL(), App: "hello",
					Timeout: deadline, Logger: quietLogger()})
				if err != nil {
					t.Fatal(err)
				}
				o.Source, o.Verifier = src, verify.MustSignature(readFile(t, filepath.Join(ghDist, "cosign.pub")))
			})
			took := time.Since(start)
			t.Logf("in process: ended after %v: %v", took.Round(time.Millisecond), err)
			if tc.want == github.ErrTimeout && (took < deadline || took > deadline+slack) {
				t.Errorf("in process: ended after %v, want about %v", took, deadline)
			}
			if ue, _ := errors.AsType[*update.Error](err); ue == nil || ue.Step != update.StepFind {
				t.Errorf("in process: %v, want a failure to find", err)
			}

			// A real hello.
			h := installHello(t, gh)
			before := snap(t, h.target)
			start = time.Now()
			out, errOut, rss := runMeasured(t, h, "-github-timeout", deadline.String())
			took = time.Since(start)
			h.refused(before, out, errOut, tc.says)
			t.Logf("hello ran %v, peak resident size %d MiB", took.Round(time.Millisecond), rss>>20)
			if took > deadline+slack || (tc.want == github.ErrTimeout && took < deadline) {
				t.Errorf("hello ran %v, want about %v", took, deadline)
			}
			// An endless list is read up to MaxMetadataSize and no further;
			// hello with sigstore-go linked in starts at a few tens of MiB.
			if limit := int64(4*github.MaxMetadataSize + 64<<20); runtime.GOOS == "linux" && (rss == 0 || rss > limit) {
				t.Errorf("peak resident size %d MiB, want some, under %d MiB", rss>>20, limit>>20)
			}
			noLeftovers(t, h)
		})
	}
}

// runMeasured runs the installed hello like helloInstall.run and returns
// its output and, on Linux, its peak resident size in bytes (0 elsewhere).
// The peak is the kernel's high-water mark of the process's own memory
// (VmHWM), read as it runs: the resource usage reported at its end is no
// good here, since Linux carries over into it the size of the process that
// started it, this test.
func runMeasured(t testing.TB, h *helloInstall, args ...string) (string, string, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"-github", h.gh.Owner + "/" + h.gh.Repo, "-github-api", h.gh.APIURL(), "-state", h.state,
		"-key", filepath.Join(ghDist, "cosign.pub")}
	cmd := exec.CommandContext(ctx, h.target, append(base, args...)...)
	cmd.Env = append(os.Environ(), "GITHUB_TOKEN=")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var max int64
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if v := memtest.PeakRSSOf(status); v > max {
				max = v
			}
			select {
			case <-done:
				peak <- max
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if err != nil {
		t.Fatalf("hello: %v\n%s", err, errb.String())
	}
	return out.String(), errb.String(), <-peak
}

// noLeftovers fails the test if a refused look left a file in hello's
// folder or a cache file in its state directory.
func noLeftovers(t testing.TB, h *helloInstall) {
	t.Helper()
	filepath.WalkDir(h.state, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(h.state, p)
		if strings.HasPrefix(rel, "github"+string(filepath.Separator)) || strings.HasPrefix(filepath.Base(p), ".") {
			t.Errorf("left in the state directory: %s", rel)
		}
		return nil
	})
	ents, _ := os.ReadDir(filepath.Dir(h.target))
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("hello's folder holds %v, want only hello", names)
	}
}
