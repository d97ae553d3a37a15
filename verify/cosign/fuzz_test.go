package cosign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/molt-go/update/verify"
)

// FuzzParseSignatureFile feeds ParseSignatureFile what a release host could
// serve beside an asset (.sig, .bundle, .sigstore.json). It must never
// panic, must refuse with errors that wrap verify.ErrBadSignature, and a
// signature it accepts must be refused by a key that did not make it,
// never accepted or panicking.
func FuzzParseSignatureFile(f *testing.F) {
	for _, name := range []string{"checksums.txt.sig", "checksums.txt.bundle", "checksums.txt.sigstore.json"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "cosign", name)); err == nil {
			f.Add(b)
		}
	}
	for _, seed := range []string{
		"MEUCIQDx",
		`{"base64Signature":"YWJj"}`,
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"AAAA"}},` +
			`"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AAAA"},"signature":"YWJj"}}`,
		`{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1","dsseEnvelope":{}}`,
		"{", "",
	} {
		f.Add([]byte(seed))
	}
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		f.Fatal(err)
	}
	keys := verify.MustSignature(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := ParseSignatureFile(data)
		if err != nil {
			if !errors.Is(err, verify.ErrBadSignature) {
				t.Fatalf("error does not wrap ErrBadSignature: %v", err)
			}
			return
		}
		if len(sf.Sig) == 0 {
			t.Fatal("accepted an empty signature")
		}
		if id := sf.KeyID(); id != "" && len(id) != 64 {
			t.Fatalf("KeyID %q", id)
		}
		if err := sf.Verify(keys, bytes.NewReader(data)); err == nil {
			t.Fatal("a fuzzed signature verified with a key that never signed")
		} else if !errors.Is(err, verify.ErrNotVerified) {
			t.Fatalf("Verify: untyped error: %v", err)
		}
	})
}
