package cosign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/molt-go/update/verify"
)

// testKey is a private key made for one test, with its public half in PEM.
type testKey struct {
	priv crypto.Signer
	hf   crypto.Hash // 0 for ed25519, which signs the message itself
	pub  crypto.PublicKey
	pem  []byte
}

// sign signs msg as cosign sign-blob would with this key.
func (k testKey) sign(t testing.TB, msg []byte) []byte {
	t.Helper()
	digest := msg
	if k.hf != 0 {
		h := k.hf.New()
		h.Write(msg)
		digest = h.Sum(nil)
	}
	sig, err := k.priv.Sign(rand.Reader, digest, k.hf)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func newTestKey(t testing.TB, priv crypto.Signer, hf crypto.Hash) testKey {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: priv, hf: hf, pub: priv.Public(), pem: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
}

func newECDSAKey(t testing.TB, curve elliptic.Curve, hf crypto.Hash) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newTestKey(t, priv, hf)
}

func newEd25519Key(t testing.TB) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newTestKey(t, priv, 0)
}

func mustKeys(t testing.TB, pems ...[]byte) *verify.Keys {
	t.Helper()
	k, err := verify.Signature(pems...)
	if err != nil {
		t.Fatalf("Signature: %v", err)
	}
	return k
}
