package update_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/updatetest"
)

// Attacks on the download, named as go-tuf names its tests.

// TestSlowRetrievalAssetTrickled: a mirror that sends the asset's headers
// and then one byte a second is cut by the stall watchdog, every retry as
// well, and Check ends with ErrStalled within its bound; nothing changes
// on disk. Through the in-memory source and through the feed client.
func TestSlowRetrievalAssetTrickled(t *testing.T) {
	t.Parallel()
	for _, via := range []string{"memory", "http"} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			repo := updatetest.NewRepo(t, "hello")
			body := make([]byte, 64<<10)
			repo.Publish("1.1.0", body)
			repo.Trickle(repo.AssetName("1.1.0"), time.Second)
			var src source.Source = repo.Source()
			if via == "http" {
				src = feed.New(repo.URL())
			}
			dir := t.TempDir()
			target := filepath.Join(dir, "hello")
			os.WriteFile(target, []byte("hello 1.0.0"), 0o755)
			u, err := update.New(update.Options{
				App: "hello", Version: "1.0.0", Source: src, Verifier: repo.Verifier(),
				Target: target, StateDir: filepath.Join(dir, "state"),
				Restarter: &updatetest.Restarter{}, SkipProbe: true,
				StallInterval: 300 * time.Millisecond, StallBytes: 1024, Retries: 1,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = u.Check(context.Background())
			took := time.Since(start)
			if !errors.Is(err, update.ErrStalled) {
				t.Fatalf("Check of a trickled asset = %v, want ErrStalled", err)
			}
			// Two attempts of an interval or so each (an attempt is cut at
			// the first tick with too little progress, and a resumed HTTP
			// request first skips what it already has, at the trickle's
			// pace), the one-second wait between, and slack for a busy
			// machine: seconds, where the trickle would take 18 hours.
			if bound := 6 * time.Second; took > bound {
				t.Errorf("Check took %v, more than its bound %v", took, bound)
			}
			if b, _ := os.ReadFile(target); string(b) != "hello 1.0.0" {
				t.Errorf("installed %q after a stalled download", b)
			}
			assertNoLeftovers(t, dir, "hello", "state")
		})
	}
}
