package github

import (
	"context"
	"fmt"
	"net/http"

	"github.com/molt-go/update/source"
)

// file downloads a small release file (a checksums file, a signature),
// refusing one larger than limit, within the metadata deadline. Files are
// kept by asset ID, which GitHub changes whenever a file is replaced, so
// each is fetched once; lk records the ones this look used.
func (s *Source) file(ctx context.Context, a ghAsset, limit int64, lk *look) ([]byte, error) {
	lk.files[a.ID] = true
	if data, ok := s.cache.file(a.ID, a.Size); ok {
		return data, nil
	}
	if a.Size > limit {
		return nil, fmt.Errorf("%w: github: %s is %d bytes, more than the %d allowed", ErrTooLarge, a.Name, a.Size, limit)
	}
	req, err := s.assetRequest(s.assetURL(a), a.Name)
	if err != nil {
		return nil, err
	}
	ans, err := s.fetchMeta(ctx, req, limit, "downloading "+a.Name)
	if err != nil {
		return nil, err
	}
	if ans.status != http.StatusOK {
		return nil, s.statusError(ans.status, "downloading "+a.Name, fmt.Sprintf("%d", ans.status))
	}
	if n := a.Size; n > 0 && int64(len(ans.body)) != n {
		// Cut short on the way: keep it out of the cache, try again later.
		return nil, fmt.Errorf("%w: github: %s: got %d bytes, GitHub lists %d", source.ErrUnavailable, a.Name, len(ans.body), n)
	}
	s.cache.putFile(a.ID, ans.body)
	return ans.body, nil
}

// assetRequest builds the GET of a release file: through the API with
// Accept: application/octet-stream (which redirects to the storage host),
// or from its public download URL.
func (s *Source) assetRequest(rawURL, name string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: github: asset %s: bad URL: %v", source.ErrBadMetadata, name, err)
	}
	if s.isAPI(req.URL) {
		req.Header.Set("Accept", "application/octet-stream")
		req.Header.Set("X-GitHub-Api-Version", apiVersion)
		s.authorize(req)
	}
	return req, nil
}

// assetURL is where a file is downloaded from. With a token it is the
// API's asset URL, which serves private repositories; without one it is
// the public download URL, which does not count against the API rate
// limit.
func (s *Source) assetURL(a ghAsset) string {
	if s.token != "" || a.DownloadURL == "" {
		return a.URL
	}
	return a.DownloadURL
}
