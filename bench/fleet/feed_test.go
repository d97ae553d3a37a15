package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/server"
	"github.com/molt-go/update/source/feed"
)

// BenchmarkFeed304 is the server's cost of one 304 to a polling machine,
// without the network: the handler alone, on a folder of one release,
// answering a conditional GET of the feed that names the current ETag.
//
//	cd bench && go test -run X -bench Feed304 -benchmem ./fleet
func BenchmarkFeed304(b *testing.B) {
	dir := b.TempDir()
	name := platform.FeedName(appName, "1.0.0", runtime.GOOS, runtime.GOARCH, platform.Bare)
	if err := os.WriteFile(filepath.Join(dir, name), []byte("fleet 1.0.0"), 0o755); err != nil {
		b.Fatal(err)
	}
	// Published an hour ago: the steady state, not the second after a
	// change in which every request lists the folder (server/dirwatch.go).
	past := time.Now().Add(-time.Hour)
	for _, p := range []string{filepath.Join(dir, name), dir} {
		if err := os.Chtimes(p, past, past); err != nil {
			b.Fatal(err)
		}
	}
	priv, _, err := feed.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	signer, err := feed.LoadSigner(priv)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Options{Dir: dir, Signer: signer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	get := func(etag string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/"+appName+"/feed.json", nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		return w
	}
	etag := get("").Header().Get("ETag")
	req := httptest.NewRequest(http.MethodGet, "/"+appName+"/feed.json", nil)
	req.Header.Set("If-None-Match", etag)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discard{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			w.status = 0
			srv.ServeHTTP(w, req)
			if w.status != http.StatusNotModified {
				b.Fatalf("status %d, want 304", w.status)
			}
		}
	})
}

// discard is a ResponseWriter that keeps only the status.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.status = code }
