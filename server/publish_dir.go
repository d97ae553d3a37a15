package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/molt-go/update/internal/atomicfile"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
)

// DirStore is a Store in a local folder: key a/b is the file Dir/a/b. Any
// static web server (nginx, a CDN's origin, http.FileServer) then serves
// the folder, and a Client reads https://host/<app>/ from it.
//
// Each file is written under a temporary dot name in its final folder,
// flushed to disk and renamed into place, so a web server serves either
// the old file or the whole new one, never a part; Publish puts the feed
// last, so the feed never names a file that is not complete.
type DirStore struct {
	// Dir is the folder served. Required; it is created if missing.
	Dir string
}

var _ Store = (*DirStore)(nil)

// path returns the file for key, refusing a key that would leave Dir.
func (d *DirStore) path(key string) (string, error) {
	if d.Dir == "" {
		return "", errors.New("feed: DirStore has no Dir")
	}
	parts := strings.Split(key, "/")
	for _, p := range parts {
		if !feed.ValidName(p) || strings.HasPrefix(p, ".") {
			return "", fmt.Errorf("feed: key %q is not a relative path of plain names", key)
		}
	}
	return filepath.Join(append([]string{d.Dir}, parts...)...), nil
}

// Get reads the file for key; a missing file is an error wrapping
// source.ErrNotFound and fs.ErrNotExist.
func (d *DirStore) Get(ctx context.Context, key string) ([]byte, error) {
	path, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("feed: %w: %w", source.ErrNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, feed.MaxFeedSize+1))
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	if len(data) > feed.MaxFeedSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", source.ErrBadMetadata, path, feed.MaxFeedSize)
	}
	return data, nil
}

// Has reports whether the file for key has size bytes hashing to sum. It
// reads the file to hash it: a file changed behind the publisher's back is
// put again.
func (d *DirStore) Has(ctx context.Context, key string, size int64, sum string) (bool, error) {
	path, err := d.path(key)
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("feed: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() != size {
		return false, nil
	}
	got, err := hashFile(path, size)
	if errors.Is(err, errChanged) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return got == sum, nil
}

// Put writes body to the file for key atomically (temporary file, fsync,
// rename, fsync of the folder). Bytes that are not size long or do not
// hash to sum are refused with an error, and nothing is replaced.
func (d *DirStore) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum string) (err error) {
	path, err := d.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	// A dot name: the Server and most static hosts' listings skip it.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), &ctxReader{ctx: ctx, r: io.LimitReader(body, size+1)})
	if err != nil {
		return fmt.Errorf("feed: writing %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != size || got != sum {
		return fmt.Errorf("feed: %s: %w (%d bytes with sha256 %s, expected %d with %s)",
			key, errChanged, n, got, size, sum)
	}
	// Served by web servers running as other users.
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	return nil
}

// ctxReader stops a copy when ctx ends, so a cancelled publish stops
// writing a large file.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
