package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molt-go/update/internal/ghfake"
	"github.com/molt-go/update/source"
)

// hostile answers the release list (and the latest release) with misdeeds
// of its own, counting the bytes it wrote.
func hostile(f *ghfake.Server, mode string, written *atomic.Int64) {
	f.Do(func(st *ghfake.State) {
		st.Hook = func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.Contains(r.URL.Path, "/releases") {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			fl := w.(http.Flusher)
			switch mode {
			case "trickle": // a valid answer, one byte a second
				w.WriteHeader(http.StatusOK)
				for _, b := range []byte(`[{"tag_name":"v1.0.0","assets":[]}]`) {
					if _, err := w.Write([]byte{b}); err != nil {
						return true
					}
					written.Add(1)
					fl.Flush()
					select {
					case <-r.Context().Done():
						return true
					case <-time.After(time.Second):
					}
				}
			case "silent": // accepts, then says nothing
				<-r.Context().Done()
			case "endless": // an array of releases that never closes
				w.WriteHeader(http.StatusOK)
				w.Write([]byte("["))
				item := []byte(`{"tag_name":"v1.0.0","body":"` + strings.Repeat("x", 4000) + `","assets":[]},`)
				for {
					n, err := w.Write(item)
					written.Add(int64(n))
					if err != nil {
						return true
					}
				}
			case "endless pages": // every page links to one more
				n := 1
				fmt.Sscanf(r.URL.Query().Get("page"), "%d", &n)
				w.Header().Set("Link", fmt.Sprintf(`<%s/repos/acme/hello/releases?per_page=100&page=%d>; rel="next"`, f.APIURL(), n+1))
				w.Write([]byte(`[]`))
			}
			return true
		}
	})
}

// TestHostileReleaseList: a list trickled at a byte a second and one never
// answered end with ErrTimeout within the deadline; an endless one with
// ErrTooLarge after at most MaxMetadataSize bytes; endless pages with
// ErrBadMetadata; the caller's context ends a look with its own error.
func TestHostileReleaseList(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	for _, tc := range []struct {
		mode string
		want error
	}{
		{"trickle", ErrTimeout},
		{"silent", ErrTimeout},
		{"endless", ErrTooLarge},
		{"endless pages", source.ErrBadMetadata},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub(t, "acme", "hello")
			var written atomic.Int64
			hostile(f, tc.mode, &written)
			s := newSource(t, f, Options{Timeout: timeout, Channel: "beta"})
			start := time.Now()
			_, err := s.Releases(context.Background(), nil)
			took := time.Since(start)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Releases = %v, want %v", err, tc.want)
			}
			if errors.Is(tc.want, ErrTimeout) && (took < timeout || took > timeout+2*time.Second) {
				t.Errorf("ended after %v, want about %v", took, timeout)
			}
			// The server's count includes what the sockets buffer (a few MiB
			// on loopback) beyond the MaxMetadataSize+1 bytes the client reads.
			if n := written.Load(); n > 2*MaxMetadataSize {
				t.Errorf("the server wrote %d bytes of an endless answer, want at most about %d", n, MaxMetadataSize)
			}
			if errors.Is(tc.want, ErrTimeout) && !errors.Is(err, source.ErrUnavailable) {
				t.Errorf("a timeout should be ErrUnavailable (try later): %v", err)
			}
			if errors.Is(tc.want, ErrTooLarge) && !errors.Is(err, source.ErrBadMetadata) {
				t.Errorf("too large should be ErrBadMetadata: %v", err)
			}
		})
	}
	t.Run("caller's context", func(t *testing.T) {
		t.Parallel()
		f := newFakeGitHub(t, "acme", "hello")
		var written atomic.Int64
		hostile(f, "silent", &written)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := newSource(t, f, Options{}).Releases(ctx, nil)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
			t.Fatalf("Releases = %v, want the context's own error", err)
		}
	})
}

// TestHostileFiles: a signature file over its cap is refused before it is
// read.
func TestHostileFiles(t *testing.T) {
	t.Parallel()
	progs := programs("1.2.3")
	sums := sumsOf(progs...)
	huge := ghfake.File{Name: "SHA256SUMS.minisig", Data: make([]byte, MaxSignatureSize+1)}
	_, _, err := listOne(t, append(append([]ghfake.File(nil), progs...), ghfake.File{Name: "SHA256SUMS", Data: sums}, huge),
		fakeSig{suffixes: []string{".minisig"}}, Options{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a signature file of %d bytes: %v, want ErrTooLarge", len(huge.Data), err)
	}
}
