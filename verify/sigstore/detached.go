package sigstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// VerifyWithCertificate reads message once, to EOF, and returns nil if
// sig, a signature file as "cosign sign-blob --output-signature" writes
// it (base64), made with the certificate in cert ("--output-certificate":
// base64 of its PEM, or the PEM), is a good keyless signature over it by
// one of the pinned identities. Those two files carry no evidence that
// the signature was logged, so it looks the signature up in the Rekor log
// (Options.RekorURL), within ctx, and verifies the entry it finds as a
// bundle holding it would be verified, as the package documentation
// describes.
//
// It returns an error wrapping ErrBundle for files it cannot read or when
// Options.Offline is set, ErrNotInLog or ErrLogMismatch when the log has
// no entry for this signature (both ErrUntrusted), ErrUntrusted for an
// entry or a certificate that does not verify, and ErrLogUnreachable
// (not a verdict: try again later) when the log cannot be asked. It is
// what source/github calls for a checksums file with a .sig and a .pem
// beside it.
func (v *Verifier) VerifyWithCertificate(ctx context.Context, message io.Reader, sig, cert []byte) error {
	if v.rekor == nil {
		return fmt.Errorf("%w: a signature with its certificate and no bundle holds no transparency-log entry, "+
			"and the online lookup is off (Options.Offline): it needs a bundle", ErrBundle)
	}
	if len(sig) > MaxBundleSize || len(cert) > MaxBundleSize {
		return fmt.Errorf("%w: signature or certificate file larger than %d bytes", ErrBundle, MaxBundleSize)
	}
	rawSig, err := parseSignature(sig)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBundle, err)
	}
	der, err := parseCertificate(cert)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBundle, err)
	}
	if message == nil {
		return fmt.Errorf("%w: no message", ErrUntrusted)
	}
	h := sha256.New()
	if _, err := io.Copy(h, message); err != nil {
		return fmt.Errorf("sigstore: reading the signed file: %w", err)
	}
	digest := h.Sum(nil)
	tle, err := v.rekor.find(ctx, digest, rawSig, der)
	if err != nil {
		return err
	}
	b, err := bundleOf(tle, digest, rawSig, der)
	if err != nil {
		return fmt.Errorf("%w: the log's entry: %v", ErrUntrusted, err)
	}
	_, err = v.VerifyEntity(b, sgverify.WithArtifactDigest("sha256", digest))
	return err
}

// bundleOf makes the bundle that "cosign sign-blob --bundle" would have
// written for the signature, from its log entry: v0.3 when the log gave
// an inclusion proof (with its checkpoint), v0.1, which holds the log's
// signed promise alone, when not. sigstore-go then checks the bundle's
// signature and certificate against the entry's, the promise and the
// proof against the log's key in the trusted root, as for any bundle.
func bundleOf(tle *protorekor.TransparencyLogEntry, digest, sig, cert []byte) (*bundle.Bundle, error) {
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{
				Certificate: &protocommon.X509Certificate{RawBytes: cert},
			},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest},
			Signature:     sig,
		}},
	}
	if tle.GetInclusionProof() == nil {
		pb.MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1"
		pb.VerificationMaterial.Content = &protobundle.VerificationMaterial_X509CertificateChain{
			X509CertificateChain: &protocommon.X509CertificateChain{
				Certificates: []*protocommon.X509Certificate{{RawBytes: cert}},
			},
		}
	}
	return bundle.NewBundle(pb)
}

// parseCertificate reads a certificate file as cosign writes it
// (--output-certificate: base64 of the PEM), or a plain PEM, and returns
// the first certificate's DER.
func parseCertificate(data []byte) ([]byte, error) {
	data = bytes.TrimSpace(data)
	if !bytes.HasPrefix(data, []byte("-----BEGIN")) {
		dec, err := base64.StdEncoding.DecodeString(string(data))
		if err != nil {
			return nil, fmt.Errorf("the certificate is neither PEM nor base64 of PEM: %v", err)
		}
		data = dec
	}
	for {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			return nil, errors.New("no PEM certificate in the certificate file")
		}
		if block.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(block.Bytes); err != nil {
				return nil, err
			}
			return block.Bytes, nil
		}
	}
}

// parseSignature reads a signature file as cosign writes it
// (--output-signature: base64 of the signature).
func parseSignature(data []byte) ([]byte, error) {
	sig, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("the signature file is not base64 (%v)", err)
	}
	return sig, nil
}
