package feed

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/molt-go/update/verify"
)

// Signer signs feeds with one private key. ECDSA (P-256, P-384, P-521),
// ed25519 and RSA (2048 to 4096 bits) keys work. Signatures are made with
// the hash sigstore and cosign use by default for the key (SHA-256, SHA-384
// for P-384, SHA-512 for P-521, none for ed25519; see verify.HashFor), which
// is the hash verify.Signature checks them with.
type Signer struct {
	priv  crypto.Signer
	hash  crypto.Hash
	pub   crypto.PublicKey
	keyID string
}

// NewSigner returns a Signer for key, an *ecdsa.PrivateKey, an
// ed25519.PrivateKey or an *rsa.PrivateKey.
func NewSigner(key crypto.PrivateKey) (*Signer, error) {
	priv, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("feed: signer: unsupported key type %T", key)
	}
	pub := priv.Public()
	// The same rule as the verifier's, so a feed is never signed with a key
	// that the verifier would refuse to pin.
	hf, err := verify.HashFor(pub)
	if err != nil {
		return nil, fmt.Errorf("feed: signer: %w", err)
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	return &Signer{priv: priv, hash: hf, pub: pub, keyID: id}, nil
}

// LoadSigner reads a private key from PEM: PKCS#8 ("PRIVATE KEY"), SEC 1
// ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"). For a key encrypted with
// a password, such as cosign.key, use server.LoadEncryptedSigner.
func LoadSigner(privatePEM []byte) (*Signer, error) {
	block, rest := pem.Decode(privatePEM)
	if block == nil || len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("feed: private key: want exactly one PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("feed: private key: PEM block %q is not an unencrypted private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("feed: private key: %w", err)
	}
	return NewSigner(key)
}

// KeyID returns the hex sha256 of pub's PKIX DER encoding: the key id that
// feed signatures carry, which the same key always has wherever it is used.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("feed: key id: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// KeyID returns the signer's key id (see the function KeyID).
func (s *Signer) KeyID() string { return s.keyID }

// PublicKeyPEM returns the signer's public key as a PKIX "PUBLIC KEY" PEM
// block, what a program pins with verify.Signature.
func (s *Signer) PublicKeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(s.pub)
	if err != nil {
		return nil, fmt.Errorf("feed: public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func (s *Signer) sign(message []byte) ([]byte, error) {
	if s == nil || s.priv == nil {
		return nil, errors.New("feed: nil signer")
	}
	digest := message
	if s.hash != 0 {
		h := s.hash.New()
		h.Write(message)
		digest = h.Sum(nil)
	}
	return s.priv.Sign(rand.Reader, digest, s.hash)
}

// GenerateKey makes a new ECDSA P-256 key pair for signing feeds and returns
// the private key as PKCS#8 "PRIVATE KEY" PEM and the public key as PKIX
// "PUBLIC KEY" PEM. P-256 is what cosign generates and every verifier
// supports.
func GenerateKey() (privatePEM, publicPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("feed: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("feed: generate key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("feed: generate key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), nil
}
