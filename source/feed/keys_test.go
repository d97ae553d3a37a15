package feed

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/molt-go/update/verify"
)

func TestGenerateKeyPEM(t *testing.T) {
	t.Parallel()
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode(priv); b == nil || b.Type != "PRIVATE KEY" {
		t.Errorf("private key is not PKCS#8 PEM: %q", priv)
	}
	if b, _ := pem.Decode(pub); b == nil || b.Type != "PUBLIC KEY" {
		t.Errorf("public key is not PKIX PEM: %q", pub)
	}
	s, err := LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.PublicKeyPEM()
	if string(got) != string(pub) {
		t.Errorf("the signer's public key differs from the generated one")
	}
	if _, err := LoadSigner(pub); err == nil {
		t.Error("LoadSigner accepted a public key")
	}
	if _, err := LoadSigner([]byte("not pem")); err == nil {
		t.Error("LoadSigner accepted garbage")
	}
}

func TestNewSignerRefusesWeakKeys(t *testing.T) {
	t.Parallel()
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSigner(weak); err == nil {
		t.Error("NewSigner accepted a 1024-bit RSA key, which verify.Signature would refuse to pin")
	}
	if _, err := NewSigner("not a key"); err == nil {
		t.Error("NewSigner accepted a string")
	}
	var nilSigner *Signer
	if _, err := Sign(testPayload(), nilSigner); err == nil || errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("Sign with a nil signer: %v", err)
	}
}
