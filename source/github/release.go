package github

import (
	"context"
	"fmt"
	"slices"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/internal/archive"
	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// Releases lists the repository's published releases whose tags name a
// version. For the newest ones (see Options.Depth) it fetches and checks
// the checksums files, signatures and attestations as the package
// documentation describes, and fails if a signature v reads does not
// verify.
func (s *Source) Releases(ctx context.Context, v verify.Verifier) (*source.Listing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache.load()
	raw, err := s.releaseList(ctx)
	if err != nil {
		return nil, err
	}
	if rl, ok := s.rate.get(); ok {
		s.log.Debug("looked at the releases", "releases", len(raw), "rate", rl.String())
	}

	lk := &look{v: v, files: map[int64]bool{}, attest: map[string]bool{}}
	var out []source.Release
	stable, unstable := 0, 0
	for i, rv := range s.versioned(raw) {
		deep := s.depth < 0
		if rv.v.Prerelease() == "" {
			stable++
			deep = deep || stable <= s.depth
		} else {
			unstable++
			deep = deep || unstable <= s.depth
		}
		rel, err := s.release(ctx, rv, deep, i == 0, lk)
		if err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	s.cache.prune(lk.files, lk.attest)
	return &source.Listing{Origin: s.origin(), Releases: out}, nil
}

// versioned is a release with the version its tag names.
type versioned struct {
	r       ghRelease
	version string
	v       *semver.Version
}

// versioned keeps the published releases whose tags name a version, newest
// version first. Where GitHub's prerelease mark and the tag disagree, the
// tag wins: the updater tells channels apart by the version alone, so
// v1.3.0 marked as a prerelease is listed as the stable 1.3.0, and
// v1.3.0-rc.1 not so marked is a prerelease all the same.
func (s *Source) versioned(raw []ghRelease) []versioned {
	var out []versioned
	seen := map[string]string{}
	for _, r := range raw {
		if r.Draft {
			continue
		}
		version, v, ok := s.tags.version(r.Tag)
		if !ok {
			s.log.Debug("skipping release: its tag names no version of this app", "tag", r.Tag)
			continue
		}
		if r.Prerelease != (v.Prerelease() != "") {
			s.log.Debug("release's prerelease mark and its tag disagree; the tag decides", "tag", r.Tag, "marked_prerelease", r.Prerelease)
		}
		if other, dup := seen[v.String()]; dup {
			s.log.Debug("skipping release: another tag names the same version", "tag", r.Tag, "other", other)
			continue
		}
		seen[v.String()] = r.Tag
		out = append(out, versioned{r: r, version: version, v: v})
	}
	slices.SortStableFunc(out, func(a, b versioned) int { return b.v.Compare(a.v) })
	return out
}

// release turns one GitHub release into a source.Release: one asset per
// platform its files are built for, each with the digest and signature
// that the trust rules allow. deep says whether to fetch and check the
// release's checksums files, signatures and attestations.
func (s *Source) release(ctx context.Context, rv versioned, deep, newest bool, lk *look) (source.Release, error) {
	r := rv.r
	rel := source.Release{Version: rv.version, Notes: r.Body, Published: r.Published}
	rf := relFiles{tag: r.Tag, byName: map[string]ghAsset{}, note: s.log.Debug}
	if newest {
		rf.note = s.log.Info
	}
	for _, a := range r.Assets {
		// "starter" assets are uploads that never finished.
		if a.Name == "" || (a.State != "" && a.State != "uploaded") {
			continue
		}
		rf.byName[a.Name] = a
		rf.names = append(rf.names, a.Name)
	}
	chosen := s.choose(rf.names, r.Tag, newest)
	if len(chosen) == 0 {
		return rel, nil
	}
	var ev evidence
	if deep {
		var err error
		if ev, err = s.gather(ctx, rf, chosen, lk); err != nil {
			return rel, err
		}
	}
	for _, c := range chosen {
		a, err := s.asset(ctx, rf, c, ev, deep, lk)
		if err != nil {
			return rel, err
		}
		rel.Assets = append(rel.Assets, a)
	}
	return rel, nil
}

// asset builds the source.Asset for one chosen file. Its Digest comes from
// the evidence, or from GitHub when the rules allow (no verifier, or
// TrustGitHubDigest); GitHub's digest, when known, must agree with the
// evidence, or the file was replaced after it was signed.
func (s *Source) asset(ctx context.Context, rf relFiles, c choice, ev evidence, deep bool, lk *look) (source.Asset, error) {
	ga := rf.byName[c.name]
	a := source.Asset{Name: c.name, OS: c.goos, Arch: c.goarch, Size: ga.Size, URL: s.assetURL(ga)}
	if s.exe != "" && archive.FormatOf(c.name).IsArchive() {
		a.Executable = platform.ExeName(s.exe, c.goos)
	}
	var fromAPI verify.Digest
	if ga.Digest != "" {
		d, err := verify.ParseDigest(ga.Digest)
		if err != nil {
			s.log.Warn("ignoring a malformed GitHub digest", "asset", c.name, "err", err)
		}
		fromAPI = d
	}
	trusted, err := ev.sums.lookup(c.name)
	if err != nil {
		return a, fmt.Errorf("release %s: %w", rf.tag, err)
	}
	if trusted.IsZero() {
		trusted = ev.subjects[c.name]
	}
	if sameAlgorithm(trusted, fromAPI) && trusted.String() != fromAPI.String() {
		return a, errorf(verify.ErrDigestMismatch, "release %s: asset %s: GitHub's digest %s differs from the signed %s (replaced after signing?)",
			rf.tag, c.name, fromAPI, trusted)
	}
	switch {
	case !trusted.IsZero():
		a.Digest = trusted
	case lk.v == nil || s.trustGitHub:
		a.Digest = fromAPI
	}
	if !deep {
		return a, nil
	}
	if lk.v == nil {
		if a.Digest.IsZero() {
			a.Digest = s.assetSum(ctx, rf, c.name, lk)
		}
		return a, nil
	}
	a.Signature, err = s.assetSignature(ctx, rf, c.name, a.Digest, lk)
	return a, err
}

// assetSum reads a file beside the asset that holds its digest alone
// ("hello_linux_amd64.tar.gz.sha256"). Nothing signs such files, so they
// are read only when the caller turned verification off: they catch a
// download gone wrong, nothing more.
func (s *Source) assetSum(ctx context.Context, rf relFiles, name string, lk *look) verify.Digest {
	for _, suf := range assetSumSuffixes {
		ga, ok := rf.byName[name+suf]
		if !ok {
			continue
		}
		data, err := s.file(ctx, ga, MaxSignatureSize, lk)
		if err != nil {
			s.log.Debug("could not read a digest file", "file", ga.Name, "err", err)
			continue
		}
		d, err := parseAssetSum(data, name)
		if err == nil {
			return d
		}
		s.log.Debug("ignoring a digest file that does not parse", "file", ga.Name, "err", err)
	}
	return verify.Digest{}
}

// errorf wraps err with a message saying what it is about.
func errorf(err error, format string, args ...any) error {
	return fmt.Errorf("github: "+format+": %w", append(args, err)...)
}
