package github

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/molt-go/update/verify"
	"github.com/molt-go/update/verify/cosign"
)

// The verifier passed to Releases is always a verify.Verifier: Verify
// checks a signature file's bytes over a message, and the updater calls it
// once more over a downloaded asset that carries a signature of its own.
// A verifier may also implement the interfaces below, which tell this
// source where its evidence is in a release. Packages under verify/
// implement them (verify/sigstore, verify/attest, verify/minisign,
// verify/pgp) without importing this one.

// SignatureVerifier is a verifier that reads signature files of its own
// kind. The source looks, beside a checksums file or an asset called name,
// for name+suffix for each suffix in turn, and hands the first it finds,
// as it is, to Verify. A verifier whose endings other tools share (".sig"
// is cosign's and gpg's) may also have a method Reads(sig []byte) bool
// that tells its files from the others', which are then passed over
// instead of failing as forgeries.
//
// A verify.Verifier that is not a SignatureVerifier, such as the pinned
// keys of verify.Signature, gets cosign's files: name plus ".sig"
// (base64), ".sigstore.json" or ".bundle" (a Sigstore bundle made with the
// key), as raw signature bytes.
type SignatureVerifier interface {
	verify.Verifier
	// SignatureSuffixes are the endings of the signature files this
	// verifier reads, best first: ".sigstore.json", ".minisig", ".asc".
	SignatureSuffixes() []string
}

// InlineVerifier is a verifier of files that carry their own signature,
// such as an OpenPGP cleartext-signed SHA256SUMS (verify/pgp).
type InlineVerifier interface {
	// VerifyInline returns the signed text of data if one of the pinned
	// keys signed it, and an error wrapping verify.ErrBadSignature if not.
	VerifyInline(data []byte) ([]byte, error)
}

// CertificateVerifier is a verifier of keyless signatures published
// without a bundle: name+".sig" and, beside it, the certificate it was
// made with, name+".pem" (or ".crt", ".cert", or the .sig's name plus one
// of those), as "cosign sign-blob --output-signature
// --output-certificate" writes them and goreleaser's default signing
// publishes them for checksums.txt (verify/sigstore). The two files hold
// no transparency-log evidence, so the verifier may look the signature up
// online; hence the context. The source hands it the pair beside a
// checksums file that has no signature file of the verifier's own kind.
type CertificateVerifier interface {
	// VerifyWithCertificate reads message to EOF and returns nil if sig,
	// made with the certificate cert (both files as they are), is a good
	// signature over it, and an error wrapping verify.ErrBadSignature if
	// not; other errors (the log could not be asked) are no verdict.
	VerifyWithCertificate(ctx context.Context, message io.Reader, sig, cert []byte) error
}

// AttestationVerifier is a verifier of GitHub artifact attestations: the
// Sigstore bundles that the repository's attestations API returns for a
// digest (verify/attest). The source asks the API for the attestations of
// the asset for this machine, and of the checksums files, by their
// digests.
type AttestationVerifier interface {
	// VerifyAttestation checks bundle, one Sigstore bundle (JSON) from the
	// attestations API, for the artifact with the given digest. It returns
	// the digests the attestation vouches for, by file name (its in-toto
	// subjects, the artifact among them), or an error wrapping
	// verify.ErrBadSignature.
	VerifyAttestation(bundle []byte, artifact verify.Digest) (map[string]verify.Digest, error)
}

// cosignSuffixes are the signature files a plain verify.Verifier gets.
var cosignSuffixes = []string{".sig", ".sigstore.json", ".bundle"}

// signatureSuffixes are the signature files v reads.
func signatureSuffixes(v verify.Verifier) []string {
	if sv, ok := v.(SignatureVerifier); ok {
		return sv.SignatureSuffixes()
	}
	return cosignSuffixes
}

// certSuffixes are the certificate files cosign writes beside a keyless
// ".sig" (--output-certificate).
var certSuffixes = []string{".pem", ".crt", ".cert"}

// certificateBeside returns the name of the certificate file beside the
// signature file sigName (a .sig), "" if there is none.
func certificateBeside(sigName string, has func(string) bool) string {
	base, ok := strings.CutSuffix(sigName, ".sig")
	if !ok {
		return ""
	}
	for _, s := range certSuffixes {
		for _, n := range []string{base + s, sigName + s} {
			if has(n) {
				return n
			}
		}
	}
	return ""
}

// keylessSignature reports whether a cosign signature file is keyless
// (made with a short-lived Sigstore certificate, not a key): a bundle that
// carries a certificate, or a .sig with a certificate file beside it. A
// pinned key can never verify those, so they are not evidence for a plain
// verifier: a release signed that way is treated as one it cannot read,
// not as a forgery.
func keylessSignature(sigName string, data []byte, has func(string) bool) bool {
	if strings.HasSuffix(sigName, ".sig") {
		return certificateBeside(sigName, has) != ""
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	var b struct {
		Cert                 string `json:"cert"` // cosign's older bundle
		VerificationMaterial struct {
			Certificate          json.RawMessage `json:"certificate"`
			X509CertificateChain json.RawMessage `json:"x509CertificateChain"`
		} `json:"verificationMaterial"`
	}
	if json.Unmarshal(data, &b) != nil {
		return false
	}
	return b.Cert != "" || len(b.VerificationMaterial.Certificate) > 0 || len(b.VerificationMaterial.X509CertificateChain) > 0
}

// reads reports whether v reads the signature file sigName: a plain
// verifier reads cosign's files made with a key (not keyless ones, nor a
// file that is not cosign's at all, such as gpg's binary .sig); a
// SignatureVerifier reads what its Reads method accepts, or everything.
func reads(v verify.Verifier, sigName string, data []byte, has func(string) bool) bool {
	if _, own := v.(SignatureVerifier); own {
		r, ok := v.(interface{ Reads([]byte) bool })
		return !ok || r.Reads(data)
	}
	if keylessSignature(sigName, data, has) {
		return false
	}
	_, err := cosign.ParseSignatureFile(data)
	return err == nil
}

// checkSignature verifies sigData, the file sigName, over message with v:
// as it is for a SignatureVerifier, through cosign's parser otherwise.
func checkSignature(v verify.Verifier, sigName string, sigData, message []byte) error {
	if _, ok := v.(SignatureVerifier); ok {
		return v.Verify(bytes.NewReader(message), sigData)
	}
	sf, err := cosign.ParseSignatureFile(sigData)
	if err != nil {
		return errorf(err, "signature %s", sigName)
	}
	return sf.Verify(v, bytes.NewReader(message))
}
