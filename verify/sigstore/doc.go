// Package sigstore verifies keyless Sigstore signatures: the bundles that
// "cosign sign-blob --bundle" writes for a file signed with a short-lived
// certificate from Fulcio, such as a release workflow signing its
// checksums.txt on GitHub Actions. It is a nested module, so that only a
// program that imports it links sigstore-go.
//
// A keyless signature is trusted for who made it, not for a key: the
// program pins the signer's identity, the subject of its certificate and
// the OIDC issuer that vouched for it. For a GitHub Actions workflow
// (GitHubWorkflow) the subject is the workflow file of the repository at a
// ref, and the issuer is GitHub's token service:
//
//	v, err := sigstore.New(sigstore.Options{
//		Identities: []sigstore.Identity{
//			sigstore.GitHubWorkflow("acme/hello", ".github/workflows/release.yml", "refs/tags/v*"),
//		},
//	})
//	src, err := github.New(github.Options{Owner: "acme", Repo: "hello"})
//	u, err := update.New(update.Options{Source: src, Verifier: v, ...})
//
// # What is checked
//
// Everything offline (but for the one lookup below, for a signature
// published without a bundle), against a Sigstore trusted root compiled
// into the program: the certificate chains to a Fulcio root of the trusted root;
// it was valid when the signature was logged; its subject and issuer are
// one of the pinned identities; its embedded certificate-transparency
// timestamp (SCT) verifies against a CT log of the trusted root (skipped
// only for a trusted root that lists none, such as a private Sigstore);
// the signature, over the file's digest, verifies with its key; and the
// Rekor transparency log's entry for it is in the bundle, with the log's
// signed promise of inclusion (and its inclusion proof, for bundles
// v0.2 and later) verified with a log key of the trusted root. A bundle
// without a log entry is refused, so a signature cannot have been made out
// of public view.
//
// Bundles of every version are read: the protobuf bundle (v0.1 to v0.3,
// ".sigstore.json", "cosign sign-blob --new-bundle-format --bundle"), and
// cosign's older bundle ("cosign sign-blob --bundle" before cosign 3, a
// JSON with base64Signature, cert and rekorBundle), which carries the
// log's signed promise but no inclusion proof.
//
// # Signatures without a bundle: the one online lookup
//
// A ".sig" with a ".pem" certificate beside it ("cosign sign-blob
// --output-signature --output-certificate", goreleaser's default signing)
// holds no evidence that the signature was logged. VerifyWithCertificate
// (which source/github calls for such a pair beside a checksums file)
// gets that evidence the way "cosign verify-blob" does: it asks the Rekor
// log (Options.RekorURL, by default DefaultRekorURL, the public-good
// instance's) for the entries of the file's SHA-256 made with the
// downloaded certificate (POST /api/v1/index/retrieve; if none, for all
// the file's entries), fetches them (GET /api/v1/log/entries/{uuid}),
// keeps the one whose signature, certificate and digest are the
// downloaded ones, makes a bundle of it, and verifies that bundle exactly
// as any other: pinned identity, certificate chain, and the log's signed
// entry timestamp and inclusion proof against the log's key in the
// trusted root. The log is not trusted for anything its key does not sign.
//
// That is the only time this package makes a network request, and it
// sends the log only what is public: the file's digest and the
// certificate. It is bounded: 30 seconds and 64 KiB an answer, at most 16
// entries looked at. A signature the log has no entry for is refused
// (ErrNotInLog, ErrLogMismatch); a log that cannot be asked is no verdict
// (ErrLogUnreachable, which wraps source.ErrUnavailable: trying again
// later may work). Options.Offline turns the lookup off, and such a
// pair is then refused with ErrBundle, as needing a bundle; bundles are
// always verified offline, so a project that publishes one (one more flag
// to cosign) spares its users the lookup.
//
// # The trusted root, and keeping it fresh
//
// The trusted root names the Fulcio certificate authorities, the Rekor
// logs, the CT logs and the timestamp authorities of a Sigstore instance,
// with their keys. The one compiled in (PublicGoodTrustedRoot) is the
// public-good instance's trusted_root.json as its TUF repository published
// it, copied into this package from github.com/sigstore/sigstore v1.10.11
// (pkg/tuf/repository/targets). Sigstore rotates these keys and adds log
// shards from time to time; a signature made under a key the compiled-in
// root does not know fails with ErrUntrusted. Refresh it before a release
// of your program, the way any pinned key is updated:
//
//	go run github.com/molt-go/update/verify/sigstore/cmd/sigstore-trusted-root > trusted_root.json
//
// which fetches trusted_root.json from Sigstore's TUF repository and checks
// it against the TUF root that sigstore-go embeds, then embed the file in
// your program and pass it as Options.TrustedRoot (or, in this repository,
// run go generate in this package). A program that may be offline for
// years between updates should ship a fresh root with every release, as
// it ships its code.
//
// Options.TrustedRoot also takes the trusted root of another instance: a
// private Sigstore, or GitHub's own, which signs the attestations of
// private repositories ("gh attestation trusted-root").
package sigstore
