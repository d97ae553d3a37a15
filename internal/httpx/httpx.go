// Package httpx is the HTTP policy shared by every source that speaks HTTP
// (the signed feed, GitHub releases, S3): which client to use when the caller
// gave none, never following https to plain http, and which source error a
// status code means.
package httpx

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/molt-go/update/source"
)

// maxRedirects is the standard library's own limit, kept when this package
// takes over CheckRedirect so that a redirect loop still ends.
const maxRedirects = 10

// defaultTransport is shared by every default client so that they share one
// connection pool; it is made once, on first use.
var defaultTransport = sync.OnceValue(func() *http.Transport {
	return &http.Transport{
		// Proxies from HTTPS_PROXY, HTTP_PROXY and NO_PROXY, as users expect.
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			// A host that does not answer at all is given up on, rather
			// than waiting for the operating system's minutes-long limit.
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// A server that accepts the connection but never answers is given
		// up on too. There is deliberately no overall timeout: a large
		// download over a slow link may rightly take an hour; the caller's
		// context bounds it.
		ResponseHeaderTimeout: 60 * time.Second,
	}
})

// Client returns a copy of base whose redirects never go from https to plain
// http: such a redirect fails with an error wrapping
// source.ErrInsecureRedirect. Any CheckRedirect that base has still runs after
// that check; without one, the standard limit of 10 redirects applies.
//
// If base is nil, the client has connect, TLS handshake and response header
// timeouts but no overall timeout (downloads can be long; the context bounds
// them) and takes proxies from the environment. base itself is never changed.
func Client(base *http.Client) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	} else {
		c.Transport = defaultTransport()
	}
	prev := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 {
			from := via[len(via)-1].URL
			if from.Scheme == "https" && req.URL.Scheme != "https" {
				return fmt.Errorf("%w: %s to %s", source.ErrInsecureRedirect, from.Redacted(), req.URL.Redacted())
			}
		}
		if prev != nil {
			return prev(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &c
}

// ResponseError is an HTTP response that was not a success. It wraps the
// source error its status means (source.ErrNotFound, source.ErrAccess,
// source.ErrUnavailable), or nothing for statuses that mean none of them
// (such as 400), so callers test it with errors.Is.
type ResponseError struct {
	Method     string
	URL        string
	StatusCode int
	Status     string
	Err        error
}

// Error says the request, the URL and the status, so a log line alone tells
// which server answered what.
func (e *ResponseError) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.Method, e.URL, e.Status)
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

// Unwrap returns the source error the status means, or nil.
func (e *ResponseError) Unwrap() error { return e.Err }

// StatusError returns nil for a response below 400 and otherwise a
// *ResponseError wrapping the source error that the status means:
//
//   - 404 and 410 wrap source.ErrNotFound;
//   - 401, 403 and 407 wrap source.ErrAccess;
//   - 5xx, 408 (timeout), 429 (too many requests) and 416 (range not
//     satisfiable: the file changed under a resumed download, so a fresh
//     start later will work) wrap source.ErrUnavailable;
//   - other statuses wrap nothing.
//
// It does not read or close the body.
func StatusError(resp *http.Response) error {
	code := resp.StatusCode
	if code < 400 {
		return nil
	}
	e := &ResponseError{StatusCode: code, Status: resp.Status, Err: Sentinel(code)}
	if e.Status == "" {
		e.Status = fmt.Sprintf("%d %s", code, http.StatusText(code))
	}
	if req := resp.Request; req != nil {
		e.Method = req.Method
		if req.URL != nil {
			e.URL = req.URL.Redacted()
		}
	}
	return e
}

// Sentinel returns the source error that an HTTP status code means, or nil
// for successes and for statuses that mean none of them. It is StatusError's
// table, for sources whose SDK hands back a status rather than a response.
func Sentinel(code int) error {
	switch {
	case code < 400:
		return nil
	case code == http.StatusNotFound, code == http.StatusGone:
		return source.ErrNotFound
	case code == http.StatusUnauthorized, code == http.StatusForbidden,
		code == http.StatusProxyAuthRequired:
		return source.ErrAccess
	case code >= 500, code == http.StatusRequestTimeout,
		code == http.StatusTooManyRequests, code == http.StatusRequestedRangeNotSatisfiable:
		return source.ErrUnavailable
	}
	return nil
}

// HasStatus reports whether err is, or wraps, a *ResponseError with the
// given status code, for callers that treat one status specially.
func HasStatus(err error, code int) bool {
	var re *ResponseError
	return errors.As(err, &re) && re.StatusCode == code
}
