package github

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/molt-go/update/verify/cosign"

	gh "github.com/google/go-github/v92/github"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// isChecksumsName reports whether name is a checksums file as goreleaser
// writes it ("checksums.txt", "{name}_{version}_checksums.txt") or as
// sha256sum users name it ("SHA256SUMS").
func isChecksumsName(name string) bool {
	lower := strings.ToLower(name)
	switch lower {
	case "checksums.txt", "sha256sums", "sha256sums.txt", "sha512sums", "sha512sums.txt":
		return true
	}
	return strings.HasSuffix(lower, "_checksums.txt") || strings.HasSuffix(lower, "-checksums.txt")
}

// checksums finds the release's checksums file, checks its signature with
// v, and parses it. It returns nil, with no error, when the release has no
// checksums file, or when v is not nil and the file is not signed: then no
// digest comes from it. A signature that does not verify is an error.
func (s *Source) checksums(ctx context.Context, byName map[string]*gh.ReleaseAsset, names []string, v verify.Verifier, seen map[int64]bool) (*verify.Checksums, error) {
	var files, signed []string
	for _, n := range names {
		if isChecksumsName(n) {
			files = append(files, n)
			if signatureOf(byName, n) != nil {
				signed = append(signed, n)
			}
		}
	}
	if len(files) == 0 {
		return nil, nil
	}
	use := files
	if v != nil {
		if len(signed) == 0 {
			s.log.Warn("checksums file is not signed; its digests are not trusted", "file", files[0])
			return nil, nil
		}
		use = signed
	}
	if len(use) > 1 {
		return nil, fmt.Errorf("%w: github: several checksums files: %s", source.ErrBadMetadata, quoteList(use))
	}
	name := use[0]
	data, err := s.file(ctx, byName[name], verify.MaxChecksumsSize, seen)
	if err != nil {
		return nil, err
	}
	if v != nil {
		sigAsset := signatureOf(byName, name)
		sigData, err := s.file(ctx, sigAsset, cosign.MaxSignatureFileSize, seen)
		if err != nil {
			return nil, err
		}
		sf, err := cosign.ParseSignatureFile(sigData)
		if err != nil {
			return nil, errorf(err, "signature %s", sigAsset.GetName())
		}
		if err := sf.Verify(v, bytes.NewReader(data)); err != nil {
			return nil, errorf(err, "%s does not verify with %s", name, sigAsset.GetName())
		}
		s.log.Debug("checksums file verified", "file", name, "signature", sigAsset.GetName())
	}
	sums, err := verify.ParseChecksums(data)
	if err != nil {
		return nil, errorf(err, "checksums file %s", name)
	}
	return sums, nil
}

// file downloads a small release file (a checksums file, a signature),
// refusing one larger than limit. Files are kept by asset ID, which GitHub
// changes whenever a file is replaced, so each is fetched once.
func (s *Source) file(ctx context.Context, a *gh.ReleaseAsset, limit int64, seen map[int64]bool) ([]byte, error) {
	id := a.GetID()
	seen[id] = true
	if data, ok := s.files[id]; ok {
		return data, nil
	}
	if int64(a.GetSize()) > limit {
		return nil, fmt.Errorf("%w: github: %s is %d bytes, more than the %d allowed", source.ErrBadMetadata, a.GetName(), a.GetSize(), limit)
	}
	resp, err := s.get(ctx, s.assetURL(a), a.GetName(), 0)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%w: github: %s: unexpected %s", source.ErrUnavailable, a.GetName(), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: github: reading %s: %v", source.ErrUnavailable, a.GetName(), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: github: %s is more than the %d bytes allowed", source.ErrBadMetadata, a.GetName(), limit)
	}
	if n := a.GetSize(); n > 0 && len(data) != n {
		// Cut short on the way: keep it out of the cache, try again later.
		return nil, fmt.Errorf("%w: github: %s: got %d bytes, GitHub lists %d", source.ErrUnavailable, a.GetName(), len(data), n)
	}
	s.files[id] = data
	return data, nil
}

// errorf wraps err with a message saying what it is about.
func errorf(err error, format string, args ...any) error {
	return fmt.Errorf("github: "+format+": %w", append(args, err)...)
}
