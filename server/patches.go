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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

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
// as a ".skip" file holding the same pair, so it is not made again.
//
// The executable inside an archive is extracted to be diffed, and its
// sha256 and size are kept by the archive's (in memory and in
// <PatchDir>/<app>/<archive sha256>.executable, which holds the executable's
// sha256, size, OS and name hint), so that listing the cached patches
// never extracts anything, and a restart or the next publish does not
// extract an archive again to learn what it holds.

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
// making patches costs seconds of CPU and hundreds of MB per pair of large
// binaries; pkgserver turns them on (-patches 3).
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

// patcher lists the cached patches of payloads, and makes the missing ones:
// at once for Publish (add), in the background for the Server (list and
// patches_worker.go).
type patcher struct {
	n        int     // earlier releases per platform; 0 turns patches off
	fraction float64 // a patch must be smaller than this times the asset
	cache    string
	log      *slog.Logger
	// diff makes one patch; a test seam (nil means delta.DiffContext).
	diff func(ctx context.Context, old, new []byte, w io.Writer) error

	mu sync.Mutex
	// made counts the patches made (not found in the cache), for tests.
	made int
	// exes are the executables of archives, by exeKey.
	exes map[string]exeInfo
	// failed are the jobs that failed, by patchJob.key: not tried again
	// by this patcher (a restart, or a changed file, tries again).
	failed map[string]bool

	// The background worker (patches_worker.go).
	work    worker
	pending []patchJob // what list found missing last, for the worker
	stale   atomic.Bool
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

// patchJob is one patch to make: from old's executable to a's.
type patchJob struct {
	dir, app, version string
	old, a            feed.Asset
}

// key names the job by both assets' names and digests.
func (j patchJob) key() string {
	return j.app + "/" + j.old.Name + "@" + j.old.SHA256 + ">" + j.a.Name + "@" + j.a.SHA256
}

// listed is a cached patch of an asset, found by resolve.
type listed struct {
	key   string // "<app>/<name>"
	asset *feed.Asset
	patch feed.Patch
	file  patchFile
}

// add lists patches on the assets of apps (read from dir), making those
// not cached first, and returns the patch files by "<app>/<name>". A patch
// that cannot be made is logged and left out: the full asset still works.
func (pt *patcher) add(ctx context.Context, dir string, apps map[string]*feed.Payload) map[string]patchFile {
	if pt == nil || pt.n <= 0 {
		return map[string]patchFile{}
	}
	if _, jobs := pt.resolve(dir, apps); len(jobs) > 0 {
		pt.makeAll(ctx, jobs)
	}
	found, _ := pt.resolve(dir, apps)
	return attach(found)
}

// list lists the cached patches on the assets of apps, as add does, and
// hands the missing ones to the background worker, which makes them and
// marks the payloads stale: the next refresh lists them. It reads only
// small files and the patches' bytes (to hash them): it extracts and
// diffs nothing, so it may run under the Server's lock.
func (pt *patcher) list(dir string, apps map[string]*feed.Payload) map[string]patchFile {
	if pt == nil || pt.n <= 0 {
		return map[string]patchFile{}
	}
	found, jobs := pt.resolve(dir, apps)
	pt.queue(jobs)
	return attach(found)
}

// attach adds the found patches to their assets and returns their files by
// "<app>/<name>".
func attach(found []listed) map[string]patchFile {
	out := make(map[string]patchFile, len(found))
	for _, l := range found {
		l.asset.Patches = append(l.asset.Patches, l.patch)
		out[l.key] = l.file
	}
	return out
}

// resolve walks the pairs of apps' assets that should have a patch, and
// returns those whose patch is cached and small enough, and the jobs that
// would make the others (none for a pair skipped as too large, of one
// executable, or whose job failed before).
func (pt *patcher) resolve(dir string, apps map[string]*feed.Payload) ([]listed, []patchJob) {
	var found []listed
	var jobs []patchJob
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
					job := patchJob{dir: dir, app: app, version: p.Releases[i].Version, old: *old, a: *a}
					l, ok := pt.cached(job)
					switch {
					case ok && l.key != "":
						l.asset = a
						found = append(found, l)
					case !ok && !pt.hasFailed(job):
						jobs = append(jobs, job)
					}
				}
			}
		}
	}
	return found, jobs
}

// cached says whether the job needs no making, and returns its patch if it
// has one: ok with an empty patch for a pair skipped (too large, or of one
// executable), not ok if an executable's digest or the patch is unknown.
func (pt *patcher) cached(j patchJob) (listed, bool) {
	oldExe, ok1 := pt.knownExe(j.dir, j.app, &j.old)
	newExe, ok2 := pt.knownExe(j.dir, j.app, &j.a)
	if !ok1 || !ok2 {
		return listed{}, false
	}
	if oldExe.sha256 == newExe.sha256 {
		return listed{}, true
	}
	name, path := pt.patchPath(j, oldExe)
	pair := oldExe.sha256 + " " + newExe.sha256 + "\n"
	if b, err := os.ReadFile(path + ".skip"); err == nil && string(b) == pair {
		return listed{}, true
	}
	pf, ok := cachedPatch(path, oldExe.sha256, newExe.sha256)
	if !ok {
		return listed{}, false
	}
	if limit := int64(pt.fraction * float64(j.a.Size)); pf.size >= limit {
		pt.log.Info("feed: patch too large, skipped", "app", j.app, "from", j.old.Name, "to", j.a.Name,
			"bytes", pf.size, "limit", limit)
		_ = os.WriteFile(path+".skip", []byte(pair), 0o644)
		_ = os.Remove(path)
		return listed{}, true
	}
	return listed{
		key: j.app + "/" + name,
		patch: feed.Patch{
			From:     oldExe.sha256,
			Name:     name,
			Size:     pf.size,
			SHA256:   pf.sha256,
			URL:      url.PathEscape(name),
			ToSize:   newExe.size,
			ToSHA256: newExe.sha256,
		},
		file: pf,
	}, true
}

// patchPath is the job's patch's name and path in the cache.
func (pt *patcher) patchPath(j patchJob, oldExe exeInfo) (name, path string) {
	name = oldExe.sha256[:16] + "-" + j.version + "-" + j.a.OS + "-" + j.a.Arch + PatchExt
	return name, filepath.Join(pt.cache, j.app, name)
}

func (pt *patcher) hasFailed(j patchJob) bool {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.failed[j.key()]
}

// makeAll makes the jobs' patches that are still missing, and returns how
// many jobs changed what resolve finds: a patch made, or an archive's
// executable learnt whose patch was cached already. Each archive is
// extracted once for all the jobs; a job that fails is logged and marked
// failed. It stops when ctx is done.
func (pt *patcher) makeAll(ctx context.Context, jobs []patchJob) int {
	x := &extracted{pt: pt, paths: map[string]string{}}
	defer x.clean()
	changed := 0
	for _, j := range jobs {
		if ctx.Err() != nil {
			return changed
		}
		if _, ok := pt.cached(j); ok {
			continue // made by an earlier job or round
		}
		ok, err := pt.makeOne(ctx, x, j)
		if err != nil {
			if ctx.Err() != nil {
				return changed
			}
			pt.log.Warn("feed: no patch", "app", j.app, "from", j.old.Name, "to", j.a.Name, "err", err)
			pt.mu.Lock()
			if pt.failed == nil {
				pt.failed = map[string]bool{}
			}
			pt.failed[j.key()] = true
			pt.mu.Unlock()
			continue
		}
		if ok {
			changed++
		}
	}
	return changed
}

// makeOne makes the job's patch into the cache, unless the executables
// are the same (false) or, now that they are known, it is cached already.
func (pt *patcher) makeOne(ctx context.Context, x *extracted, j patchJob) (bool, error) {
	oldExe, oldPath, err := x.get(ctx, j.dir, j.app, &j.old)
	if err != nil {
		return false, err
	}
	newExe, newPath, err := x.get(ctx, j.dir, j.app, &j.a)
	if err != nil {
		return false, err
	}
	if oldExe.sha256 == newExe.sha256 {
		return false, nil
	}
	_, path := pt.patchPath(j, oldExe)
	if _, ok := pt.cached(j); ok {
		return true, nil
	}
	folder := filepath.Dir(path)
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return false, err
	}
	if err := pt.make(ctx, oldPath, newPath, folder, path); err != nil {
		return false, err
	}
	pf, ok := cachedPatch(path, oldExe.sha256, newExe.sha256)
	if !ok {
		return false, fmt.Errorf("the patch made at %s does not read back", path)
	}
	pt.log.Info("feed: patch made", "app", j.app, "from", j.old.Name, "to", j.a.Name, "bytes", pf.size, "of", j.a.Size)
	return true, nil
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

// cachedPatch returns the patch at path if its header names exactly the
// executables from and to.
func cachedPatch(path, from, to string) (patchFile, bool) {
	f, err := os.Open(path)
	if err != nil {
		return patchFile{}, false
	}
	defer f.Close()
	h, err := delta.ReadHeader(f)
	// A patch in an older format is remade: it still applies, but the
	// current format is smaller.
	if err != nil || h.Version != delta.Version || hex.EncodeToString(h.OldHash[:]) != from || hex.EncodeToString(h.NewHash[:]) != to {
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

// makingPrefix starts the name of a patch being made, renamed when
// complete: a dot name, never listed or served.
const makingPrefix = ".making-"

// make writes the patch from oldPath to newPath at path, through a dot
// file renamed when complete (removed if not, or when ctx ends it).
func (pt *patcher) make(ctx context.Context, oldPath, newPath, folder, path string) error {
	old, err := os.ReadFile(oldPath)
	if err != nil {
		return err
	}
	new, err := os.ReadFile(newPath)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(folder, makingPrefix+"*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	diff := pt.diff
	if diff == nil {
		diff = func(ctx context.Context, old, new []byte, w io.Writer) error {
			return delta.DiffContext(ctx, old, new, w, nil)
		}
	}
	pt.mu.Lock()
	pt.made++
	pt.mu.Unlock()
	if err := diff(ctx, old, new, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// knownExe returns the sha256 and size of a's executable if they are known
// without extracting: a bare asset is its own executable; an archive's is
// remembered by exeKey, in memory or in the cache folder.
func (pt *patcher) knownExe(dir, app string, a *feed.Asset) (exeInfo, bool) {
	if platform.FormatOf(a.Name) == platform.Bare {
		return exeInfo{sha256: a.SHA256, size: a.Size}, true
	}
	key := exeKey(app, a)
	pt.mu.Lock()
	e, ok := pt.exes[key]
	pt.mu.Unlock()
	if ok {
		return e, true
	}
	// sha256, size, OS and the executable's name: the archive's digest
	// alone does not say which of its files is the executable.
	b, err := os.ReadFile(pt.exeRecord(app, a))
	if err != nil || len(b) > 1024 {
		return exeInfo{}, false
	}
	f := strings.SplitN(strings.TrimSuffix(string(b), "\n"), " ", 4)
	if len(f) != 4 || f[2] != a.OS || f[3] != strconv.Quote(a.Executable) || len(f[0]) != 64 {
		return exeInfo{}, false
	}
	size, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || size < 0 {
		return exeInfo{}, false
	}
	e = exeInfo{sha256: f[0], size: size}
	pt.remember(key, e)
	return e, true
}

// exeKey names an archive's executable: the archive's digest, and what
// else picks the executable out of it.
func exeKey(app string, a *feed.Asset) string {
	return app + "\x00" + a.SHA256 + "\x00" + a.OS + "\x00" + a.Executable
}

// exeRecord is where the cache keeps what a's executable is.
func (pt *patcher) exeRecord(app string, a *feed.Asset) string {
	return filepath.Join(pt.cache, app, a.SHA256+".executable")
}

func (pt *patcher) remember(key string, e exeInfo) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.exes == nil {
		pt.exes = map[string]exeInfo{}
	}
	pt.exes[key] = e
}

// extracted holds the executables extracted for one round of makeAll, by
// exeKey, in temporary files that clean removes.
type extracted struct {
	pt    *patcher
	paths map[string]string
	infos map[string]exeInfo
}

// get returns the sha256 and size of a's executable and a path holding it:
// a bare asset is its own executable; an archive's is extracted into a
// temporary file, once per round, and what it holds is remembered.
func (x *extracted) get(ctx context.Context, dir, app string, a *feed.Asset) (exeInfo, string, error) {
	assetPath := filepath.Join(dir, a.Name)
	if platform.FormatOf(a.Name) == platform.Bare {
		return exeInfo{sha256: a.SHA256, size: a.Size}, assetPath, nil
	}
	key := exeKey(app, a)
	if p, ok := x.paths[key]; ok {
		return x.infos[key], p, nil
	}
	src, err := os.Open(assetPath)
	if err != nil {
		return exeInfo{}, "", err
	}
	defer src.Close()
	tmp, err := os.CreateTemp("", "molt-patch-exe-*")
	if err != nil {
		return exeInfo{}, "", err
	}
	sum := sha256.New()
	n, err := archive.ExtractWith(ctx, src, io.MultiWriter(tmp, sum), archive.Options{
		Asset: a.Name, App: app, GOOS: a.OS, Executable: a.Executable,
	})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return exeInfo{}, "", err
	}
	e := exeInfo{sha256: hex.EncodeToString(sum.Sum(nil)), size: n}
	if x.infos == nil {
		x.infos = map[string]exeInfo{}
	}
	x.paths[key], x.infos[key] = tmp.Name(), e
	x.pt.remember(key, e)
	// Best effort: without the record a restart extracts the archive again.
	rec := x.pt.exeRecord(app, a)
	if err := os.MkdirAll(filepath.Dir(rec), 0o755); err == nil {
		line := e.sha256 + " " + strconv.FormatInt(e.size, 10) + " " + a.OS + " " + strconv.Quote(a.Executable) + "\n"
		_ = os.WriteFile(rec, []byte(line), 0o644)
	}
	return e, tmp.Name(), nil
}

func (x *extracted) clean() {
	for _, p := range x.paths {
		os.Remove(p)
	}
}
