package server

import (
	"crypto/elliptic"
	"encoding/pem"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/verify"
)

// TestCosignEncryptedKey signs with a password-protected key in the format
// cosign generate-key-pair writes, and verifies with its public key.
func TestCosignEncryptedKey(t *testing.T) {
	t.Parallel()
	password := []byte("correct horse")
	pf := func(bool) ([]byte, error) { return password, nil }
	priv, pub, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), pf)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode(priv); b == nil || b.Type != "ENCRYPTED SIGSTORE PRIVATE KEY" {
		t.Fatalf("not an encrypted sigstore key: %v", b)
	}
	s, err := LoadEncryptedSigner(priv, password)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := verify.Signature(pub)
	if err != nil {
		t.Fatal(err)
	}
	data, err := feed.Sign(testPayload(), s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feed.Parse(data, keys); err != nil {
		t.Fatalf("feed signed with the cosign key: %v", err)
	}
	if _, err := LoadEncryptedSigner(priv, []byte("wrong")); err == nil {
		t.Error("a wrong password was accepted")
	}
}
