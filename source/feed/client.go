package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/molt-go/update/internal/httpx"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// Client is the Source for a feed served over HTTP, by Server or by any
// static file host holding feed.json and the files beside it.
//
// The zero value with URL set works. A Client remembers the last feed that
// verified and its ETag, so asking again costs a 304 when nothing changed; it
// is safe for concurrent use and must not be copied after first use.
type Client struct {
	// URL is the app's folder, such as https://updates.example.com/hello
	// (with or without a trailing slash); the feed is URL/feed.json. A URL
	// ending in /feed.json is taken as the feed itself.
	URL string
	// HTTPClient makes the requests. Default: a client with connect, TLS
	// and header timeouts, proxies from the environment and no overall
	// timeout. Whichever is used, https is never redirected to http.
	HTTPClient *http.Client
	// MaxFeedBytes caps the size of feed.json. Default, and upper bound:
	// MaxFeedSize.
	MaxFeedBytes int64

	mu       sync.Mutex
	cacheURL string // the feed URL that etag and body came from
	etag     string
	body     []byte // the last feed.json that verified
}

var _ source.Source = (*Client)(nil)

// New returns a Client for the feed in the folder at url.
func New(url string) *Client { return &Client{URL: url} }

func (c *Client) httpClient() *http.Client { return httpx.Client(c.HTTPClient) }

// feedURL is where feed.json is.
func (c *Client) feedURL() (*url.URL, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("feed: URL %q: %w", c.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("feed: URL %q is not an http or https URL", c.URL)
	}
	if strings.HasSuffix(u.Path, "/feed.json") {
		return u, nil
	}
	return u.JoinPath("feed.json"), nil
}

// Releases fetches feed.json, checks its signature with v and returns its
// releases with absolute asset URLs and sha256 digests. When a feed that
// verified was fetched before, the request carries its ETag; on 304 Not
// Modified the kept copy is checked again with this call's v, so a listing
// is never vouched for by a verifier other than the one passed. A feed is
// kept only if it verified.
//
// Errors wrap source.ErrNotFound (404), source.ErrAccess (401, 403),
// source.ErrUnavailable (5xx, network), source.ErrInsecureRedirect,
// source.ErrBadMetadata or verify.ErrBadSignature, and name the URL.
func (c *Client) Releases(ctx context.Context, v verify.Verifier) (*source.Listing, error) {
	u, err := c.feedURL()
	if err != nil {
		return nil, err
	}
	feedURL := u.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, feedURL, nil)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	c.mu.Lock()
	etag, kept := c.etag, c.body
	if c.cacheURL != feedURL {
		etag, kept = "", nil
	}
	c.mu.Unlock()
	if etag != "" && v != nil {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, transportError(ctx, feedURL, err)
	}
	defer resp.Body.Close()

	var body []byte
	switch {
	case resp.StatusCode == http.StatusNotModified && kept != nil:
		body = kept
	case resp.StatusCode == http.StatusOK:
		body, err = c.readFeed(resp.Body, feedURL)
		if err != nil {
			return nil, err
		}
	case resp.StatusCode >= 400:
		return nil, fmt.Errorf("feed: %w", httpx.StatusError(resp))
	default:
		return nil, fmt.Errorf("feed: GET %s: unexpected %s: %w", feedURL, resp.Status, source.ErrUnavailable)
	}

	p, err := Parse(body, v)
	if err != nil {
		return nil, fmt.Errorf("feed %s: %w", feedURL, err)
	}
	l, err := p.Listing(u)
	if err != nil {
		return nil, fmt.Errorf("feed %s: %w", feedURL, err)
	}
	l.Origin = u.Redacted()
	if v != nil && resp.StatusCode == http.StatusOK {
		c.mu.Lock()
		c.cacheURL, c.etag, c.body = feedURL, resp.Header.Get("ETag"), body
		if c.etag == "" {
			c.body = nil
		}
		c.mu.Unlock()
	}
	return l, nil
}

// readFeed reads a feed body, refusing one over the cap before it is all
// in memory.
func (c *Client) readFeed(r io.Reader, feedURL string) ([]byte, error) {
	limit := c.MaxFeedBytes
	if limit <= 0 || limit > MaxFeedSize {
		limit = MaxFeedSize
	}
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("feed: GET %s: %w: %w", feedURL, source.ErrUnavailable, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("feed: GET %s: %w: larger than %d bytes", feedURL, source.ErrBadMetadata, limit)
	}
	return body, nil
}

// Open returns the asset's bytes from offset on. For offset > 0 it asks for
// a range; a server that ignores the range and sends the whole file (200) is
// still used, by skipping the first offset bytes: that costs bandwidth but
// makes resuming work with every static host, and the updater's digest
// check over the whole file catches a file that changed in between. A 206
// that starts anywhere but offset is an error.
//
// Errors wrap the same sentinels as Releases; 416 (the file is now shorter
// than offset) wraps source.ErrUnavailable, so the updater starts over.
func (c *Client) Open(ctx context.Context, a source.Asset, offset int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, fmt.Errorf("feed: open %s: negative offset %d", a.Name, offset)
	}
	if a.URL == "" {
		return nil, fmt.Errorf("feed: open %s: asset has no URL", a.Name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("feed: open %s: %w", a.Name, err)
	}
	if offset > 0 {
		req.Header.Set("Range", httpx.RangeHeader(offset))
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, transportError(ctx, a.URL, err)
	}
	fail := func(err error) (io.ReadCloser, error) {
		resp.Body.Close()
		return nil, err
	}
	if resp.StatusCode >= 400 {
		return fail(fmt.Errorf("feed: %w", httpx.StatusError(resp)))
	}
	body, err := httpx.ResumeBody(resp, offset)
	if err != nil {
		return nil, fmt.Errorf("feed: GET %s: %w", a.URL, err)
	}
	return body, nil
}

// transportError wraps an error from http.Client.Do: a refused redirect and
// the context's own end keep their meaning; anything else is the network
// failing, so source.ErrUnavailable.
func transportError(ctx context.Context, u string, err error) error {
	switch {
	case errors.Is(err, source.ErrInsecureRedirect), ctx.Err() != nil:
		return fmt.Errorf("feed: GET %s: %w", u, err)
	}
	return fmt.Errorf("feed: GET %s: %w: %w", u, source.ErrUnavailable, err)
}
