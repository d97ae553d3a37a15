package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/molt-go/update/source"
)

// perPage is the API's maximum: the fewest requests for a long history.
const perPage = 100

// maxPages bounds a listing at 10,000 releases, so that a server whose
// Link headers never end cannot keep a look going forever.
const maxPages = 100

// maxListBytes bounds the release list, all pages together, as fetched:
// a thousand releases with long notes and dozens of assets each, four
// times what one answer may be. Past it the list is refused with
// ErrTooLarge rather than held in memory.
const maxListBytes = 4 * MaxMetadataSize

// ghRelease is what this package reads of a release object of the REST
// API; the rest (authors, uploaders, download counts) is never decoded,
// which keeps memory small and makes the fingerprint below change only
// when something that matters to an updater does.
type ghRelease struct {
	ID         int64     `json:"id"`
	Tag        string    `json:"tag_name"`
	Draft      bool      `json:"draft"`
	Prerelease bool      `json:"prerelease"`
	Published  time.Time `json:"published_at"`
	Body       string    `json:"body"`
	Assets     []ghAsset `json:"assets"`
}

// ghAsset is what this package reads of a release asset.
type ghAsset struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	State       string `json:"state"`
	Size        int64  `json:"size"`
	Digest      string `json:"digest"`
	URL         string `json:"url"`
	DownloadURL string `json:"browser_download_url"`
}

// fingerprint identifies what was read of some releases, so that an answer
// whose ETag changed only because a download count did is seen as the same.
func fingerprint(rs ...ghRelease) string {
	b, _ := json.Marshal(rs)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// releaseList returns the repository's releases, asking as little as it
// can: on the stable channel the latest release first, and the list only
// if that changed; the list itself with If-None-Match, page by page, and
// not past a first page that did not change. What it read is committed to
// the cache only once the whole list is in hand, so that a look cut short
// never leaves a cache that claims more than it holds.
func (s *Source) releaseList(ctx context.Context) ([]ghRelease, error) {
	c := s.cache
	var latest latestCache
	if s.stable {
		l, changed, err := s.checkLatest(ctx)
		if err != nil {
			return nil, err
		}
		if !changed && len(c.list.Pages) > 0 {
			s.log.Debug("latest release unchanged; the release list is not read again")
			if l != c.list.Latest {
				c.list.Latest = l
				c.saveList()
			}
			return c.list.releases(), nil
		}
		latest = l
	}
	pages, err := s.readPages(ctx)
	if err != nil {
		return nil, err
	}
	c.list.Pages = pages
	c.list.Latest = latest
	c.saveList()
	return c.list.releases(), nil
}

// checkLatest asks for the latest release, with the ETag of the last
// answer, and reports whether it changed since. GitHub's latest release is
// the newest published release that is not a prerelease.
func (s *Source) checkLatest(ctx context.Context) (latestCache, bool, error) {
	old := s.cache.list.Latest
	a, err := s.getAPI(ctx, fmt.Sprintf("repos/%s/%s/releases/latest", s.owner, s.repo), old.ETag, "asking for the latest release")
	if err != nil {
		return old, false, err
	}
	switch a.status {
	case http.StatusNotModified:
		return old, old.Print == "", nil
	case http.StatusNotFound:
		// No stable release (or no such repository: a list not read yet
		// says which). Only the appearance of one matters on this channel.
		return latestCache{}, old.Print != "", nil
	}
	var r ghRelease
	if err := decode(a, &r, "reading the latest release"); err != nil {
		return old, false, err
	}
	l := latestCache{ETag: a.header.Get("ETag"), Print: fingerprint(r)}
	return l, l.Print != old.Print, nil
}

// readPages fetches the release list, every page asked for with the ETag
// of the last time. Releases are listed newest first, so a first page that
// did not change means no release was added, and the pages after it are
// taken from the cache. (An old draft published now sorts where it was
// created; such a release shows up with the next change of the first page.)
func (s *Source) readPages(ctx context.Context) ([]pageCache, error) {
	old := s.cache.list.Pages
	var pages []pageCache
	total := 0
	for n := 1; n != 0; {
		if len(pages) == maxPages {
			return nil, fmt.Errorf("%w: github: more than %d pages of releases", source.ErrBadMetadata, maxPages)
		}
		var cached *pageCache
		if n-1 < len(old) {
			cached = &old[n-1]
		}
		p, size, err := s.readPage(ctx, n, cached)
		if err != nil {
			return nil, err
		}
		if total += size; total > maxListBytes {
			return nil, fmt.Errorf("%w: github: the release list is more than %d bytes", ErrTooLarge, maxListBytes)
		}
		if n == 1 && cached != nil && p.Print == cached.Print && complete(old) {
			s.log.Debug("release list unchanged")
			return append([]pageCache{p}, old[1:]...), nil
		}
		if p.Next != 0 && p.Next <= n {
			return nil, fmt.Errorf("%w: github: page %d links back to page %d", source.ErrBadMetadata, n, p.Next)
		}
		pages = append(pages, p)
		n = p.Next
	}
	return pages, nil
}

// readPage fetches page n of the list, and returns it with its size in
// bytes as fetched (0 when it was not modified).
func (s *Source) readPage(ctx context.Context, n int, cached *pageCache) (pageCache, int, error) {
	etag := ""
	if cached != nil {
		etag = cached.ETag
	}
	path := fmt.Sprintf("repos/%s/%s/releases?per_page=%d&page=%d", s.owner, s.repo, perPage, n)
	a, err := s.getAPI(ctx, path, etag, "listing releases")
	if err != nil {
		return pageCache{}, 0, err
	}
	switch {
	case a.status == http.StatusNotModified && cached != nil:
		return *cached, 0, nil
	case a.status == http.StatusNotFound:
		return pageCache{}, 0, s.statusError(a.status, "listing releases", "404 Not Found")
	case a.status != http.StatusOK:
		return pageCache{}, 0, fmt.Errorf("%w: github: listing releases: unexpected %d", source.ErrBadMetadata, a.status)
	}
	var rels []ghRelease
	if err := decode(a, &rels, "listing releases"); err != nil {
		return pageCache{}, 0, err
	}
	for i := range rels {
		rels[i].Body = shorten(rels[i].Body)
	}
	p := pageCache{ETag: a.header.Get("ETag"), Print: fingerprint(rels...), Next: nextPage(a.header.Get("Link")), Releases: rels}
	return p, len(a.body), nil
}

// complete reports whether cached pages form a whole list, ending on a
// last page.
func complete(pages []pageCache) bool {
	for i, p := range pages {
		last := i == len(pages)-1
		if (p.Next == 0) != last || (!last && p.Next != i+2) {
			return false
		}
	}
	return len(pages) > 0
}

// releases joins the cached pages.
func (l *listCache) releases() []ghRelease {
	var all []ghRelease
	for _, p := range l.Pages {
		all = append(all, p.Releases...)
	}
	return all
}

// maxNotes caps the release notes kept of each release: a page of notes
// is plenty to show a user, and the cap bounds what a listing holds.
const maxNotes = 64 << 10

func shorten(notes string) string {
	if len(notes) <= maxNotes {
		return notes
	}
	cut := maxNotes
	for cut > 0 && notes[cut]&0xC0 == 0x80 { // not in the middle of a UTF-8 sequence
		cut--
	}
	return notes[:cut] + "\n…"
}
