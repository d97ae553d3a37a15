package update_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/internal/archive"
	"github.com/molt-go/update/internal/memtest"
	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/updatetest"
	"github.com/molt-go/update/verify"
)

// Endless data through the feed client, each case in a child process whose
// memory is measured (internal/memtest): the hostile server runs in the
// test, the updater in the child.

// endlessGrowth bounds what a case may add to the child's peak resident
// size: the feed is read through its cap (feed.MaxFeedSize, 16 MiB), in a
// buffer that grows by doubling; an archive streams through a 1 MiB ring
// to its staged file and is extracted in small buffers, so a bomb costs
// time and no memory. memtest.RaceFactor widens it under -race.
const endlessGrowth = 64 << 20

// bombJunk is what the bomb's first entry expands to: 4 GiB of zeros,
// ahead of the executable, as the 14 MB .tar.gz of the issue that was read
// to its end.
const bombJunk int64 = 4 << 30

const (
	endlessURLEnv = "MOLT_ENDLESS_URL"
	endlessDirEnv = "MOLT_ENDLESS_DIR"
	endlessKeyEnv = "MOLT_ENDLESS_KEY"
)

// bombTarGz is a .tar.gz whose first entry expands to junk bytes of zeros
// and whose second is the executable hello. It is made of concatenated
// gzip members (which every gzip reader reads as one stream), so the 4 GiB
// are compressed once as 1 MiB, not written out.
func bombTarGz(t *testing.T, junk int64, exe []byte) []byte {
	t.Helper()
	const chunk = 1 << 20
	if junk%chunk != 0 {
		t.Fatalf("junk %d is not a multiple of %d", junk, chunk)
	}
	member := func(data []byte) []byte {
		var b bytes.Buffer
		gz, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		gz.Write(data)
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	// The junk entry's header alone: its body follows in other members.
	var head bytes.Buffer
	if err := tar.NewWriter(&head).WriteHeader(&tar.Header{
		Name: "share/junk.bin", Typeflag: tar.TypeReg, Mode: 0o644, Size: junk,
	}); err != nil {
		t.Fatal(err)
	}
	var tail bytes.Buffer
	tw := tar.NewWriter(&tail)
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(exe))}); err != nil {
		t.Fatal(err)
	}
	tw.Write(exe)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	out := member(head.Bytes())
	zeros := member(make([]byte, chunk))
	for range junk / chunk {
		out = append(out, zeros...)
	}
	return append(out, member(tail.Bytes())...)
}

// TestEndlessDataFeed: a .tar.gz that expands to 4 GiB ahead of its
// executable is refused at the extract step (archive.ErrTooLarge) after
// its decompression budget, and an endless feed.json with ErrBadMetadata
// after the feed's cap; both in bounded memory, leaving nothing on disk.
func TestEndlessDataFeed(t *testing.T) {
	if !memtest.Supported() {
		t.Skip("the peak resident size is read from /proc (Linux)")
	}
	t.Parallel()
	priv, pub, err := feed.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := feed.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	bomb := bombTarGz(t, bombJunk, []byte("hello 1.1.0"))
	name := platform.FeedName("hello", "1.1.0", runtime.GOOS, runtime.GOARCH, platform.TarGz)
	sum := sha256.Sum256(bomb)
	now := time.Now()
	signed, err := feed.Sign(&feed.Payload{
		App: "hello", Serial: now.Unix(), Issued: now, Expires: now.Add(24 * time.Hour),
		Releases: []feed.Release{{Version: "1.1.0", Assets: []feed.Asset{{
			Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH, Size: int64(len(bomb)),
			SHA256: hex.EncodeToString(sum[:]), URL: name,
		}}}},
	}, signer)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.pub")
	if err := os.WriteFile(keyFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, mode := range []string{"tar.gz bomb", "endless feed"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			var written atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/hello/feed.json" && mode == "endless feed":
					// A feed whose releases never end.
					w.Write([]byte(`{"payload":{"app":"hello","releases":[`))
					item := []byte(`{"version":"1.1.0","notes":"` + strings.Repeat("x", 8000) + `","assets":[]},`)
					for {
						n, err := w.Write(item)
						written.Add(int64(n))
						if err != nil {
							return
						}
					}
				case r.URL.Path == "/hello/feed.json":
					w.Write(signed)
				case r.URL.Path == "/hello/"+name:
					http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(bomb))
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			dir := t.TempDir()
			target := filepath.Join(dir, "hello")
			if err := os.WriteFile(target, []byte("hello 1.0.0"), 0o755); err != nil {
				t.Fatal(err)
			}
			m := memtest.Run(t, "TestEndlessDataFeedChild", mode,
				endlessURLEnv+"="+srv.URL+"/hello/feed.json", endlessDirEnv+"="+dir, endlessKeyEnv+"="+keyFile)
			t.Logf("%s (%d KiB of archive): the child's %v", mode, len(bomb)>>10, m)
			if limit := int64(endlessGrowth * memtest.RaceFactor); m.Peak == 0 || m.Growth() > limit {
				t.Errorf("the child's %v, want under %d MiB over its baseline", m, limit>>20)
			}
			if n := written.Load(); n > 2*feed.MaxFeedSize {
				t.Errorf("the server wrote %d MiB of an endless feed, want about %d at most", n>>20, feed.MaxFeedSize>>20)
			}
			if b, _ := os.ReadFile(target); string(b) != "hello 1.0.0" {
				t.Errorf("hello is %q after a refused update", b)
			}
			assertNoLeftovers(t, dir, "hello", "state")
			state, _ := os.ReadDir(filepath.Join(dir, "state"))
			for _, e := range state {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("left behind in the state directory: %s", e.Name())
				}
			}
		})
	}
}

// TestEndlessDataFeedChild is the updater's half of TestEndlessDataFeed, in
// a process of its own.
func TestEndlessDataFeedChild(t *testing.T) {
	mode := memtest.Case(t)
	baseline := memtest.PeakRSS()
	dir := os.Getenv(endlessDirEnv)
	pub, err := os.ReadFile(os.Getenv(endlessKeyEnv))
	if err != nil {
		t.Fatal(err)
	}
	u, err := update.New(update.Options{
		App: "hello", Version: "1.0.0", Source: feed.New(os.Getenv(endlessURLEnv)), Verifier: verify.MustSignature(pub),
		Target: filepath.Join(dir, "hello"), StateDir: filepath.Join(dir, "state"),
		Restarter: &updatetest.Restarter{}, SkipProbe: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = u.Check(context.Background())
	memtest.Report(memtest.Measured{Baseline: baseline, Peak: memtest.PeakRSS()})
	var ue *update.Error
	switch mode {
	case "tar.gz bomb":
		if !errors.Is(err, archive.ErrTooLarge) || !errors.As(err, &ue) || ue.Step != update.StepExtract {
			t.Fatalf("Check = %v, want archive.ErrTooLarge at the extract step", err)
		}
	case "endless feed":
		if !errors.Is(err, update.ErrBadMetadata) || !errors.As(err, &ue) || ue.Step != update.StepFind {
			t.Fatalf("Check = %v, want ErrBadMetadata at the find step", err)
		}
	}
	t.Logf("%s: %v", mode, err)
}
