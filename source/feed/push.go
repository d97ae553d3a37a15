package feed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/molt-go/update/internal/httpx"
	"github.com/molt-go/update/source"
)

// The push protocol, a long-poll on feed.json itself (see the package doc,
// # Push).
const (
	// WaitParam is the query parameter that makes a GET of feed.json a
	// long-poll; its value is how many seconds the server may hold the
	// request while nothing changes.
	WaitParam = "wait"
	// PushHeader is on every answer to a long-poll from a server that
	// holds them (value "1"). A static host answers the GET at once and
	// without it; the Client then knows it must poll.
	PushHeader = "Molt-Push"
	// DefaultWaitHold is how long a Client asks the server to hold a
	// long-poll, and the most it asks for: under the 60 s after which many
	// proxies, NATs and load balancers cut an idle connection, and under
	// the default HTTP client's 60 s wait for response headers.
	DefaultWaitHold = 55 * time.Second
)

// minWaitRound paces a Wait whose holds end early (a proxy that cuts idle
// requests short, a server that answers at once) to a request a second.
const minWaitRound = time.Second

// pushedTTL is how long a feed that arrived with a push answer is kept for
// the next Releases; a caller that lists later than that fetches the feed
// as usual, so a stale push answer is never what it sees.
const pushedTTL = 30 * time.Second

// pushed is a feed that came with the answer to a long-poll, kept for the
// next Releases, which verifies it as any other.
type pushed struct {
	url  string
	etag string
	body []byte
	at   time.Time
}

var _ source.Notifier = (*Client)(nil)

func (c *Client) waitHold() time.Duration {
	if c.WaitHold > 0 && c.WaitHold < DefaultWaitHold {
		return c.WaitHold
	}
	return DefaultWaitHold
}

// Wait blocks until the feed may have changed since the last Releases, or
// ctx ends. It asks the server to hold a GET of feed.json (with the query
// parameter WaitParam and the ETag of the last feed seen) until the feed
// changes; a hold that ends with nothing new (304) is asked again. A
// changed feed arrives in the answer and is kept for the next Releases
// (for pushedTTL), which checks it as it checks every feed: Wait itself
// trusts nothing it reads.
//
// Each request is bounded like every metadata request: MaxFeedBytes, and
// WaitHold plus MetadataTimeout for the whole answer.
//
// A host that does not hold long-polls (an answer without PushHeader, or a
// 4xx: a plain folder, S3, a CDN, an older server) gives an error wrapping
// source.ErrNoPush. Other errors wrap the sentinels that Releases uses
// (source.ErrUnavailable for 5xx, the network and slowness); the context's
// end is returned wrapped as it is.
func (c *Client) Wait(ctx context.Context) error {
	u, err := c.feedURL()
	if err != nil {
		return err
	}
	feedURL := u.String()
	hold := c.waitHold()
	q := u.Query()
	q.Set(WaitParam, strconv.Itoa(int(hold/time.Second)))
	w := *u
	w.RawQuery = q.Encode()
	waitURL := w.String()
	limit := c.maxFeedBytes()
	for {
		start := time.Now()
		c.mu.Lock()
		etag := c.seen
		if c.seenURL != feedURL {
			etag = ""
		}
		c.mu.Unlock()
		m, err := c.getMetadata(ctx, waitURL, etag, limit, hold)
		var re *httpx.ResponseError
		switch {
		case err != nil && errors.As(err, &re) && re.StatusCode < 500:
			return fmt.Errorf("feed: %w: %w", source.ErrNoPush, err)
		case err != nil:
			return err
		case !m.push:
			return fmt.Errorf("feed: GET %s: %w: answered %d without %s", waitURL, source.ErrNoPush, m.status, PushHeader)
		case m.status == http.StatusOK:
			c.mu.Lock()
			c.pushed = &pushed{url: feedURL, etag: m.etag, body: m.body, at: time.Now()}
			// Seen now, so that the next Wait holds even if no Releases
			// comes between (one that fails before it reads the feed).
			c.seenURL, c.seen = feedURL, m.etag
			c.mu.Unlock()
			return nil
		case m.status != http.StatusNotModified:
			return fmt.Errorf("feed: GET %s: unexpected %d: %w", waitURL, m.status, source.ErrUnavailable)
		}
		if err := sleepCtx(ctx, minWaitRound-time.Since(start)); err != nil {
			return fmt.Errorf("feed: wait: %w", err)
		}
	}
}

// takePushed returns the feed a push answer brought for feedURL, if it is
// fresh, and forgets it: it is used once.
func (c *Client) takePushed(feedURL string) *pushed {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pushed
	c.pushed = nil
	if p == nil || p.url != feedURL || time.Since(p.at) > pushedTTL {
		return nil
	}
	return p
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
