package sigstore

import (
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// Errors returned by this package, to be tested with errors.Is. Every
// verification failure wraps verify.ErrBadSignature too, so that the
// updater and the sources treat it as any bad signature.
var (
	// ErrOptions means the Options cannot work: no identity, a bad
	// regular expression, a trusted root that does not parse.
	ErrOptions = errors.New("sigstore: bad options")
	// ErrBundle means the signature file is not a Sigstore bundle this
	// package reads, or one that is incomplete (no transparency-log
	// entry, say).
	ErrBundle = fmt.Errorf("%w: sigstore: unreadable bundle", verify.ErrBadSignature)
	// ErrUntrusted means the bundle did not verify: another signer or
	// issuer than the pinned ones, a certificate or log entry the trusted
	// root does not vouch for, or a signature over other bytes.
	ErrUntrusted = fmt.Errorf("%w: sigstore: not verified", verify.ErrBadSignature)
	// ErrNotInLog means the transparency log has no entry for the file
	// that a signature without a bundle is over: a signature made out of
	// public view, or logged in another log than Options.RekorURL. It
	// wraps ErrUntrusted.
	ErrNotInLog = fmt.Errorf("%w: not in the transparency log", ErrUntrusted)
	// ErrLogMismatch means the log has entries for the file, but none for
	// the signature and certificate that were downloaded: someone else's
	// signatures of the same bytes. It wraps ErrNotInLog.
	ErrLogMismatch = fmt.Errorf("%w: no entry for this signature and certificate", ErrNotInLog)
	// ErrLogUnreachable means the transparency log could not be asked, or
	// did not answer as a Rekor log does: the network, a deadline, an
	// HTTP error, an answer too large or malformed. It is no verdict on
	// the signature; it wraps source.ErrUnavailable, as trying again
	// later may work, and not verify.ErrBadSignature.
	ErrLogUnreachable = fmt.Errorf("%w: sigstore: transparency log unreachable", source.ErrUnavailable)
)

// MaxBundleSize is the largest bundle Verify reads, as large as a
// signature file may be (source/github's MaxSignatureSize): a bundle with
// its certificate chain, log entry and timestamps is a few KiB.
const MaxBundleSize = 64 << 10

// Options configure a Verifier.
type Options struct {
	// Identities are the signers to trust; a bundle signed by any one of
	// them verifies. At least one is required.
	Identities []Identity
	// TrustedRoot is the Sigstore trusted root (trusted_root.json) to
	// verify against; nil means PublicGoodTrustedRoot. See the package
	// documentation for keeping it fresh.
	TrustedRoot []byte

	// RekorURL is the Rekor transparency log in which VerifyWithCertificate
	// looks up a signature published without a bundle (a .sig with its
	// .pem); "" means DefaultRekorURL, the public-good instance's. It is
	// https, or http to a loopback address. A private Sigstore's log goes
	// here, with its TrustedRoot.
	RekorURL string
	// HTTPClient makes the requests to the log; nil means a client with
	// the library's defaults (connection timeouts, no redirect from https
	// to http). Each request is bounded to 30 seconds besides.
	HTTPClient *http.Client
	// Offline turns the lookup off: nothing is ever contacted, and a
	// signature without a bundle is refused with ErrBundle, as needing one.
	Offline bool
}

// Verifier verifies Sigstore bundles of files signed keylessly by one of
// the pinned identities, and signatures published with their certificate
// and no bundle (VerifyWithCertificate). It implements verify.Verifier, so
// it can be the updater's Verifier, and tells source/github which files
// it reads.
type Verifier struct {
	sv    *sgverify.Verifier
	ids   []sgverify.CertificateIdentity
	rekor *rekorClient // nil when Offline
}

var _ verify.Verifier = (*Verifier)(nil)

// New returns a Verifier for o.
func New(o Options) (*Verifier, error) {
	if len(o.Identities) == 0 {
		return nil, fmt.Errorf("%w: no identity to trust", ErrOptions)
	}
	v := &Verifier{}
	for i, id := range o.Identities {
		ci, err := id.certificateIdentity()
		if err != nil {
			return nil, fmt.Errorf("%w: identity %d: %v", ErrOptions, i+1, err)
		}
		v.ids = append(v.ids, ci)
	}
	if !o.Offline {
		var err error
		if v.rekor, err = newRekorClient(o.RekorURL, o.HTTPClient); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrOptions, err)
		}
	}
	rootJSON := o.TrustedRoot
	if rootJSON == nil {
		rootJSON = publicGood
	}
	tr, err := root.NewTrustedRootFromJSON(rootJSON)
	if err != nil {
		return nil, fmt.Errorf("%w: trusted root: %v", ErrOptions, err)
	}
	opts := []sgverify.VerifierOption{
		// A log entry, verified, and a time for the signature from it (or
		// from a timestamp authority the root lists).
		sgverify.WithTransparencyLog(1),
		sgverify.WithObserverTimestamps(1),
	}
	if len(tr.CTLogs()) > 0 {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	if v.sv, err = sgverify.NewVerifier(tr, opts...); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOptions, err)
	}
	return v, nil
}

// SignatureSuffixes are the bundle files beside a signed file that this
// verifier reads: cosign's and goreleaser's names for a Sigstore bundle.
func (v *Verifier) SignatureSuffixes() []string {
	return []string{".sigstore.json", ".sigstore", ".bundle"}
}

// Verify reads message once, to EOF, and returns nil if sig, a Sigstore
// bundle (JSON, any version, or cosign's older bundle), is a good keyless
// signature over it by one of the pinned identities, as the package
// documentation describes. It returns an error wrapping ErrBundle or
// ErrUntrusted (both verify.ErrBadSignature) otherwise, or the read error.
func (v *Verifier) Verify(message io.Reader, sig []byte) error {
	b, alg, err := ParseBundle(sig)
	if err != nil {
		return err
	}
	if message == nil {
		return fmt.Errorf("%w: no message", ErrUntrusted)
	}
	var h hash.Hash = sha256.New()
	if alg == "sha512" {
		h = sha512.New()
	}
	if _, err := io.Copy(h, message); err != nil {
		return fmt.Errorf("sigstore: reading the signed file: %w", err)
	}
	_, err = v.VerifyEntity(b, sgverify.WithArtifactDigest(alg, h.Sum(nil)))
	return err
}

// VerifyEntity verifies a parsed bundle (or any sigstore-go signed entity)
// against the trusted root and the pinned identities, for the artifact the
// policy option names, and returns sigstore-go's result: for an
// attestation, its statement. verify/attest builds on it.
func (v *Verifier) VerifyEntity(e sgverify.SignedEntity, artifact sgverify.ArtifactPolicyOption) (*sgverify.VerificationResult, error) {
	opts := make([]sgverify.PolicyOption, 0, len(v.ids))
	for _, id := range v.ids {
		opts = append(opts, sgverify.WithCertificateIdentity(id))
	}
	res, err := v.sv.Verify(e, sgverify.NewPolicy(artifact, opts...))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	return res, nil
}

// ParseBundle reads a Sigstore bundle in any of the forms Verify accepts,
// and returns it with the digest algorithm ("sha256" or "sha512") its
// signature is over. Bundles larger than MaxBundleSize are refused.
func ParseBundle(data []byte) (*bundle.Bundle, string, error) {
	if len(data) > MaxBundleSize {
		return nil, "", fmt.Errorf("%w: bundle is larger than %d bytes", ErrBundle, MaxBundleSize)
	}
	if legacy, ok := parseLegacy(data); ok {
		data = legacy
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBundle, err)
	}
	if len(b.GetVerificationMaterial().GetTlogEntries()) == 0 {
		return nil, "", fmt.Errorf("%w: the bundle has no transparency-log entry", ErrBundle)
	}
	alg := "sha256"
	if ms := b.GetMessageSignature(); ms != nil && ms.GetMessageDigest() != nil {
		switch ms.GetMessageDigest().GetAlgorithm().String() {
		case "SHA2_256":
		case "SHA2_512":
			alg = "sha512"
		default:
			return nil, "", fmt.Errorf("%w: message digest %s is not supported", ErrBundle, ms.GetMessageDigest().GetAlgorithm())
		}
	}
	return &b, alg, nil
}
