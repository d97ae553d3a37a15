package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	gh "github.com/google/go-github/v92/github"

	"github.com/molt-go/update/internal/httpx"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// perPage is the API's maximum: the fewest requests for a long history.
const perPage = 100

// maxPages bounds a listing at 10,000 releases, so that a server whose
// Link headers never end cannot keep a look going forever.
const maxPages = 100

// page is one page of the release list as last fetched, kept so that the
// next look can ask "has it changed?" with If-None-Match; a 304 answer
// costs nothing against the rate limit.
type page struct {
	etag     string
	releases []*gh.RepositoryRelease
	next     int // the next page number, 0 on the last page
}

// Releases lists the repository's published releases whose tags are
// semantic versions. For the newest ones (see Options.Depth) it fetches and
// checks the checksums file and signatures as the package documentation
// describes, and fails if any of them does not verify with v.
func (s *Source) Releases(ctx context.Context, v verify.Verifier) (*source.Listing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	type versioned struct {
		r *gh.RepositoryRelease
		v *semver.Version
	}
	var rels []versioned
	for _, r := range raw {
		if r.Draft {
			continue
		}
		ver, err := semver.StrictNewVersion(strings.TrimPrefix(r.TagName, "v"))
		if err != nil {
			s.log.Info("skipping release: tag is not a semantic version", "tag", r.TagName)
			continue
		}
		if r.Prerelease && ver.Prerelease() == "" {
			// The updater tells channels apart by the version alone; this
			// one would be offered as stable.
			s.log.Warn("skipping release: marked prerelease but its tag has no prerelease part", "tag", r.TagName)
			continue
		}
		rels = append(rels, versioned{r, ver})
	}
	slices.SortStableFunc(rels, func(a, b versioned) int { return b.v.Compare(a.v) })

	var (
		out            []source.Release
		stable, unstab int
		seen           = map[int64]bool{}
	)
	for _, rv := range rels {
		deep := s.depth < 0
		if rv.v.Prerelease() == "" {
			stable++
			deep = deep || stable <= s.depth
		} else {
			unstab++
			deep = deep || unstab <= s.depth
		}
		rel, err := s.release(ctx, rv.r, v, deep, seen)
		if err != nil {
			return nil, fmt.Errorf("github: release %s: %w", rv.r.TagName, err)
		}
		out = append(out, rel)
	}
	for id := range s.files {
		if !seen[id] {
			delete(s.files, id) // a deleted or replaced file
		}
	}
	return &source.Listing{Origin: s.base.JoinPath("repos", s.owner, s.repo).String(), Releases: out}, nil
}

// list fetches every page of the release list, asking each page whether it
// changed since the last look.
func (s *Source) list(ctx context.Context) ([]*gh.RepositoryRelease, error) {
	var all []*gh.RepositoryRelease
	n := 1
	for i := 0; n != 0; i++ {
		if i == maxPages {
			return nil, fmt.Errorf("%w: github: more than %d pages of releases", source.ErrBadMetadata, maxPages)
		}
		p, err := s.fetchPage(ctx, n)
		if err != nil {
			return nil, err
		}
		all = append(all, p.releases...)
		if p.next != 0 && p.next <= n {
			return nil, fmt.Errorf("%w: github: page %d links back to page %d", source.ErrBadMetadata, n, p.next)
		}
		n = p.next
		if n == 0 {
			for k := range s.pages {
				if k > i+1 {
					delete(s.pages, k) // the list got shorter
				}
			}
		}
	}
	return all, nil
}

func (s *Source) fetchPage(ctx context.Context, n int) (*page, error) {
	u := fmt.Sprintf("repos/%s/%s/releases?per_page=%d&page=%d", s.owner, s.repo, perPage, n)
	api := s.clients.Load().api
	req, err := api.NewRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	s.authorize(req)
	cached := s.pages[n]
	if cached != nil && cached.etag != "" {
		req.Header.Set("If-None-Match", cached.etag)
	}
	var rels []*gh.RepositoryRelease
	resp, err := api.Do(req, &rels)
	if cached != nil && resp != nil && resp.StatusCode == http.StatusNotModified {
		s.log.Debug("release list unchanged", "page", n)
		return cached, nil
	}
	if err != nil {
		return nil, s.apiError(err, "listing releases")
	}
	if resp == nil {
		return nil, fmt.Errorf("%w: github: no response", source.ErrUnavailable)
	}
	p := &page{etag: resp.Header.Get("ETag"), releases: rels, next: resp.NextPage}
	s.pages[n] = p
	return p, nil
}

// apiError turns an error from the API client into one that says what it
// means for an updater and wraps the right sentinel.
func (s *Source) apiError(err error, doing string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if e, ok := errors.AsType[*gh.RateLimitError](err); ok {
		return &RateLimitError{Reset: e.Rate.Reset.Time, Message: e.Message}
	}
	if e, ok := errors.AsType[*gh.AbuseRateLimitError](err); ok {
		rl := &RateLimitError{Message: e.Message}
		if e.RetryAfter != nil {
			rl.Reset = time.Now().Add(*e.RetryAfter)
		}
		return rl
	}
	if e, ok := errors.AsType[*gh.ErrorResponse](err); ok && e.Response != nil {
		if rl := rateLimited(e.Response, time.Now()); rl != nil {
			rl.Message = e.Message
			return rl
		}
		return s.statusError(e.Response.StatusCode, doing, s.repoName(), fmt.Sprintf("%d %s", e.Response.StatusCode, e.Message))
	}
	if errors.Is(err, source.ErrInsecureRedirect) {
		return fmt.Errorf("github: %s: %w", doing, err)
	}
	return fmt.Errorf("%w: github: %s: %v", source.ErrUnavailable, doing, err)
}

// statusError explains an HTTP failure status from the API or a download.
// A 404 is never taken for "no releases": it means the repository or file
// is gone or hidden from this token, and the updater should say so.
func (s *Source) statusError(code int, doing, what, detail string) error {
	sentinel := httpx.Sentinel(code)
	switch {
	case code == http.StatusNotFound && s.token != "":
		return fmt.Errorf("github: %s: %s not found or the token has no access (%s): %w",
			doing, what, detail, sentinel)
	case code == http.StatusNotFound:
		return fmt.Errorf("github: %s: %s not found (a private repository needs a token) (%s): %w",
			doing, what, detail, sentinel)
	case code == http.StatusUnauthorized:
		return fmt.Errorf("github: %s: the token was refused (%s): %w", doing, detail, sentinel)
	case sentinel == nil:
		return fmt.Errorf("%w: github: %s: %s", source.ErrBadMetadata, doing, detail)
	}
	return fmt.Errorf("github: %s: %s: %w", doing, detail, sentinel)
}

func (s *Source) repoName() string { return "repository " + s.owner + "/" + s.repo }

// rateLimited reports whether resp is GitHub's rate-limit answer: 403 or
// 429 with X-RateLimit-Remaining: 0 (reset at X-RateLimit-Reset), or with
// Retry-After (a secondary limit).
func rateLimited(resp *http.Response, now time.Time) *RateLimitError {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return nil
	}
	h := resp.Header
	if ra := h.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil {
			return &RateLimitError{Reset: now.Add(time.Duration(secs) * time.Second)}
		}
		if t, err := http.ParseTime(ra); err == nil {
			return &RateLimitError{Reset: t}
		}
		return &RateLimitError{}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		rl := &RateLimitError{}
		if secs, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			rl.Reset = time.Unix(secs, 0)
		}
		return rl
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return &RateLimitError{}
	}
	return nil
}
