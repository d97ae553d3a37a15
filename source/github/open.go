package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/molt-go/update/source"
)

// Open returns the asset's bytes from offset on. An asset URL under the API
// root is fetched with the token and Accept: application/octet-stream, as
// GitHub serves private assets; the redirect to the storage host that
// follows does not carry the token. A server that ignores the Range header
// is read past offset instead.
func (s *Source) Open(ctx context.Context, a source.Asset, offset int64) (io.ReadCloser, error) {
	if a.URL == "" {
		return nil, fmt.Errorf("%w: github: asset %q has no URL", source.ErrNotFound, a.Name)
	}
	if offset < 0 {
		return nil, fmt.Errorf("github: negative offset %d", offset)
	}
	resp, err := s.get(ctx, a.URL, a.Name, offset)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != offset {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: github: %s: asked for bytes from %d, got %q", source.ErrUnavailable,
				a.Name, offset, resp.Header.Get("Content-Range"))
		}
		return resp.Body, nil
	case resp.StatusCode == http.StatusOK:
		if offset > 0 {
			if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("%w: github: %s: skipping to %d: %v", source.ErrUnavailable, a.Name, offset, err)
			}
		}
		return resp.Body, nil
	}
	resp.Body.Close()
	return nil, fmt.Errorf("%w: github: %s: unexpected %s", source.ErrUnavailable, a.Name, resp.Status)
}

// get sends a GET for a release file and turns failures into errors that
// wrap the right sentinel. The response it returns has a status below 400.
func (s *Source) get(ctx context.Context, rawURL, name string, offset int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: github: asset %s: bad URL: %v", source.ErrBadMetadata, name, err)
	}
	if s.isAPI(req.URL) {
		req.Header.Set("Accept", "application/octet-stream")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		s.authorize(req)
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.clients.Load().http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, source.ErrInsecureRedirect) {
			return nil, fmt.Errorf("github: downloading %s: %w", name, err)
		}
		return nil, fmt.Errorf("%w: github: downloading %s: %v", source.ErrUnavailable, name, err)
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	defer resp.Body.Close()
	if rl := rateLimited(resp, time.Now()); rl != nil {
		return nil, rl
	}
	return nil, s.statusError(resp.StatusCode, "downloading "+name, "asset "+name+" of "+s.repoName(), resp.Status)
}

// rangeStart reads the first byte position of "bytes 100-199/200".
func rangeStart(cr string) (int64, bool) {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil
}
