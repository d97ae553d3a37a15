// Package github is a source.Source for GitHub releases: a program updates
// itself from the releases of a repository, its own or another project's,
// as they are published, named and signed, with nothing to change on the
// publishing side.
//
//	src, err := github.New(github.Options{Owner: "acme", Repo: "hello", CacheDir: stateDir})
//	v := verify.MustSignature(cosignPub) // or a verifier from verify/sigstore, verify/attest, ...
//	u, err := update.New(update.Options{Source: src, Verifier: v, StateDir: stateDir, ...})
//
// # Releases and tags
//
// Drafts are skipped. A release counts when its tag names a version: v1.2.3
// or 1.2.3, a two-part v1.2 (read as v1.2.0), or one of those after
// "release-" or after the app's name and "-", "_", "/" or "@"
// (hello-v1.2.3, hello/v1.2.3). In a repository that releases several
// programs, Options.TagPrefix names this one's prefix ("hello/"), and only
// its tags count. Other tags (nightly, v1) are skipped. The listing's
// version is the tag's version part (hello/v1.2 is listed as v1.2.0).
//
// The version decides the channel: a prerelease part (v1.3.0-rc.1) makes a
// prerelease, which the updater offers only on a prerelease channel. Where
// GitHub's prerelease mark and the tag disagree, the tag wins, with a log
// line: v1.3.0 marked as a prerelease is listed as the stable 1.3.0, and
// v1.3.0-rc.1 not so marked is a prerelease all the same. A project that
// marks releases "not yet" without saying so in the tag should be told.
//
// # Assets
//
// Each release lists, for each platform (GOOS/GOARCH) one of its files is
// built for, the one a machine of that platform should install, by the
// rules of the one platform table of this module (internal/platform),
// which reads the names real projects use: goreleaser's
// {app}_{version}_{os}_{arch}.tar.gz and its variants, dots as separators
// (sops-3.9.4.linux.amd64), 64bit and 32bit as architectures, arm spelled
// armv7, armhf, arm_6 or aarch64, macOS universal builds (darwin_all,
// macOS-universal, or no architecture at all), Windows .exe. For 32-bit
// arm and amd64 levels, the variant this program was built for (GOARM,
// GOAMD64) decides. One build published several ways (yq's bare binary
// beside its tar.gz, a zip beside a tar.gz) is one build, taken in a
// format this program can unpack (archives first; see
// internal/archive.CanExtract: .tar.zst and .xz need compress/zstd and
// compress/xz linked in). Flavours of one platform (hugo's "extended",
// "musl" builds) are told apart: the plain build is taken, or the one
// Options.Flavour names; when no rule decides, the platform gets no asset
// and a warning lists the candidates. Checksums, signatures, SBOMs and OS
// packages are never programs. When this machine gets no asset, a line
// says what the release offers, platform by platform.
//
// Options.Platform replaces the naming rules for names they cannot read;
// the choice among the files it accepts follows the same rules.
//
// Inside an archive, the updater looks for the program under the names
// projects give it: the app's name, the archive's name without its ending
// (yq_linux_amd64 in yq_linux_amd64.tar.gz), <app>_<os>_<arch>, at the top,
// one folder down or in a bin folder. Options.Executable names it exactly
// when none of those is right.
//
// Downloads: with a token, through the API (Accept:
// application/octet-stream), which serves private repositories; the
// redirect to the storage host is followed without the token. Without a
// token, from the public download URL, which does not count against the
// API rate limit. Downloads resume with Range.
//
// # Trust
//
// An Asset's Digest is what the updater checks the download against, so it
// is set only from what the verifier passed to Releases accepted:
//
//   - A checksums file: goreleaser's checksums.txt or
//     {app}_{version}_checksums.txt, SHA256SUMS, SHA512SUMS,
//     checksums.sha256, sha256sum.txt, sha256.txt, checksums, with or
//     without a prefix; GNU lines (sha256sum) or BSD ones ("SHA256 (file)
//     = ..."), sha256 or sha512. It is trusted when a signature file beside
//     it that the verifier reads verifies, or, for a verifier of
//     cleartext signatures (verify/pgp), when the file's own OpenPGP
//     cleartext signature does.
//   - A GitHub artifact attestation, for an AttestationVerifier
//     (verify/attest): the source asks the repository's attestations API
//     about the asset for this machine, by GitHub's digest of it, and then
//     about the checksums files; the digests an accepted attestation names
//     are trusted.
//   - GitHub's own digest of the asset (the API's "digest" field), only
//     with Options.TrustGitHubDigest. It is integrity, not authenticity: it
//     proves the bytes are those GitHub stored, not who uploaded them, so
//     anyone with write access to the releases (a leaked token, a
//     compromised workflow) gets their file installed. Prefer any
//     signature.
//
// Which signature files a verifier reads, the verifier says (see
// SignatureVerifier): verify.Signature's pinned keys read cosign's .sig,
// .sigstore.json and .bundle; verify/sigstore keyless bundles, and, when
// there is no bundle, a keyless .sig with the .pem certificate beside it
// (see CertificateVerifier), which it looks up in the transparency log
// online; verify/pgp
// .asc and gpg's .sig; verify/minisign .minisig. Files a verifier does not
// read are not evidence, and are not forgeries either: a release signed
// keylessly, listed by a program that pins a key, gets no digests (a line
// says what it is signed with) rather than failing. A signature the
// verifier reads that does not verify fails the whole look with
// verify.ErrBadSignature, and so does a file replaced after it was signed
// (GitHub's digest differs from the signed one: verify.ErrDigestMismatch):
// a forged release is reported, never skipped in silence. A signed
// checksums file that does not list an asset, or lists it twice, vouches
// for nothing about that asset, which the updater then refuses for want of
// a digest. Two signed files that disagree fail the look.
//
// A signature over an asset itself ({asset}.sig, .minisig, .asc, ...) of a
// kind the verifier reads is put in Asset.Signature, for the updater to
// check with the same verifier over the downloaded bytes. A cosign bundle
// records the digest it signed; if that differs from the trusted digest,
// Releases fails then and there.
//
// With a nil verifier (the updater passes one only when verification is
// turned off) GitHub's digest, else any checksums file, else a per-asset
// {asset}.sha256 file gives the digest: corruption is caught, nothing is
// proven.
//
// Checksums files, signatures and attestations are fetched, size-capped,
// for the newest releases only (Options.Depth stable releases and as many
// prereleases).
//
// # Updating from a project you don't control
//
// Pin what the project signs with, as it publishes it, and check that pin
// once by hand, the way you would check a key's fingerprint:
//
//   - Look at a release's files. A checksums.txt.sigstore.json (or
//     .bundle, or a .sig with a .pem beside it) is a keyless Sigstore
//     signature: open the certificate ("cosign verify-blob" prints it, or
//     decode the bundle's certificate) and read its subject, typically
//     https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/vX,
//     and its issuer, https://token.actions.githubusercontent.com. Pin
//     them with verify/sigstore (sigstore.GitHubWorkflow). A .sig with a
//     .pem and no bundle (goreleaser's default) carries no
//     transparency-log proof: verify/sigstore finds it in Sigstore's
//     Rekor log, two or three requests per release looked at, unless
//     its Options.Offline is set; a bundle spares the lookup.
//   - "gh attestation verify FILE --repo OWNER/REPO" succeeding means the
//     project makes GitHub artifact attestations; its output names the
//     workflow that signed them. Pin the repository and that workflow with
//     verify/attest.
//   - A .minisig: the project's README gives its minisign key (RWQ...);
//     pin it with verify/minisign. An .asc or a SHA256SUMS beginning with
//     "-----BEGIN PGP SIGNED MESSAGE-----": get the project's OpenPGP key
//     from its website or a signed tag, check its fingerprint, and pin it
//     with verify/pgp.
//   - A cosign.pub in the repository: pin it with verify.Signature.
//   - Nothing signed: Options.TrustGitHubDigest, knowing what it does not
//     prove, or ask the project to sign (goreleaser's signs section does
//     it in a few lines).
//
// Set Options.App when the files are not named after the repository,
// Options.Flavour when a platform has several builds, Options.TagPrefix in
// a repository of several programs, Options.Executable when the archive's
// program has another name, and list the releases once (Releases, with the
// verifier) to see what a machine would install before shipping.
//
// # Thrift with the API
//
// Without a token GitHub allows 60 API requests an hour from an address;
// a CLI that checks at every start must spend few. A look on the stable
// channel (Options.Channel) asks for the latest release first, and reads
// the release list (100 releases a request, following the Link header)
// only when the latest release changed; on other channels it reads the
// list, and a first page that did not change ends the reading. Every
// request carries the ETag of its last answer (If-None-Match), and the
// answers are compared by what matters to an updater, not by download
// counts. With Options.CacheDir the answers, the small files and the
// attestations are kept on disk, so a program started again asks one
// question of an unchanged repository, which GitHub answers 304 (not
// counted against the rate limit when the request carries a token, by
// GitHub's rules; one request either way) and downloads nothing.
// RateLimit reports what GitHub said of the limit; a spent one is a
// *RateLimitError with the time it resets and the limit
// (errors.Is(err, ErrRateLimited)).
//
// A 404 is never read as "no releases" but as a repository that does not
// exist or that the token cannot see (source.ErrNotFound).
//
// # Bounds
//
// The release list, the latest release and the attestations are read
// through a cap of MaxMetadataSize per answer (the signed feed's cap),
// and the list, all pages together, through four times that; checksums
// files through verify.MaxChecksumsSize and signature files through
// MaxSignatureSize, each refused with ErrTooLarge (source.ErrBadMetadata)
// before more is read. Each of these requests has a deadline of its own
// (Options.Timeout, DefaultTimeout): a server that stalls, or trickles its
// answer a byte a second, ends the look with ErrTimeout
// (source.ErrUnavailable). The caller's context bounds everything,
// downloads included. A look cut short keeps no half answer: the release
// list is cached only once it was read whole, and a file only when it
// arrived whole.
package github
