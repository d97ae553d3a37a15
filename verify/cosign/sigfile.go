package cosign

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/molt-go/update/verify"
)

// MaxSignatureFileSize is the largest signature file ParseSignatureFile
// accepts. A bare signature is under 1 KiB and a Sigstore bundle with a
// certificate and a transparency log proof a few KiB; 64 KiB leaves room
// for growth while bounding what a source reads into memory. Sources should
// read at most MaxSignatureFileSize+1 bytes before parsing.
const MaxSignatureFileSize = 64 << 10

// bundleMediaTypePrefix starts the media type of every version of the
// Sigstore bundle ("application/vnd.dev.sigstore.bundle+json;version=0.1",
// "application/vnd.dev.sigstore.bundle.v0.3+json", ...).
const bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"

// SignatureFile is a signature found beside the file it signs: the base64
// text that "cosign sign-blob --key" prints (conventionally "<file>.sig"),
// a Sigstore bundle as "cosign sign-blob --bundle" writes it
// ("<file>.sigstore.json" or "<file>.bundle"), or cosign's older bundle
// with a "base64Signature" field.
//
// Only Sig is evidence, and only once a pinned key verifies it. Digest and
// KeyHint come from the same unsigned file and merely help: Digest lets a
// mismatch be reported as such, KeyHint names the key the signer claims.
type SignatureFile struct {
	// Sig is the raw signature.
	Sig []byte
	// Digest is the digest of the signed file that a bundle records, or the
	// zero Digest if the file records none, or one with an algorithm other
	// than sha256 or sha512.
	Digest verify.Digest
	// KeyHint is the bundle's verificationMaterial.publicKey.hint: cosign
	// writes the base64 sha256 of the signing key's PKIX DER encoding.
	KeyHint string
}

// bundleJSON holds the fields of a Sigstore bundle (protobuf-specs
// dev.sigstore.bundle.v1.Bundle in its JSON form) and of cosign's older
// LocalSignedPayload that a key-signed blob needs.
type bundleJSON struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial *struct {
		PublicKey *struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
	} `json:"verificationMaterial"`
	MessageSignature *struct {
		MessageDigest *struct {
			Algorithm string `json:"algorithm"`
			Digest    string `json:"digest"`
		} `json:"messageDigest"`
		Signature string `json:"signature"`
	} `json:"messageSignature"`
	DSSEEnvelope json.RawMessage `json:"dsseEnvelope"`

	// Base64Signature is cosign's pre-Sigstore-bundle format.
	Base64Signature string `json:"base64Signature"`
}

// ParseSignatureFile reads a signature file in any of the forms described
// at SignatureFile. Anything else, an empty signature, or a file larger than
// MaxSignatureFileSize is an error wrapping ErrBadSignature. Bundles holding
// a DSSE envelope (attestations) rather than a message signature are
// refused too.
func ParseSignatureFile(data []byte) (SignatureFile, error) {
	if len(data) > MaxSignatureFileSize {
		return SignatureFile{}, fmt.Errorf("%w: signature file is larger than %d bytes", verify.ErrBadSignature, MaxSignatureFileSize)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return SignatureFile{}, fmt.Errorf("%w: empty signature file", verify.ErrBadSignature)
	}
	if data[0] != '{' {
		sig, err := decodeBase64(string(data))
		if err != nil {
			return SignatureFile{}, fmt.Errorf("%w: signature file is neither base64 nor JSON: %v", verify.ErrBadSignature, err)
		}
		return checkSig(SignatureFile{Sig: sig})
	}

	var b bundleJSON
	if err := json.Unmarshal(data, &b); err != nil {
		return SignatureFile{}, fmt.Errorf("%w: signature bundle: %v", verify.ErrBadSignature, err)
	}
	switch {
	case strings.HasPrefix(b.MediaType, bundleMediaTypePrefix):
		return parseBundle(&b)
	case b.MediaType == "" && b.Base64Signature != "":
		sig, err := decodeBase64(b.Base64Signature)
		if err != nil {
			return SignatureFile{}, fmt.Errorf("%w: base64Signature: %v", verify.ErrBadSignature, err)
		}
		return checkSig(SignatureFile{Sig: sig})
	case b.MediaType != "":
		return SignatureFile{}, fmt.Errorf("%w: unknown bundle media type %q", verify.ErrBadSignature, b.MediaType)
	}
	return SignatureFile{}, fmt.Errorf("%w: JSON is neither a Sigstore bundle nor a cosign signature", verify.ErrBadSignature)
}

// parseBundle reads a Sigstore bundle's message signature.
func parseBundle(b *bundleJSON) (SignatureFile, error) {
	ms := b.MessageSignature
	if ms == nil {
		if len(b.DSSEEnvelope) > 0 {
			return SignatureFile{}, fmt.Errorf("%w: bundle holds a DSSE envelope, not a blob signature", verify.ErrBadSignature)
		}
		return SignatureFile{}, fmt.Errorf("%w: bundle has no messageSignature", verify.ErrBadSignature)
	}
	sig, err := decodeBase64(ms.Signature)
	if err != nil {
		return SignatureFile{}, fmt.Errorf("%w: bundle signature: %v", verify.ErrBadSignature, err)
	}
	sf := SignatureFile{Sig: sig}
	if vm := b.VerificationMaterial; vm != nil && vm.PublicKey != nil {
		sf.KeyHint = vm.PublicKey.Hint
	}
	if md := ms.MessageDigest; md != nil {
		var alg verify.Algorithm
		switch md.Algorithm {
		case "SHA2_256":
			alg = verify.SHA256
		case "SHA2_512":
			alg = verify.SHA512
		}
		// The digest only identifies the file; the signature is what
		// binds it. One in a hash this package does not compute (SHA2_384
		// from a P-384 key, say) is left unchecked.
		if alg != "" {
			sum, err := decodeBase64(md.Digest)
			if err != nil {
				return SignatureFile{}, fmt.Errorf("%w: bundle digest: %v", verify.ErrBadSignature, err)
			}
			if len(sum) != alg.Size() {
				return SignatureFile{}, fmt.Errorf("%w: bundle %s digest has %d bytes", verify.ErrBadSignature, md.Algorithm, len(sum))
			}
			sf.Digest = verify.Digest{Algorithm: alg, Sum: sum}
		}
	}
	return checkSig(sf)
}

func checkSig(sf SignatureFile) (SignatureFile, error) {
	if len(sf.Sig) == 0 {
		return SignatureFile{}, fmt.Errorf("%w: empty signature", verify.ErrBadSignature)
	}
	return sf, nil
}

// decodeBase64 accepts the padded standard encoding cosign writes and,
// since protobuf's JSON form allows them, URL-safe and unpadded variants.
func decodeBase64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// KeyID returns KeyHint as Keys.IDs writes key IDs (hex sha256 of the PKIX
// DER), or "" if the hint is not a base64 sha256.
func (s SignatureFile) KeyID() string {
	b, err := decodeBase64(s.KeyHint)
	if err != nil || len(b) != sha256.Size {
		return ""
	}
	return hex.EncodeToString(b)
}

// Verify reads message once, to EOF, and returns nil if s.Sig is a good
// signature over it by v. If the file records a digest, the message must
// also hash to it, or the error wraps ErrDigestMismatch; that check is made
// first, since a mismatch says more than a bad signature does. Otherwise a
// bad signature gives an error wrapping ErrBadSignature.
func (s SignatureFile) Verify(v verify.Verifier, message io.Reader) error {
	if v == nil {
		return fmt.Errorf("%w: no verifier", verify.ErrNotVerified)
	}
	if message == nil {
		return fmt.Errorf("%w: no message", verify.ErrNotVerified)
	}
	if len(s.Sig) == 0 {
		return fmt.Errorf("%w: empty signature", verify.ErrBadSignature)
	}
	if s.Digest.IsZero() {
		return v.Verify(message, s.Sig)
	}
	h := verify.NewHasher(s.Digest)
	tee := io.TeeReader(message, h)
	sigErr := v.Verify(tee, s.Sig)
	// A Verifier may stop reading early; the digest must cover it all.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("verify: reading signed message: %w", err)
	}
	if err := h.Check(); err != nil {
		return err
	}
	return sigErr
}
