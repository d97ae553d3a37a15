package github

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/molt-go/update/verify/cosign"

	gh "github.com/google/go-github/v92/github"

	"github.com/molt-go/update/internal/archive"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// release turns one GitHub release into a source.Release: one asset per
// platform its files are built for, each with the digest and signature that
// the trust rules allow. deep says whether to fetch and verify the release's
// checksums file and signatures; seen collects the IDs of the files fetched
// or reused.
func (s *Source) release(ctx context.Context, r *gh.RepositoryRelease, v verify.Verifier, deep bool, seen map[int64]bool) (source.Release, error) {
	rel := source.Release{Version: r.TagName, Notes: r.GetBody()}
	if r.PublishedAt != nil {
		rel.Published = r.PublishedAt.Time
	}
	byName := map[string]*gh.ReleaseAsset{}
	var names []string
	for _, a := range r.Assets {
		// "starter" assets are uploads that never finished.
		if a.GetName() == "" || (a.GetState() != "" && a.GetState() != "uploaded") {
			continue
		}
		byName[a.GetName()] = a
		names = append(names, a.GetName())
	}
	chosen := s.choose(names, r.TagName)
	if len(chosen) == 0 {
		return rel, nil
	}

	var sums *verify.Checksums
	if deep {
		var err error
		if sums, err = s.checksums(ctx, byName, names, v, seen); err != nil {
			return rel, err
		}
	}
	for _, c := range chosen {
		a, err := s.asset(ctx, byName, c.name, c.p, sums, v, deep, seen)
		if err != nil {
			return rel, err
		}
		rel.Assets = append(rel.Assets, a)
	}
	return rel, nil
}

// choice is the asset picked for one platform.
type choice struct {
	name string
	p    Platform
}

// choose picks one program per platform among names. A platform whose
// files are ambiguous gets none, with a warning naming them, rather than a
// guess.
func (s *Source) choose(names []string, tag string) []choice {
	var plats []Platform
	for _, n := range names {
		p, ok := s.platform(n)
		if !ok {
			continue
		}
		if p.Arch == "all" {
			plats = append(plats, Platform{OS: p.OS, Arch: "amd64"}, Platform{OS: p.OS, Arch: "arm64"})
			continue
		}
		plats = append(plats, Platform{OS: p.OS, Arch: p.Arch})
	}
	slices.SortFunc(plats, func(a, b Platform) int { return strings.Compare(a.String(), b.String()) })
	plats = slices.Compact(plats)
	var out []choice
	for _, p := range plats {
		want := p
		switch p.Arch {
		case "arm":
			want.Variant = s.goarm
		case "amd64":
			want.Variant = s.goamd64
		}
		name, err := selectAsset(names, want, s.app, s.platform)
		if err != nil {
			level := "no asset fits this machine's variant"
			if errors.Is(err, ErrAmbiguousAsset) {
				level = "ambiguous assets"
			}
			s.log.Warn("skipping platform: "+level, "tag", tag, "platform", p.String(), "err", err)
			continue
		}
		out = append(out, choice{name: name, p: p})
	}
	return out
}

// asset builds the source.Asset for the file called name.
func (s *Source) asset(ctx context.Context, byName map[string]*gh.ReleaseAsset, name string, p Platform,
	sums *verify.Checksums, v verify.Verifier, deep bool, seen map[int64]bool) (source.Asset, error) {
	ga := byName[name]
	a := source.Asset{Name: name, OS: p.OS, Arch: p.Arch, Size: int64(ga.GetSize()), URL: s.assetURL(ga)}
	if archive.FormatOf(name) != archive.Bare {
		a.Executable = s.app
		if p.OS == "windows" {
			a.Executable += ".exe"
		}
	}
	// GitHub's digest, computed by GitHub at upload; absent on older
	// assets. It is trusted only as the rules in doc.go say.
	var fromAPI verify.Digest
	if d := ga.GetDigest(); d != "" {
		var err error
		if fromAPI, err = verify.ParseDigest(d); err != nil {
			s.log.Warn("ignoring malformed GitHub digest", "asset", name, "err", err)
			fromAPI = verify.Digest{}
		}
	}
	switch {
	case sums != nil:
		d, err := sums.Lookup(name)
		if err != nil {
			return a, err
		}
		if sameAlgorithm(d, fromAPI) && d.String() != fromAPI.String() {
			return a, errorf(verify.ErrDigestMismatch, "asset %s: GitHub's digest %s differs from the checksums file's %s", name, fromAPI, d)
		}
		a.Digest = d
	case v == nil || s.trustGitHub:
		a.Digest = fromAPI
	}
	if deep && v != nil {
		sig, err := s.assetSignature(ctx, byName, name, a.Digest, seen)
		if err != nil {
			return a, err
		}
		a.Signature = sig
	}
	return a, nil
}

// assetSignature returns the raw signature from a signature file over the
// asset itself (name.sig, name.sigstore.json or name.bundle), or nil if
// there is none. A bundle records the digest of what it signed; when a
// trusted digest is known already, a bundle for other bytes is refused here
// rather than after the download.
func (s *Source) assetSignature(ctx context.Context, byName map[string]*gh.ReleaseAsset, name string, trusted verify.Digest, seen map[int64]bool) ([]byte, error) {
	ga := signatureOf(byName, name)
	if ga == nil {
		return nil, nil
	}
	data, err := s.file(ctx, ga, cosign.MaxSignatureFileSize, seen)
	if err != nil {
		return nil, err
	}
	sf, err := cosign.ParseSignatureFile(data)
	if err != nil {
		return nil, errorf(err, "signature %s", ga.GetName())
	}
	if sameAlgorithm(sf.Digest, trusted) && sf.Digest.String() != trusted.String() {
		return nil, errorf(verify.ErrDigestMismatch, "signature %s is for %s, but %s is %s", ga.GetName(), sf.Digest, name, trusted)
	}
	return sf.Sig, nil
}

// signatureSuffixes are the names goreleaser and cosign give a signature
// beside the file it signs: a bare base64 signature, and a Sigstore bundle
// in its new and its older name.
var signatureSuffixes = []string{".sig", ".sigstore.json", ".bundle"}

// signatureOf returns the signature file for the file called name, or nil.
func signatureOf(byName map[string]*gh.ReleaseAsset, name string) *gh.ReleaseAsset {
	for _, suf := range signatureSuffixes {
		if a := byName[name+suf]; a != nil {
			return a
		}
	}
	return nil
}

// sameAlgorithm reports whether two known digests can be compared.
func sameAlgorithm(a, b verify.Digest) bool {
	return !a.IsZero() && !b.IsZero() && a.Algorithm == b.Algorithm
}

// assetURL is where Open fetches the asset. With a token it is the API's
// asset URL, which serves private repositories; without one it is the
// public download URL, which does not count against the API rate limit.
func (s *Source) assetURL(a *gh.ReleaseAsset) string {
	if s.token != "" || a.GetBrowserDownloadURL() == "" {
		return a.GetURL()
	}
	return a.GetBrowserDownloadURL()
}
