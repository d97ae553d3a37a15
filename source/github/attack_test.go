package github

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/internal/ghfake"
	"github.com/molt-go/update/internal/memtest"
	"github.com/molt-go/update/updatetest"
	"github.com/molt-go/update/verify"
)

// Attacks on an updater reading GitHub releases, through the real updater
// and the fake API (internal/ghfake) on loopback, named as go-tuf names its
// tests. bounds_test.go holds the same attacks on the source alone.

// attackTimeout is Options.Timeout in these tests, so that they take
// seconds; the default (DefaultTimeout) is asserted apart.
const attackTimeout = time.Second

// attackSlack is what a loaded machine under -race may add to a bound.
const attackSlack = 8 * time.Second

// attackFixture is v1.1.0 of hello for this platform, published on a fake
// GitHub as goreleaser publishes it (a .tar.gz, checksums.txt and its
// cosign signature), and an installed hello 1.0.0 to update.
type attackFixture struct {
	f       *ghfake.Server
	key     *testKey
	archive string // the .tar.gz's name
	tgz     []byte // its bytes
	dir     string // hello's folder and its state directory
	target  string
	// lists and assets count the requests for the release list and for
	// the archive that the hooks saw.
	lists, assets atomic.Int64
}

func newAttackFixture(t *testing.T, dir string) *attackFixture {
	t.Helper()
	x := &attackFixture{
		f:       newFakeGitHub(t, "acme", "hello"),
		key:     newTestKey(t),
		archive: "hello_1.1.0_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz",
		dir:     dir,
	}
	x.tgz = helloTarGz(t, []byte("hello 1.1.0"))
	sums := sumsOf(ghfake.File{Name: x.archive, Data: x.tgz})
	x.f.Add(ghfake.Release{Tag: "v1.1.0", Files: []ghfake.File{
		{Name: x.archive, Data: x.tgz},
		{Name: "checksums.txt", Data: sums},
		{Name: "checksums.txt.sig", Data: x.key.sig(t, sums)},
	}})
	x.target = filepath.Join(dir, "hello")
	if err := os.WriteFile(x.target, []byte("hello 1.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	return x
}

// helloTarGz is a .tar.gz holding the executable hello.
func helloTarGz(t testing.TB, exe []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(exe))}); err != nil {
		t.Fatal(err)
	}
	tw.Write(exe)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// source is the GitHub source for the fake, with the short timeout.
func (x *attackFixture) source(t testing.TB, o Options) *Source {
	t.Helper()
	o.App = "hello"
	if o.Timeout == 0 {
		o.Timeout = attackTimeout
	}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return newSource(t, x.f, o)
}

// updater updates x.target from src, with a quick stall watchdog.
func (x *attackFixture) updater(t testing.TB, src *Source) *update.Updater {
	t.Helper()
	u, err := update.New(update.Options{
		App: "hello", Version: "1.0.0", Source: src, Verifier: x.key.verifier(t),
		Target: x.target, StateDir: filepath.Join(x.dir, "state"),
		Restarter: &updatetest.Restarter{}, SkipProbe: true,
		StallInterval: 300 * time.Millisecond, StallBytes: 1024, Retries: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// isList tells a request for the release list (or the latest release).
func isList(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, "/releases") || strings.HasSuffix(r.URL.Path, "/releases/latest")
}

// trickle writes body one byte a second after the headers, until the
// client goes.
func trickle(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	w.WriteHeader(status)
	fl := w.(http.Flusher)
	for _, b := range body {
		if _, err := w.Write([]byte{b}); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// misbehave makes the fake answer the release list, or the archive, in
// one hostile way:
//
//   - "list trickled": a valid list, one byte a second;
//   - "list silent": the headers, then nothing;
//   - "asset trickled": the archive (ranges honoured), one byte a second.
func (x *attackFixture) misbehave(mode string) {
	x.f.Do(func(st *ghfake.State) {
		st.Hook = func(w http.ResponseWriter, r *http.Request) bool {
			if !isList(r) {
				return false
			}
			x.lists.Add(1)
			switch mode {
			case "list trickled":
				w.Header().Set("Content-Type", "application/json")
				trickle(w, r, http.StatusOK, []byte(`[{"tag_name":"v1.1.0","assets":[]}]`))
				return true
			case "list silent":
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				return true
			}
			return false
		}
		st.StoreHook = func(w http.ResponseWriter, r *http.Request) bool {
			if mode != "asset trickled" || !strings.HasSuffix(r.URL.Path, "/"+x.archive) {
				return false
			}
			x.assets.Add(1)
			body := x.tgz
			// Ranges as GitHub's storage answers them, so a resumed
			// attempt is trickled from where the last one stopped.
			status, from := http.StatusOK, 0
			if rg := r.Header.Get("Range"); rg != "" {
				n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
				if err == nil && n < len(body) {
					status, from = http.StatusPartialContent, n
					w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(body)-1, len(body)))
				}
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)-from))
			trickle(w, r, status, body[from:])
			return true
		}
	})
}

// TestSlowRetrievalGitHub: a release list trickled at a byte a second, a
// list whose body never comes, and an archive trickled at a byte a second
// each end Check with a typed error within its bound (the metadata
// deadline, Options.Timeout; the stall watchdog), leave hello as it was,
// and do not hold Watch from its next round.
func TestSlowRetrievalGitHub(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode  string
		want  error
		bound time.Duration // of one Check
	}{
		{"list trickled", ErrTimeout, attackTimeout},
		{"list silent", ErrTimeout, attackTimeout},
		// Two attempts, each cut at the first stall tick, and the
		// second's wait of a second.
		{"asset trickled", update.ErrStalled, 2*300*time.Millisecond + time.Second},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			x := newAttackFixture(t, t.TempDir())
			// The archive trickles at the storage host, which is reached
			// by the asset's public URL.
			x.misbehave(tc.mode)
			u := x.updater(t, x.source(t, Options{}))

			start := time.Now()
			_, err := u.Check(context.Background())
			took := time.Since(start)
			if !errors.Is(err, tc.want) || !errors.Is(err, update.ErrUnavailable) && tc.want == ErrTimeout {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			if took > tc.bound+attackSlack {
				t.Errorf("Check took %v, more than its bound %v", took, tc.bound)
			}
			if tc.want == ErrTimeout && took < tc.bound {
				t.Errorf("Check ended after %v, before the deadline %v", took, tc.bound)
			}
			t.Logf("Check ended after %v: %v", took.Round(time.Millisecond), err)
			if b, _ := os.ReadFile(x.target); string(b) != "hello 1.0.0" {
				t.Errorf("hello is %q after a refused update", b)
			}

			// Watch comes back for its next round: the fake sees the
			// requests of a second round after the first one's.
			lists, assets := x.lists.Load(), x.assets.Load()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- u.Watch(ctx, 100*time.Millisecond) }()
			waitUntil(t, 2*(tc.bound+attackSlack), "two rounds of Watch", func() bool {
				if tc.mode == "asset trickled" {
					return x.assets.Load() >= assets+3 // two attempts, then the next round's
				}
				return x.lists.Load() >= lists+2
			})
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("Watch = %v, want context.Canceled", err)
			}
			if b, _ := os.ReadFile(x.target); string(b) != "hello 1.0.0" {
				t.Errorf("hello is %q after Watch", b)
			}
			noLeftovers(t, x.dir, "hello", "state")
		})
	}
}

// TestSlowRetrievalGitHubDefaults: the bounds the tests above shorten have
// their documented defaults when Options leave them zero.
func TestSlowRetrievalGitHubDefaults(t *testing.T) {
	t.Parallel()
	if DefaultTimeout != time.Minute {
		t.Errorf("DefaultTimeout = %v, documented as a minute", DefaultTimeout)
	}
	s := newSource(t, newFakeGitHub(t, "acme", "hello"), Options{})
	if s.timeout != DefaultTimeout {
		t.Errorf("the zero Options' metadata deadline is %v, want DefaultTimeout (%v)", s.timeout, DefaultTimeout)
	}
}

// waitUntil polls cond every 10 ms until it holds, or fails t after d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// noLeftovers fails t if dir holds anything but keep, or a temporary file
// in its state directory.
func noLeftovers(t *testing.T, dir string, keep ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !slices.Contains(keep, e.Name()) {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	state, _ := os.ReadDir(filepath.Join(dir, "state"))
	for _, e := range state {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind in the state directory: %s", e.Name())
		}
	}
}

// Endless data, each case in a child process whose memory is measured
// (internal/memtest): the fake runs here, the updater in the child.

// endlessGrowth bounds what an endless answer may add to the child's peak
// resident size: the release list is read through a cap of
// MaxMetadataSize (16 MiB), whose buffer grows by doubling, and the
// collector may let one garbage copy live beside it; nothing else of the
// answer is held. The race detector's shadow memory multiplies it.
const endlessGrowth = 64 << 20

const (
	endlessAPIEnv = "MOLT_ENDLESS_API"
	endlessDirEnv = "MOLT_ENDLESS_DIR"
	endlessKeyEnv = "MOLT_ENDLESS_KEY"
)

// TestEndlessDataGitHub: an endless release list and a checksums file of
// 1 GiB (streamed, never held, and listed as a small file as a lying API
// would) are refused with ErrTooLarge, in bounded memory, and leave
// nothing on disk.
func TestEndlessDataGitHub(t *testing.T) {
	if !memtest.Supported() {
		t.Skip("the peak resident size is read from /proc (Linux)")
	}
	t.Parallel()
	for _, mode := range []string{"endless list", "checksums of 1 GiB"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			x := newAttackFixture(t, dir)
			var written atomic.Int64
			x.f.Do(func(st *ghfake.State) {
				st.Hook = func(w http.ResponseWriter, r *http.Request) bool {
					if mode != "endless list" || !isList(r) {
						return false
					}
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte("["))
					item := []byte(`{"tag_name":"v1.1.0","body":"` + strings.Repeat("x", 8000) + `","assets":[]},`)
					for {
						n, err := w.Write(item)
						written.Add(int64(n))
						if err != nil {
							return true
						}
					}
				}
				st.StoreHook = func(w http.ResponseWriter, r *http.Request) bool {
					if mode != "checksums of 1 GiB" || !strings.HasSuffix(r.URL.Path, "/checksums.txt") {
						return false
					}
					line := []byte(strings.Repeat("0", 64) + "  hello_1.1.0_linux_amd64.tar.gz\n")
					for n := int64(0); n < 1<<30; n += int64(len(line)) {
						m, err := w.Write(line)
						written.Add(int64(m))
						if err != nil {
							return true
						}
					}
					return true
				}
			})
			keyFile := filepath.Join(t.TempDir(), "key.pub")
			if err := os.WriteFile(keyFile, x.key.pub, 0o644); err != nil {
				t.Fatal(err)
			}
			m := memtest.Run(t, "TestEndlessDataGitHubChild", mode,
				endlessAPIEnv+"="+x.f.APIURL(), endlessDirEnv+"="+dir, endlessKeyEnv+"="+keyFile)
			t.Logf("%s: the child's %v; the server wrote %d MiB", mode, m, written.Load()>>20)
			if limit := int64(endlessGrowth * memtest.RaceFactor); m.Peak == 0 || m.Growth() > limit {
				t.Errorf("the child's %v, want under %d MiB over its baseline", m, limit>>20)
			}
			// What the client read (at most its cap and one byte) plus what
			// the sockets buffer on loopback.
			if n := written.Load(); n > 2*MaxMetadataSize {
				t.Errorf("the server wrote %d MiB of an endless answer, want about %d at most", n>>20, MaxMetadataSize>>20)
			}
			if b, _ := os.ReadFile(x.target); string(b) != "hello 1.0.0" {
				t.Errorf("hello is %q after a refused update", b)
			}
			noLeftovers(t, dir, "hello", "state")
		})
	}
}

// TestEndlessDataGitHubChild is the updater's half of TestEndlessDataGitHub,
// in a process of its own.
func TestEndlessDataGitHubChild(t *testing.T) {
	mode := memtest.Case(t)
	baseline := memtest.PeakRSS()
	dir := os.Getenv(endlessDirEnv)
	pub, err := os.ReadFile(os.Getenv(endlessKeyEnv))
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(Options{
		Owner: "acme", Repo: "hello", App: "hello", BaseURL: os.Getenv(endlessAPIEnv), Timeout: time.Minute,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := update.New(update.Options{
		App: "hello", Version: "1.0.0", Source: src, Verifier: verify.MustSignature(pub),
		Target: filepath.Join(dir, "hello"), StateDir: filepath.Join(dir, "state"),
		Restarter: &updatetest.Restarter{}, SkipProbe: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = u.Check(context.Background())
	memtest.Report(memtest.Measured{Baseline: baseline, Peak: memtest.PeakRSS()})
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, update.ErrBadMetadata) {
		t.Fatalf("%s: Check = %v, want ErrTooLarge (ErrBadMetadata)", mode, err)
	}
}
