// Package attest verifies GitHub artifact attestations: the Sigstore
// bundles that GitHub's attest actions (actions/attest-build-provenance)
// make in a release workflow and that the repository's attestations API
// serves for an artifact's digest ("gh attestation verify" checks the
// same). source/github asks the API for them and hands each to this
// verifier; the digests an accepted attestation names (its in-toto
// subjects) are then the assets' trusted digests. It is a nested module,
// built on verify/sigstore, so that only a program that imports it links
// sigstore-go.
//
// An attestation proves that a workflow of a repository, at a ref, made a
// file with a digest: the program pins the repository, its release
// workflow and the refs it releases from, and the kind of attestation
// (SLSA build provenance unless told otherwise):
//
//	v, err := attest.New(attest.Options{
//		Repository: "acme/hello",
//		Workflow:   ".github/workflows/release.yml",
//	})
//	src, err := github.New(github.Options{Owner: "acme", Repo: "hello"})
//	u, err := update.New(update.Options{Source: src, Verifier: v, ...})
//
// Everything verify/sigstore checks is checked here too (the certificate's
// chain and time, its subject and issuer, the transparency log), offline,
// against the trusted root compiled into verify/sigstore; the package
// documentation there says how to refresh it. Attestations of public
// repositories are signed by Sigstore's public-good instance. Those of
// private repositories are signed by GitHub's own instance, which logs no
// entries in a public transparency log: pass its trusted root ("gh
// attestation trusted-root") in Options.TrustedRoot, and know that this
// verifier, which requires a log entry, refuses them.
package attest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/molt-go/update/verify"
	"github.com/molt-go/update/verify/sigstore"
)

// Errors returned by this package, to be tested with errors.Is. Every
// verification failure wraps verify.ErrBadSignature too.
var (
	// ErrOptions means the Options cannot work.
	ErrOptions = errors.New("attest: bad options")
	// ErrNotAttested means the bundle is no attestation of the artifact
	// that this verifier accepts: not a DSSE attestation, another kind of
	// predicate, not about this artifact, or not signed by the pinned
	// workflow (sigstore.ErrUntrusted says which).
	ErrNotAttested = fmt.Errorf("%w: attest: not attested", verify.ErrBadSignature)
)

// SLSAProvenance is the predicate type of the build provenance that
// actions/attest-build-provenance makes.
const SLSAProvenance = "https://slsa.dev/provenance/v1"

// Options configure a Verifier.
type Options struct {
	// Repository is the repository whose workflow makes the releases,
	// "owner/name". Required.
	Repository string
	// Workflow is the path of the release workflow in the repository,
	// ".github/workflows/release.yml" (or just "release.yml"). Required:
	// any workflow of the repository can attest, and only the release
	// workflow should be trusted to.
	Workflow string
	// Ref is the git ref the workflow must have run on, exactly or with
	// "*" for any run of characters; empty means "refs/tags/*".
	Ref string
	// PredicateType is the kind of attestation to accept; empty means
	// SLSAProvenance.
	PredicateType string
	// TrustedRoot is the Sigstore trusted root; nil means
	// sigstore.PublicGoodTrustedRoot.
	TrustedRoot []byte
}

// Verifier verifies GitHub artifact attestations made by one workflow.
type Verifier struct {
	sv        *sigstore.Verifier
	predicate string
}

var _ verify.Verifier = (*Verifier)(nil)

// New returns a Verifier for o.
func New(o Options) (*Verifier, error) {
	if strings.Count(o.Repository, "/") != 1 || strings.HasPrefix(o.Repository, "/") || strings.HasSuffix(o.Repository, "/") {
		return nil, fmt.Errorf("%w: Repository %q is not owner/name", ErrOptions, o.Repository)
	}
	if o.Workflow == "" {
		return nil, fmt.Errorf("%w: Workflow is required", ErrOptions)
	}
	sv, err := sigstore.New(sigstore.Options{
		Identities:  []sigstore.Identity{sigstore.GitHubWorkflow(o.Repository, o.Workflow, o.Ref)},
		TrustedRoot: o.TrustedRoot,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	v := &Verifier{sv: sv, predicate: o.PredicateType}
	if v.predicate == "" {
		v.predicate = SLSAProvenance
	}
	return v, nil
}

// SignatureSuffixes is empty: attestations come from the attestations
// API, not from files of the release, and this verifier reads no
// signature file there (so that a release's other Sigstore bundles are
// not mistaken for forged attestations).
func (v *Verifier) SignatureSuffixes() []string { return []string{} }

// VerifyAttestation checks bundle, a Sigstore bundle (JSON) from the
// attestations API, for the artifact whose digest is given, and returns
// the digests the attestation vouches for by file name: its subjects, the
// artifact among them. It fails with an error wrapping ErrNotAttested.
func (v *Verifier) VerifyAttestation(bundle []byte, artifact verify.Digest) (map[string]verify.Digest, error) {
	if artifact.Algorithm != verify.SHA256 {
		return nil, fmt.Errorf("%w: GitHub attests sha256 digests, not %q", ErrNotAttested, artifact.Algorithm)
	}
	b, _, err := sigstore.ParseBundle(bundle)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotAttested, err)
	}
	if b.GetDsseEnvelope() == nil {
		return nil, fmt.Errorf("%w: the bundle holds a signature, not an attestation", ErrNotAttested)
	}
	res, err := v.sv.VerifyEntity(b, sgverify.WithArtifactDigest("sha256", artifact.Sum))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotAttested, err)
	}
	st := res.Statement
	if st == nil || st.GetPredicateType() != v.predicate {
		return nil, fmt.Errorf("%w: predicate %q, want %q", ErrNotAttested, st.GetPredicateType(), v.predicate)
	}
	subjects := map[string]verify.Digest{}
	for _, s := range st.GetSubject() {
		sum, err := hex.DecodeString(s.GetDigest()["sha256"])
		if err != nil || len(sum) != sha256.Size || s.GetName() == "" {
			continue
		}
		// attest-build-provenance names subjects by their base name.
		name := s.GetName()[strings.LastIndex(s.GetName(), "/")+1:]
		subjects[name] = verify.Digest{Algorithm: verify.SHA256, Sum: sum}
	}
	return subjects, nil
}

// Verify reads message once, to EOF, and returns nil if sig, an
// attestation bundle, attests it: for an attestation downloaded as a file
// (such as one a project uploads beside its assets).
func (v *Verifier) Verify(message io.Reader, sig []byte) error {
	if message == nil {
		return fmt.Errorf("%w: no message", ErrNotAttested)
	}
	h := sha256.New()
	if _, err := io.Copy(h, message); err != nil {
		return fmt.Errorf("attest: reading the attested file: %w", err)
	}
	_, err := v.VerifyAttestation(sig, verify.Digest{Algorithm: verify.SHA256, Sum: h.Sum(nil)})
	return err
}
