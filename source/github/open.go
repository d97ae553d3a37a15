package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/molt-go/update/internal/httpx"
	"github.com/molt-go/update/source"
)

// Open returns the asset's bytes from offset on. An asset URL under the API
// root is fetched with the token and Accept: application/octet-stream, as
// GitHub serves private assets; the redirect to the storage host that
// follows does not carry the token. A server that ignores the Range header
// is read past offset instead. The download has no deadline of its own
// (a large file over a slow link may rightly take long): ctx bounds it.
func (s *Source) Open(ctx context.Context, a source.Asset, offset int64) (io.ReadCloser, error) {
	if a.URL == "" {
		return nil, fmt.Errorf("%w: github: asset %q has no URL", source.ErrNotFound, a.Name)
	}
	if offset < 0 {
		return nil, fmt.Errorf("github: negative offset %d", offset)
	}
	req, err := s.assetRequest(a.URL, a.Name)
	if err != nil {
		return nil, err
	}
	req = req.WithContext(ctx)
	if offset > 0 {
		req.Header.Set("Range", httpx.RangeHeader(offset))
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.http.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, source.ErrInsecureRedirect):
			return nil, fmt.Errorf("github: downloading %s: %w", a.Name, err)
		}
		return nil, fmt.Errorf("%w: github: downloading %s: %v", source.ErrUnavailable, a.Name, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		if rl := rateLimited(resp, time.Now()); rl != nil {
			return nil, rl
		}
		return nil, s.statusError(resp.StatusCode, "downloading "+a.Name, resp.Status)
	}
	body, err := httpx.ResumeBody(resp, offset)
	if err != nil {
		return nil, fmt.Errorf("github: %s: %w", a.Name, err)
	}
	return body, nil
}
