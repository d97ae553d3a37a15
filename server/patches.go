package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"github.com/molt-go/update/delta"
	"github.com/molt-go/update/internal/archive"
	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/source/feed"
)

// Patches are made between the executables of a release and those of the
// newest earlier releases of the same platform, and listed in the feed on
// the new release's asset (feed.Patch). They are cached in a folder,
// PatchDir, laid out as
//
//	<PatchDir>/<app>/<from>-<version>-<os>-<arch>.molt-patch
//
// where <from> is the first 16 hex digits of the old executable's sha256
// and <version>-<os>-<arch> the new asset's. The file name is also the
// patch's name in the feed and in the store. A cached patch is reused only
// if its header names both exact executables (their whole sha256), so the
// cache key is the pair of executables; a patch found too large is cached
// as an empty ".skip" file holding the same pair, so it is not made again.

const (
	// DefaultPatches is how many earlier releases of each platform patches
	// are made from when Options.Patches is zero.
	DefaultPatches = 3
	// DefaultPatchMaxFraction is the largest patch kept, as a fraction of
	// the full asset's size, when PatchMaxFraction is zero.
	DefaultPatchMaxFraction = 0.5
	// PatchExt ends every patch file's name.
	PatchExt = ".molt-patch"
	// patchDirName is the default cache, in the release folder: a dot name,
	// so the folder scan ignores it.
	patchDirName = ".patches"
)

// patchConfig resolves the Patches options shared by Options and
// PublishOptions: n <= 0 means off. Off is the zero value's choice because
// making patches costs seconds of CPU per pair of large binaries in the
// request that first sees them; pkgserver turns them on (-patches 3).
func patchConfig(dir string, n int, frac float64, cache string) (int, float64, string, error) {
	switch {
	case frac < 0 || frac > 1:
		return 0, 0, "", fmt.Errorf("feed: PatchMaxFraction %v is not between 0 and 1", frac)
	case n < 0:
		n = 0
	}
	if frac == 0 {
		frac = DefaultPatchMaxFraction
	}
	if cache == "" {
		cache = filepath.Join(dir, patchDirName)
	}
	return n, frac, cache, nil
}

// patcher adds patches to payloads, making the ones its cache lacks.
type patcher struct {
	n        int     // earlier releases per platform; 0 turns patches off
	fraction float64 // a patch must be smaller than this times the asset
	cache    string
	log      *slog.Logger
	// diff makes one patch; a test seam (nil means delta.Diff).
	diff func(old, new []byte, w io.Writer) error

	mu sync.Mutex
	// made counts the patches made (not found in the cache), for tests.
	made int
}

type exeInfo struct {
	sha256 string
	size   int64
}

// patchFile is a patch the feed lists, where its bytes are.
type patchFile struct {
	path   string
	size   int64
	sha256 string
}

// add lists patches on the assets of apps (read from dir), making those
// not cached, and returns the patch files by "<app>/<name>". A patch that
// cannot be made is logged and left out: the full asset still works.
func (pt *patcher) add(ctx context.Context, dir string, apps map[string]*feed.Payload) map[string]patchFile {
	out := make(map[string]patchFile)
	if pt == nil || pt.n <= 0 {
		return out
	}
	for app, p := range apps {
		// Releases are newest first.
		for i := range p.Releases {
			for ai := range p.Releases[i].Assets {
				a := &p.Releases[i].Assets[ai]
				if a.OS == "" || a.Arch == "" {
					continue
				}
				seen := 0
				for j := i + 1; j < len(p.Releases) && seen < pt.n; j++ {
					old := pickAsset(p.Releases[j].Assets, a.OS, a.Arch)
					if old == nil {
						continue
					}
					seen++
					pf, patch, err := pt.one(ctx, dir, app, p.Releases[i].Version, old, a)
					if err != nil {
						pt.log.Warn("feed: no patch", "app", app, "from", old.Name, "to", a.Name, "err", err)
						continue
					}
					if patch == nil {
						continue
					}
					a.Patches = append(a.Patches, *patch)
					out[app+"/"+patch.Name] = pf
				}
			}
		}
	}
	return out
}

// pickAsset returns the asset of assets for os/arch, the first by name
// (assets are sorted), preferring a bare executable.
func pickAsset(assets []feed.Asset, goos, arch string) *feed.Asset {
	var first *feed.Asset
	for i := range assets {
		a := &assets[i]
		if a.OS != goos || a.Arch != arch {
			continue
		}
		if platform.FormatOf(a.Name) == platform.Bare {
			return a
		}
		if first == nil {
			first = a
		}
	}
	return first
}

// one returns the patch from old's executable to a's, from the cache or
// made now; nil if it is too large or the executables are the same.
func (pt *patcher) one(ctx context.Context, dir, app, version string, old, a *feed.Asset) (patchFile, *feed.Patch, error) {
	oldExe, oldPath, cleanOld, err := pt.executable(ctx, dir, app, old)
	if err != nil {
		return patchFile{}, nil, err
	}
	defer cleanOld()
	newExe, newPath, cleanNew, err := pt.executable(ctx, dir, app, a)
	if err != nil {
		return patchFile{}, nil, err
	}
	defer cleanNew()
	if oldExe.sha256 == newExe.sha256 {
		return patchFile{}, nil, nil
	}
	name := oldExe.sha256[:16] + "-" + version + "-" + a.OS + "-" + a.Arch + PatchExt
	folder := filepath.Join(pt.cache, app)
	path := filepath.Join(folder, name)
	pair := oldExe.sha256 + " " + newExe.sha256 + "\n"
	limit := int64(pt.fraction * float64(a.Size))

	if b, err := os.ReadFile(path + ".skip"); err == nil && string(b) == pair {
		return patchFile{}, nil, nil
	}
	pf, ok := cachedPatch(path, oldExe.sha256, newExe.sha256)
	if !ok {
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return patchFile{}, nil, err
		}
		if err := pt.make(oldPath, newPath, folder, path); err != nil {
			return patchFile{}, nil, err
		}
		if pf, ok = cachedPatch(path, oldExe.sha256, newExe.sha256); !ok {
			return patchFile{}, nil, fmt.Errorf("the patch made at %s does not read back", path)
		}
		pt.log.Info("feed: patch made", "app", app, "from", old.Name, "to", a.Name, "bytes", pf.size, "of", a.Size)
	}
	if pf.size >= limit {
		pt.log.Info("feed: patch too large, skipped", "app", app, "from", old.Name, "to", a.Name,
			"bytes", pf.size, "limit", limit)
		_ = os.WriteFile(path+".skip", []byte(pair), 0o644)
		_ = os.Remove(path)
		return patchFile{}, nil, nil
	}
	return pf, &feed.Patch{
		From:     oldExe.sha256,
		Name:     name,
		Size:     pf.size,
		SHA256:   pf.sha256,
		URL:      url.PathEscape(name),
		ToSize:   newExe.size,
		ToSHA256: newExe.sha256,
	}, nil
}

// cachedPatch returns the patch at path if its header names exactly the
// executables from and to.
func cachedPatch(path, from, to string) (patchFile, bool) {
	f, err := os.Open(path)
	if err != nil {
		return patchFile{}, false
	}
	defer f.Close()
	h, err := delta.ReadHeader(f)
	if err != nil || hex.EncodeToString(h.OldHash[:]) != from || hex.EncodeToString(h.NewHash[:]) != to {
		return patchFile{}, false
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return patchFile{}, false
	}
	sum := sha256.New()
	n, err := io.Copy(sum, f)
	if err != nil {
		return patchFile{}, false
	}
	return patchFile{path: path, size: n, sha256: hex.EncodeToString(sum.Sum(nil))}, true
}

// make writes the patch from oldPath to newPath at path, through a dot
// file renamed when complete.
func (pt *patcher) make(oldPath, newPath, folder, path string) error {
	old, err := os.ReadFile(oldPath)
	if err != nil {
		return err
	}
	new, err := os.ReadFile(newPath)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(folder, ".making-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	diff := pt.diff
	if diff == nil {
		diff = func(old, new []byte, w io.Writer) error { return delta.Diff(old, new, w, nil) }
	}
	pt.mu.Lock()
	pt.made++
	pt.mu.Unlock()
	if err := diff(old, new, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// executable returns the sha256 and size of a's executable and a path
// holding it, and a func that removes that path if it is a temporary file.
// A bare asset is its own executable; an archive's is extracted into a
// temporary file.
func (pt *patcher) executable(ctx context.Context, dir, app string, a *feed.Asset) (exeInfo, string, func(), error) {
	assetPath := filepath.Join(dir, a.Name)
	if platform.FormatOf(a.Name) == platform.Bare {
		return exeInfo{sha256: a.SHA256, size: a.Size}, assetPath, func() {}, nil
	}
	src, err := os.Open(assetPath)
	if err != nil {
		return exeInfo{}, "", nil, err
	}
	defer src.Close()
	tmp, err := os.CreateTemp("", "molt-patch-exe-*")
	if err != nil {
		return exeInfo{}, "", nil, err
	}
	clean := func() { os.Remove(tmp.Name()) }
	sum := sha256.New()
	n, err := archive.ExtractWith(ctx, src, io.MultiWriter(tmp, sum), archive.Options{
		Asset: a.Name, App: app, GOOS: a.OS, Executable: a.Executable,
	})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		clean()
		return exeInfo{}, "", nil, err
	}
	return exeInfo{sha256: hex.EncodeToString(sum.Sum(nil)), size: n}, tmp.Name(), clean, nil
}
