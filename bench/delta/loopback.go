package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/molt-go/update/delta"
	"github.com/molt-go/update/verify"
)

// loopback times what the updater does over HTTP from 127.0.0.1: fetch the
// full new file and check its sha256, against hash the installed file (to
// find the patch that starts from it), fetch the patch and apply it as it
// streams in with delta.Patcher, which holds the result to the signed size
// and digest, the patch ending only once its own sha256 has checked;
// and the patch once more without hashing the installed file, as when the
// updater installed it and remembers its digest. All write the new file
// to a new file, as the updater stages each download in a temporary file of
// its own: writing over the same file again made the step after a full
// download wait on the kernel freeing its 61 MB. It returns the medians of
// rounds, interleaved.
func loopback(work string, p pair, patch string, rounds int) (full, molt, remembered time.Duration, err error) {
	want, err := digest(p.new)
	if err != nil {
		return 0, 0, 0, err
	}
	fi, err := os.Stat(p.new)
	if err != nil {
		return 0, 0, 0, err
	}
	newSize, signed := fi.Size(), verify.Digest{Algorithm: verify.SHA256, Sum: want}
	sum, err := digest(patch)
	if err != nil {
		return 0, 0, 0, err
	}
	patchSum := verify.Digest{Algorithm: verify.SHA256, Sum: sum}
	mux := http.NewServeMux()
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, p.new) })
	mux.HandleFunc("/patch", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, patch) })
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	defer srv.Close()
	var out string // the step's own output file, removed after it is timed

	getFull := func() error {
		resp, err := http.Get(srv.URL + "/new")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(f, h), resp.Body); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if !bytes.Equal(h.Sum(nil), want) {
			return fmt.Errorf("downloaded file has the wrong sha256")
		}
		return nil
	}
	getPatch := func(hashOld bool) error {
		if hashOld {
			if _, err := digest(p.old); err != nil {
				return err
			}
		}
		// As the updater does: the patch streams into Patch as it
		// downloads, and its end comes only once its sha256 has checked.
		resp, err := http.Get(srv.URL + "/patch")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body := &checkedReader{r: resp.Body, h: verify.NewHasher(patchSum)}
		old, err := os.Open(p.old)
		if err != nil {
			return err
		}
		defer old.Close()
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		if err := (delta.Patcher{}).Patch(context.Background(), old, body, f, newSize, signed); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	var fulls, molts, memos []run
	for range rounds {
		for _, step := range []struct {
			f   func() error
			dst *[]run
		}{
			{getFull, &fulls},
			{func() error { return getPatch(true) }, &molts},
			{func() error { return getPatch(false) }, &memos},
		} {
			out = filepath.Join(work, fmt.Sprintf("loopback-%d.out", len(fulls)+len(molts)+len(memos)))
			start := time.Now()
			err := step.f()
			took := time.Since(start)
			os.Remove(out)
			if err != nil {
				return 0, 0, 0, err
			}
			*step.dst = append(*step.dst, run{wall: took})
		}
	}
	return median(fulls).wall, median(molts).wall, median(memos).wall, nil
}

func digest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// checkedReader hashes what it reads and ends (io.EOF) only if that
// checks, as the updater's stream of a patch does.
type checkedReader struct {
	r io.Reader
	h *verify.Hasher
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	if err == io.EOF {
		if cerr := c.h.Check(); cerr != nil {
			err = cerr
		}
	}
	return n, err
}
