package github

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/molt-go/update/internal/atomicfile"
)

// cache is what the API answered, kept so that the next look asks "has it
// changed?" (If-None-Match) instead of fetching it all again, and so that
// checksums files, signatures and attestations are downloaded once. It is
// in memory, and in a directory when Options.CacheDir is set, so that a
// program started again (a CLI run at every start) costs GitHub one
// request for an unchanged repository.
//
// Nothing here is trusted. The release list is what GitHub said, and every
// file and attestation in it is verified again on every look, exactly as
// if it had just been downloaded; a cache that was tampered with can at
// worst hide a new release until the next change, which the state
// directory's own protections (and a fresh look without the cache) undo.
type cache struct {
	dir string // "" keeps everything in memory only
	log *slog.Logger

	loaded bool
	list   listCache
	saved  []byte                 // the release list as last written, not to write it again
	files  map[int64][]byte       // checksums and signature files, by asset ID
	attest map[string]attestEntry // attestations, by the hex sha256 they are for
}

// cacheVersion changes when the layout of the cache files does; a file of
// another version is ignored.
const cacheVersion = 1

// listCache is the release list as last fetched.
type listCache struct {
	Version int         `json:"version"`
	Latest  latestCache `json:"latest"`
	Pages   []pageCache `json:"pages"` // pages[0] is page 1
}

// latestCache is the last answer of the latest-release endpoint.
type latestCache struct {
	ETag  string `json:"etag,omitempty"`
	Print string `json:"print,omitempty"` // fingerprint of the release
}

// pageCache is one page of the release list.
type pageCache struct {
	ETag     string      `json:"etag,omitempty"`
	Print    string      `json:"print"`
	Next     int         `json:"next,omitempty"` // the next page number, 0 on the last page
	Releases []ghRelease `json:"releases"`
}

// attestEntry is what the attestations API answered for one digest.
type attestEntry struct {
	Checked time.Time         `json:"checked"`
	Bundles []json.RawMessage `json:"bundles"`
}

// negativeAttestTTL is how long "no attestation for this digest" is
// believed. Attestations are made by the release workflow, sometimes a
// minute after the assets are uploaded, so a look in between must not
// hide them for long; an hour keeps a release without any to one request
// an hour.
const negativeAttestTTL = time.Hour

func newCache(root string, base *url.URL, owner, repo string, log *slog.Logger) *cache {
	c := &cache{log: log, files: map[int64][]byte{}, attest: map[string]attestEntry{}}
	if root != "" {
		c.dir = filepath.Join(root, "github", cacheKey(base.Host+"_"+owner+"_"+repo))
	}
	return c
}

// cacheKey makes s a safe folder name: letters, digits, '.', '-' and '_'.
func cacheKey(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// load reads the release list from the directory, once.
func (c *cache) load() {
	if c.loaded {
		return
	}
	c.loaded = true
	if c.dir == "" {
		return
	}
	data, err := readCapped(filepath.Join(c.dir, "releases.json"), 8*MaxMetadataSize)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.log.Debug("ignoring the release cache", "err", err)
		}
		return
	}
	var l listCache
	if err := json.Unmarshal(data, &l); err != nil || l.Version != cacheVersion {
		c.log.Debug("ignoring the release cache", "err", err, "version", l.Version)
		return
	}
	c.list, c.saved = l, data
}

// saveList writes the release list to the directory.
func (c *cache) saveList() {
	c.list.Version = cacheVersion
	if c.dir == "" {
		return
	}
	data, err := json.Marshal(c.list)
	if err == nil && bytes.Equal(data, c.saved) {
		return // a CLI looking at every start need not rewrite it each time
	}
	if err == nil {
		err = c.write("releases.json", data)
	}
	if err != nil {
		c.log.Warn("could not save the release cache", "dir", c.dir, "err", err)
		return
	}
	c.saved = data
}

// file returns the cached bytes of the asset with the given ID, checked
// against its listed size.
func (c *cache) file(id, size int64) ([]byte, bool) {
	if data, ok := c.files[id]; ok {
		return data, true
	}
	if c.dir == "" || size <= 0 {
		return nil, false
	}
	data, err := readCapped(filepath.Join(c.dir, "files", strconv.FormatInt(id, 10)), size)
	if err != nil || int64(len(data)) != size {
		return nil, false
	}
	c.files[id] = data
	return data, true
}

func (c *cache) putFile(id int64, data []byte) {
	c.files[id] = data
	if c.dir == "" {
		return
	}
	if err := c.write(filepath.Join("files", strconv.FormatInt(id, 10)), data); err != nil {
		c.log.Warn("could not cache a release file", "dir", c.dir, "err", err)
	}
}

// attestation returns the cached answer for a digest: a positive one for
// good, a negative one for negativeAttestTTL.
func (c *cache) attestation(hexSum string, now time.Time) (attestEntry, bool) {
	e, ok := c.attest[hexSum]
	if !ok && c.dir != "" {
		data, err := readCapped(filepath.Join(c.dir, "attest", hexSum+".json"), MaxMetadataSize)
		ok = err == nil && json.Unmarshal(data, &e) == nil
	}
	if !ok || (len(e.Bundles) == 0 && now.Sub(e.Checked) > negativeAttestTTL) {
		return attestEntry{}, false
	}
	c.attest[hexSum] = e
	return e, true
}

func (c *cache) putAttestation(hexSum string, e attestEntry) {
	c.attest[hexSum] = e
	if c.dir == "" {
		return
	}
	data, err := json.Marshal(e)
	if err == nil {
		err = c.write(filepath.Join("attest", hexSum+".json"), data)
	}
	if err != nil {
		c.log.Warn("could not cache an attestation", "dir", c.dir, "err", err)
	}
}

// prune forgets the files and attestations a look did not use: those of
// assets deleted or replaced (GitHub gives a replaced file a new ID), and
// of releases no longer among the newest.
func (c *cache) prune(files map[int64]bool, attest map[string]bool) {
	for id := range c.files {
		if !files[id] {
			delete(c.files, id)
		}
	}
	for k := range c.attest {
		if !attest[k] {
			delete(c.attest, k)
		}
	}
	if c.dir == "" {
		return
	}
	c.removeUnused("files", func(name string) bool {
		id, err := strconv.ParseInt(name, 10, 64)
		return err == nil && files[id]
	})
	c.removeUnused("attest", func(name string) bool { return attest[strings.TrimSuffix(name, ".json")] })
}

func (c *cache) removeUnused(sub string, used func(string) bool) {
	ents, err := os.ReadDir(filepath.Join(c.dir, sub))
	if err != nil {
		return
	}
	for _, e := range ents {
		if !used(e.Name()) {
			os.Remove(filepath.Join(c.dir, sub, e.Name()))
		}
	}
}

// write puts data at name under the directory, atomically, so that a
// crash or a second process never leaves a half-written file.
func (c *cache) write(name string, data []byte) error {
	path := filepath.Join(c.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o600)
}

// readCapped reads a cache file of at most limit bytes: a file made larger
// behind the source's back is ignored rather than read whole.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errors.New("cache file too large")
	}
	return data, nil
}
