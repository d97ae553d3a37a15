package server

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/source/feed"
)

// Build scans dir and returns, for each app found there, a Payload listing
// the app's files by the names platform.ParseFeedName understands; other files are
// ignored (and logged once to slog.Default). Every file is hashed. The
// payloads' Serial, Issued and Expires are left zero for whoever signs them
// (the Server does) to set; a file that cannot be read is an error. The
// folder's RolloutsFile adds the rollouts, pins and withdrawn releases; a
// rollouts file that is not valid is an error wrapping ErrRolloutsFile.
func Build(dir string) (map[string]*feed.Payload, error) {
	b := builder{log: slog.Default()}
	stats, err := listDir(dir)
	if err != nil {
		return nil, err
	}
	files, err := b.hashAll(dir, stats)
	if err != nil {
		return nil, err
	}
	ro, err := ReadRollouts(dir)
	if err != nil {
		return nil, err
	}
	apps := payloads(files)
	ro.apply(apps)
	return apps, nil
}

// fileStat is what one cheap stat says about a file in the folder; equal
// stats mean the file has not changed.
type fileStat struct {
	name string
	size int64
	mod  int64 // Unix nanoseconds, so stats compare with ==
}

// file is a file that names a release asset, with its digest.
type file struct {
	platform.FeedFile
	fileStat
	sha256 string
}

// builder hashes folder files, remembering each digest by name, size and
// modification time so that a rescan only hashes what changed.
type builder struct {
	log *slog.Logger
	// skipErrors makes a file that cannot be read a logged skip instead of
	// an error: a server keeps serving the rest of the folder.
	skipErrors bool
	hashes     map[fileStat]string
	ignored    map[string]bool
	// hashed counts the files read, for tests.
	hashed int
}

// listDir returns the regular files of dir (following symbolic links)
// whose names do not start with '.': a publisher writes a file under a dot
// name and renames it when complete, so half-written files are never seen.
func listDir(dir string) ([]fileStat, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	var stats []fileStat
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() {
			// Gone since ReadDir, a dangling link or not a file.
			continue
		}
		stats = append(stats, fileStat{name: name, size: fi.Size(), mod: fi.ModTime().UnixNano()})
	}
	return stats, nil
}

// hashAll returns the files among stats whose names parse, hashed.
func (b *builder) hashAll(dir string, stats []fileStat) ([]file, error) {
	if b.hashes == nil {
		b.hashes = make(map[fileStat]string)
		b.ignored = make(map[string]bool)
	}
	keep := make(map[fileStat]string, len(stats))
	var files []file
	for _, st := range stats {
		if st.name == RolloutsFile {
			continue // the plan for the releases, not one (rollout.go)
		}
		e, ok := platform.ParseFeedName(st.name)
		if !ok {
			if !b.ignored[st.name] {
				b.ignored[st.name] = true
				b.log.Info("feed: ignoring a file not named <app>-<version>-<os>-<arch>[.exe|.tar.gz|.tgz|.zip]",
					"dir", dir, "file", st.name)
			}
			continue
		}
		if st.size == 0 {
			// Being created; a feed cannot list an empty asset.
			continue
		}
		sum, ok := b.hashes[st]
		if !ok {
			var err error
			b.hashed++
			sum, err = hashFile(filepath.Join(dir, st.name), st.size)
			if err != nil {
				if !b.skipErrors {
					return nil, err
				}
				b.log.Warn("feed: skipping a file", "dir", dir, "file", st.name, "err", err)
				continue
			}
		}
		keep[st] = sum
		files = append(files, file{FeedFile: e, fileStat: st, sha256: sum})
	}
	b.hashes = keep
	return files, nil
}

// errChanged means a file changed size while it was hashed.
var errChanged = errors.New("file changed while it was read")

// hashFile returns the hex sha256 of the file at path, which must be size
// bytes long. It streams, so memory stays small whatever the file's size.
func hashFile(path string, size int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("feed: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", fmt.Errorf("feed: hash %s: %w", path, err)
	}
	if n != size {
		return "", fmt.Errorf("feed: hash %s: %w (%d bytes, expected %d)", path, errChanged, n, size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// payloads groups files by app and version into unsigned payloads, sorted
// (newest release first, assets by name) so that the same files always make
// the same payload.
func payloads(files []file) map[string]*feed.Payload {
	type key struct{ app, version string }
	releases := make(map[key]*feed.Release)
	versions := make(map[key]*semver.Version)
	out := make(map[string]*feed.Payload)
	for _, f := range files {
		v, err := semver.NewVersion(f.Version)
		if err != nil {
			continue // ParseFeedName only passes full versions
		}
		// v1.2.0 and 1.2.0 are one release.
		k := key{f.App, v.String()}
		r := releases[k]
		if r == nil {
			r = &feed.Release{Version: v.String()}
			releases[k], versions[k] = r, v
		}
		if mod := time.Unix(0, f.mod).UTC().Truncate(time.Second); mod.After(r.Published) {
			r.Published = mod
		}
		r.Assets = append(r.Assets, feed.Asset{
			Name:       f.name,
			OS:         f.OS,
			Arch:       f.Arch,
			Size:       f.size,
			SHA256:     f.sha256,
			URL:        url.PathEscape(f.name),
			Executable: f.Executable,
		})
		if out[f.App] == nil {
			out[f.App] = &feed.Payload{App: f.App}
		}
	}
	keys := make([]key, 0, len(releases))
	for k := range releases {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(a.app, b.app), versions[b].Compare(versions[a]))
	})
	for _, k := range keys {
		r := releases[k]
		slices.SortFunc(r.Assets, func(a, b feed.Asset) int { return strings.Compare(a.Name, b.Name) })
		out[k.app].Releases = append(out[k.app].Releases, *r)
	}
	return out
}
