package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/molt-go/update/internal/httpx"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify/cosign"
)

// MaxMetadataSize caps each answer of the API (a page of the release list,
// the latest release, a list of attestations) and each attestation bundle,
// as source/feed caps a feed: a page of 100 releases with a few dozen
// assets each is a few MiB, so 16 MiB holds any real one, while a hostile
// or broken server that sends an endless body costs a bounded read and is
// refused with ErrTooLarge.
const MaxMetadataSize = 16 << 20

// MaxSignatureSize caps a signature file (a .sig, a .minisig, an .asc, a
// Sigstore bundle with its certificate and log proof: a few KiB each).
const MaxSignatureSize = cosign.MaxSignatureFileSize

// maxErrorBody caps what is read of an error answer, for its message.
const maxErrorBody = 64 << 10

// answer is a metadata response read in full, within its cap.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// fetchMeta sends req and reads its answer whole, refusing one larger than
// limit, all within s.timeout. It returns the answer for statuses below 400
// and for 404, which callers read as "none"; other statuses are errors
// wrapping the right sentinel. doing says what the request is for, in
// messages.
func (s *Source) fetchMeta(ctx context.Context, req *http.Request, limit int64, doing string) (*answer, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req = req.WithContext(ctx)
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, s.transportError(parent, ctx, err, doing)
	}
	defer resp.Body.Close()
	if s.isAPI(req.URL) {
		if rl, ok := s.rate.observe(resp.Header, time.Now()); ok && rl.Limit > 0 && rl.Remaining*10 < rl.Limit {
			s.log.Warn("GitHub rate limit nearly spent; a token raises it", "rate", rl.String())
		}
	}
	if resp.StatusCode >= 400 && resp.StatusCode != http.StatusNotFound {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		msg := apiMessage(body)
		if rl := rateLimited(resp, time.Now()); rl != nil {
			rl.Message = msg
			return nil, rl
		}
		detail := resp.Status
		if msg != "" {
			detail += ": " + msg
		}
		return nil, s.statusError(resp.StatusCode, doing, detail)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %s: the answer is %d bytes, more than the %d allowed", ErrTooLarge, doing, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, s.transportError(parent, ctx, err, doing)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: %s: the answer is more than the %d bytes allowed", ErrTooLarge, doing, limit)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// transportError explains a failed request or body read: the caller's
// context ending is returned as is; this package's own deadline is
// ErrTimeout; anything else is the network, ErrUnavailable.
func (s *Source) transportError(parent, ctx context.Context, err error, doing string) error {
	switch {
	case parent.Err() != nil:
		return parent.Err()
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %s: no complete answer within %v", ErrTimeout, doing, s.timeout)
	case errors.Is(err, source.ErrInsecureRedirect):
		return fmt.Errorf("github: %s: %w", doing, err)
	}
	return fmt.Errorf("%w: github: %s: %v", source.ErrUnavailable, doing, err)
}

// apiRequest builds a GET for path under the API root, with the headers
// GitHub asks for, the token, and If-None-Match when etag is known.
func (s *Source) apiRequest(path, etag string) (*http.Request, error) {
	u, err := s.base.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("github: %s: %w", path, err)
	}
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("github: %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", apiVersion)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	s.authorize(req)
	return req, nil
}

// getAPI fetches an API path; see fetchMeta.
func (s *Source) getAPI(ctx context.Context, path, etag, doing string) (*answer, error) {
	req, err := s.apiRequest(path, etag)
	if err != nil {
		return nil, err
	}
	return s.fetchMeta(ctx, req, MaxMetadataSize, doing)
}

// decode parses an API answer into v, calling malformed JSON what it is.
func decode(a *answer, v any, doing string) error {
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("%w: github: %s: %v", source.ErrBadMetadata, doing, err)
	}
	return nil
}

// apiMessage is the "message" of a GitHub error body, or "".
func apiMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Message
}

// statusError explains an HTTP failure status from the API or a download.
// A 404 is never taken for "no releases": it means the repository or file
// is gone or hidden from this token, and the updater should say so.
func (s *Source) statusError(code int, doing, detail string) error {
	sentinel := httpx.Sentinel(code)
	switch {
	case code == http.StatusNotFound && s.token != "":
		return fmt.Errorf("github: %s: not found, or the token has no access to %s (%s): %w",
			doing, s.repoName(), detail, sentinel)
	case code == http.StatusNotFound:
		return fmt.Errorf("github: %s: not found (%s may be private: that needs a token) (%s): %w",
			doing, s.repoName(), detail, sentinel)
	case code == http.StatusUnauthorized:
		return fmt.Errorf("github: %s: the token was refused (%s): %w", doing, detail, sentinel)
	case sentinel == nil:
		return fmt.Errorf("%w: github: %s: %s", source.ErrBadMetadata, doing, detail)
	}
	return fmt.Errorf("github: %s: %s: %w", doing, detail, sentinel)
}

// nextPage reads the page number of the rel="next" link of a Link header,
// 0 if there is none.
func nextPage(link string) int {
	for _, part := range strings.Split(link, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(params, `rel="next"`) {
			continue
		}
		target = strings.Trim(strings.TrimSpace(target), "<>")
		_, query, _ := strings.Cut(target, "?")
		for _, kv := range strings.Split(query, "&") {
			if v, ok := strings.CutPrefix(kv, "page="); ok {
				n := 0
				if _, err := fmt.Sscanf(v, "%d", &n); err == nil && n > 0 {
					return n
				}
			}
		}
	}
	return 0
}
