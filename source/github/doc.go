// Package github is a source.Source for GitHub releases, made to work with
// the files a goreleaser and cosign pipeline already publishes: point it at
// owner/repo, pin the cosign public key in the program, and no glue code is
// needed.
//
//	src, err := github.New(github.Options{Owner: "acme", Repo: "hello"})
//	v, err := verify.Signature(cosignPub) // the cosign.pub of the release key
//
// # Releases
//
// Every page of the repository's releases is read (100 per request,
// following the Link header). Each page is asked for again with
// If-None-Match, so a look at an unchanged repository costs GitHub nothing
// against the rate limit. Drafts are skipped. A tag must be a semantic
// version, with or without a leading "v"; other tags are skipped with a log
// line. Prereleases are listed, and the version says so (1.3.0-rc.1): the
// updater offers them only on a prerelease channel. A release that GitHub
// marks as a prerelease but whose tag has no prerelease part (v1.3.0) is
// skipped with a warning, since by its version the updater would take it
// for stable.
//
// Errors say what happened: a spent rate limit is a *RateLimitError with
// the time it resets (errors.Is(err, ErrRateLimited)); a 404 is never read
// as "no releases" but as a repository that does not exist or that the
// token cannot see (source.ErrNotFound).
//
// # Assets
//
// Each release lists one asset per platform that its files are built for,
// with OS and Arch in GOOS/GOARCH terms, so the updater picks the one for
// runtime.GOOS and runtime.GOARCH. Names are read as goreleaser writes them,
// {app}_{version}_{os}_{arch}[.tar.gz|.zip|...], and in their common
// variants (see MatchAsset); Options.Platform replaces the rules for other
// names. For 32-bit arm and for amd64 levels, the variant this program was
// built for (GOARM, GOAMD64) decides between armv6 and armv7 builds, or
// amd64 and amd64v3. A platform with two different builds that fit equally
// well gets no asset and a warning naming them (SelectAsset, used on a list
// of names, returns ErrAmbiguousAsset). Archives have Executable set to the
// app's name, with ".exe" on Windows.
//
// With a token, assets are downloaded through the API (Accept:
// application/octet-stream), which serves private repositories; the
// redirect to the storage host is followed without the token. Without a
// token the public download URL is used, which does not count against the
// API rate limit. Downloads resume with Range.
//
// # Trust
//
// An Asset's Digest is what the updater checks the download against, so it
// is set only from metadata the caller trusts:
//
//   - A checksums file (checksums.txt, {name}_{version}_checksums.txt,
//     SHA256SUMS) signed with cosign ({file}.sig, or a Sigstore bundle
//     {file}.sigstore.json or {file}.bundle), whose signature the verifier
//     passed to Releases accepts. If the signature does not verify, if the
//     bundle was made for other bytes, or if an asset is missing from the
//     file or listed twice, Releases fails: a forged or broken release is
//     reported, never skipped in silence.
//   - GitHub's own digest of the asset (the API's "digest" field), only if
//     Options.TrustGitHubDigest is set. It vouches for the bytes GitHub
//     stored, not for who uploaded them.
//
// When both are known and differ, Releases fails with
// verify.ErrDigestMismatch: the asset was replaced after the checksums were
// signed. When the verifier is not nil and a release has no signed
// checksums file, its assets have no digest (unless TrustGitHubDigest), and
// the updater refuses them. When the verifier is nil, which the updater
// allows only when the caller turned verification off, GitHub's digest or
// else the unsigned checksums file is used, which catches corruption but
// proves nothing.
//
// A signature over an asset itself ({asset}.sig, {asset}.sigstore.json or
// {asset}.bundle, as goreleaser's signs with artifacts: archive writes them)
// is put in Asset.Signature, the raw signature bytes, for the updater to
// check with the same verifier over the downloaded bytes. A bundle records
// the digest it signed; if that differs from the trusted digest, Releases
// fails then and there. The bundle's digest is never used as the asset's
// Digest, since it is not trusted until the signature is checked over the
// bytes.
//
// Checksums files and signatures are fetched, size-capped, for the newest
// releases only (Options.Depth stable releases and as many prereleases),
// and kept by asset ID so that each is fetched once.
package github
