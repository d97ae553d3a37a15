package httpx

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/molt-go/update/source"
)

// RangeHeader is the Range header value that asks for everything from
// offset on.
func RangeHeader(offset int64) string { return "bytes=" + strconv.FormatInt(offset, 10) + "-" }

// RangeStart reads the first byte position of a Content-Range header such
// as "bytes 100-199/200".
func RangeStart(contentRange string) (int64, bool) {
	spec, ok := strings.CutPrefix(contentRange, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil
}

// CheckRange returns an error wrapping source.ErrUnavailable unless a
// ranged answer starts at offset: a server that starts elsewhere would
// splice the wrong bytes into a resumed download.
func CheckRange(contentRange string, offset int64) error {
	if start, ok := RangeStart(contentRange); !ok || start != offset {
		return fmt.Errorf("asked for bytes from %d, got Content-Range %q: %w", offset, contentRange, source.ErrUnavailable)
	}
	return nil
}

// ResumeBody returns the body of a successful answer to a request for the
// bytes from offset on. A 206 must start at offset; a 200 from a server
// that ignores Range is read past offset instead (a Skipper, which skips
// as it is first read), so resuming works with every static host (the
// updater's digest over the whole file catches a file that changed in
// between). On error the body is closed.
func ResumeBody(resp *http.Response, offset int64) (io.ReadCloser, error) {
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		if err := CheckRange(resp.Header.Get("Content-Range"), offset); err != nil {
			resp.Body.Close()
			return nil, err
		}
	case resp.StatusCode == http.StatusOK:
		if offset > 0 {
			if resp.ContentLength >= 0 && resp.ContentLength < offset {
				resp.Body.Close()
				return nil, fmt.Errorf("the server sent %d bytes, fewer than the %d already here, and ignored Range: %w", resp.ContentLength, offset, source.ErrUnavailable)
			}
			return &skipper{body: resp.Body, left: offset}, nil
		}
	default:
		resp.Body.Close()
		return nil, fmt.Errorf("unexpected %s: %w", resp.Status, source.ErrUnavailable)
	}
	return resp.Body, nil
}
