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
	"time"

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
	// KeysURL is where the key list is, for a verifier that is a *Roots.
	// Default: keys.json beside feed.json.
	KeysURL string
	// MetadataTimeout bounds each metadata request (keys.json, feed.json)
	// from the moment it is sent to its last byte, so that a mirror that
	// trickles or goes silent cannot hold a check for longer. Default:
	// DefaultMetadataTimeout. Downloads of assets are not bounded by it
	// (they may rightly take an hour; the updater cuts one that stalls).
	MetadataTimeout time.Duration
	// WaitHold is how long Wait asks the server to hold each long-poll
	// while nothing changes (push.go). Default, and upper bound:
	// DefaultWaitHold; lower it behind a proxy that cuts idle requests
	// sooner.
	WaitHold time.Duration

	mu       sync.Mutex
	cacheURL string // the feed URL that etag and body came from
	etag     string
	body     []byte // the last feed.json that verified
	// seen is the ETag of the last feed.json received from seenURL,
	// verified or not: Wait asks to be woken when the feed is another.
	seenURL, seen string
	pushed        *pushed // a feed that came with a push answer (push.go)
}

var _ source.Source = (*Client)(nil)

// DefaultMetadataTimeout is how long one metadata request may take, from
// sending it to the last byte of the answer. Metadata is small by design:
// a feed of a few releases or a key list is a few KiB and arrives within a
// second on any working link, and 30 s still carries a 1 MiB feed over a
// 300 kbit/s mobile link. Beyond that the answer is not coming at a useful
// speed: a slow-retrieval attack (a mirror that trickles a byte a second,
// or sends headers and goes silent) would otherwise hold every check, and
// the header timeout of the HTTP client does not end a body that never
// finishes. A publisher with feeds of many MiB raises MetadataTimeout.
const DefaultMetadataTimeout = 30 * time.Second

// New returns a Client for the feed in the folder at url.
func New(url string) *Client { return &Client{URL: url} }

func (c *Client) metadataTimeout() time.Duration {
	if c.MetadataTimeout > 0 {
		return c.MetadataTimeout
	}
	return DefaultMetadataTimeout
}

// keysURL is where keys.json is.
func (c *Client) keysURL(feedURL *url.URL) (*url.URL, error) {
	if c.KeysURL == "" {
		return feedURL.JoinPath("..", KeysFile), nil
	}
	u, err := url.Parse(c.KeysURL)
	if err != nil {
		return nil, fmt.Errorf("feed: KeysURL %q: %w", c.KeysURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("feed: KeysURL %q is not an http or https URL", c.KeysURL)
	}
	if feedURL.Scheme == "https" && u.Scheme == "http" {
		return nil, fmt.Errorf("feed: KeysURL %s: %w", u.Redacted(), source.ErrInsecureRedirect)
	}
	return u, nil
}

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
// When v is a *Roots, keys.json (KeysURL) is fetched first and given to
// v.Update; the feed must then be signed by a signing key of that list,
// and the listing's KeyEpoch is the feed's key epoch.
//
// Each request must be answered in full within MetadataTimeout, else the
// error wraps source.ErrUnavailable and context.DeadlineExceeded.
//
// Errors wrap source.ErrNotFound (404), source.ErrAccess (401, 403),
// source.ErrUnavailable (5xx, network, too slow), source.ErrInsecureRedirect,
// source.ErrBadMetadata, verify.ErrBadSignature or the key list's errors
// (ErrNotRootSigned, ErrKeyListRollback, ErrKeyRevoked...), and name the URL.
func (c *Client) Releases(ctx context.Context, v verify.Verifier) (*source.Listing, error) {
	u, err := c.feedURL()
	if err != nil {
		return nil, err
	}
	var trusted *TrustedKeys
	roots, hierarchy := v.(*Roots)
	if hierarchy {
		ku, err := c.keysURL(u)
		if err != nil {
			return nil, err
		}
		keysURL := ku.String()
		m, err := c.getMetadata(ctx, keysURL, "", MaxKeyListSize, 0)
		if err != nil {
			return nil, err
		}
		if m.status != http.StatusOK {
			return nil, fmt.Errorf("feed: GET %s: unexpected %d: %w", keysURL, m.status, source.ErrUnavailable)
		}
		if trusted, err = roots.Update(m.body); err != nil {
			return nil, fmt.Errorf("feed: key list %s: %w", keysURL, err)
		}
	}

	feedURL := u.String()
	c.mu.Lock()
	etag, kept := c.etag, c.body
	if c.cacheURL != feedURL {
		etag, kept = "", nil
	}
	c.mu.Unlock()
	if v == nil {
		etag = ""
	}
	// A feed that a push answer just brought is this round's answer, so
	// a woken fleet does not fetch it twice; it is checked below as any.
	var m *metadata
	if p := c.takePushed(feedURL); p != nil {
		m = &metadata{status: http.StatusOK, etag: p.etag, body: p.body}
	} else if m, err = c.getMetadata(ctx, feedURL, etag, c.maxFeedBytes(), 0); err != nil {
		return nil, err
	}
	seen := m.etag
	if m.status == http.StatusNotModified && seen == "" {
		seen = etag
	}
	c.mu.Lock()
	c.seenURL, c.seen = feedURL, seen
	c.mu.Unlock()
	var body []byte
	switch {
	case m.status == http.StatusNotModified && kept != nil:
		body = kept
	case m.status == http.StatusOK:
		body = m.body
	default:
		return nil, fmt.Errorf("feed: GET %s: unexpected %d: %w", feedURL, m.status, source.ErrUnavailable)
	}

	var p *Payload
	var epoch int64
	if trusted != nil {
		p, epoch, err = trusted.ParseFeed(body, roots.now())
	} else {
		p, err = Parse(body, v)
	}
	if err != nil {
		return nil, fmt.Errorf("feed %s: %w", feedURL, err)
	}
	l, err := p.Listing(u)
	if err != nil {
		return nil, fmt.Errorf("feed %s: %w", feedURL, err)
	}
	l.Origin = u.Redacted()
	l.KeyEpoch = epoch
	if v != nil && m.status == http.StatusOK {
		c.mu.Lock()
		c.cacheURL, c.etag, c.body = feedURL, m.etag, body
		if c.etag == "" {
			c.body = nil
		}
		c.mu.Unlock()
	}
	return l, nil
}

// metadata is one metadata answer: 200 with its body, or 304.
type metadata struct {
	status int
	etag   string
	body   []byte
	push   bool // the answer carries PushHeader
}

// maxFeedBytes is the cap on feed.json.
func (c *Client) maxFeedBytes() int64 {
	if c.MaxFeedBytes <= 0 || c.MaxFeedBytes > MaxFeedSize {
		return MaxFeedSize
	}
	return c.MaxFeedBytes
}

// getMetadata GETs a metadata document of at most limit bytes, sending
// etag as If-None-Match if set, and reads it all within MetadataTimeout,
// plus hold for a long-poll the server may hold that long (push.go).
// Statuses of 400 and up are errors; others are returned.
func (c *Client) getMetadata(ctx context.Context, rawURL, etag string, limit int64, hold time.Duration) (*metadata, error) {
	d := c.metadataTimeout() + hold
	mctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	// The caller's context ending keeps its own meaning; this request's
	// deadline passing is the mirror being too slow.
	fail := func(err error) error {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("feed: GET %s: %w", rawURL, ctx.Err())
		case mctx.Err() != nil:
			return fmt.Errorf("feed: GET %s: %w: no complete answer within %v (MetadataTimeout): %w",
				rawURL, source.ErrUnavailable, d, context.DeadlineExceeded)
		}
		return err
	}
	req, err := http.NewRequestWithContext(mctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fail(transportError(ctx, rawURL, err))
	}
	defer resp.Body.Close()
	m := &metadata{status: resp.StatusCode, etag: resp.Header.Get("ETag"), push: resp.Header.Get(PushHeader) == "1"}
	switch {
	case resp.StatusCode >= 400:
		return nil, fmt.Errorf("feed: %w", httpx.StatusError(resp))
	case resp.StatusCode != http.StatusOK:
		return m, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fail(fmt.Errorf("feed: GET %s: %w: %w", rawURL, source.ErrUnavailable, err))
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("feed: GET %s: %w: larger than %d bytes", rawURL, source.ErrBadMetadata, limit)
	}
	m.body = body
	return m, nil
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
