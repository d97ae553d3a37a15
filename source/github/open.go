package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/molt-go/update/internal/httpx"
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
	body, err := httpx.ResumeBody(resp, offset)
	if err != nil {
		return nil, fmt.Errorf("github: %s: %w", a.Name, err)
	}
	return body, nil
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
		req.Header.Set("Range", httpx.RangeHeader(offset))
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
