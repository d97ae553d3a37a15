package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // SHA-384 and SHA-512 for P-384 and P-521 keys
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
)

// maxEd25519Message is the largest message an ed25519 key can verify.
// Pure ed25519 signs the message itself, not a digest, so the whole message
// must be held in memory; 64 MiB covers checksums files, feeds and most
// binaries while bounding what a hostile server can make the updater buffer.
// ECDSA and RSA keys hash the message as it streams and have no limit.
const maxEd25519Message = 64 << 20

// Keys is a set of pinned public keys; a signature is good if any one of
// them verifies it. Several keys let a publisher rotate: ship a program
// that trusts the old and the new key, then start signing with the new one.
type Keys struct {
	keys []pinnedKey
	// maxMessage caps what is buffered for ed25519 keys; a test seam, set
	// to maxEd25519Message by Signature.
	maxMessage int64
}

// pinnedKey is one public key with the hash its signatures are made over.
type pinnedKey struct {
	id       string
	hashFunc crypto.Hash // 0 for pure ed25519, which signs the message
	pub      crypto.PublicKey
}

var _ Verifier = (*Keys)(nil)

// Signature returns the Verifier for signatures made by any of the given
// PEM public keys. Each argument may hold several PEM blocks ("PUBLIC KEY"
// in PKIX form, as cosign generate-key-pair writes cosign.pub, or "RSA
// PUBLIC KEY" in PKCS #1 form). Supported keys are ECDSA P-256, P-384 and
// P-521, RSA of 2048, 3072 or 4096 bits (PKCS #1 v1.5) and ed25519, each
// with the hash sigstore and cosign use for it by default: SHA-256, except
// SHA-384 for P-384 and SHA-512 for P-521, and none for ed25519.
// Anything else, and text outside the PEM blocks, is an error wrapping
// ErrKey.
func Signature(publicKeysPEM ...[]byte) (*Keys, error) {
	k := &Keys{maxMessage: maxEd25519Message}
	seen := make(map[string]bool)
	for i, blob := range publicKeysPEM {
		rest := blob
		blocks := 0
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			blocks++
			pk, err := loadKey(block)
			if err != nil {
				return nil, fmt.Errorf("%w: argument %d, PEM block %d: %v", ErrKey, i+1, blocks, err)
			}
			if !seen[pk.id] {
				seen[pk.id] = true
				k.keys = append(k.keys, pk)
			}
		}
		if blocks == 0 {
			return nil, fmt.Errorf("%w: argument %d holds no PEM block", ErrKey, i+1)
		}
		if len(bytes.TrimSpace(rest)) > 0 {
			return nil, fmt.Errorf("%w: argument %d has text after its last PEM block", ErrKey, i+1)
		}
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("%w: no keys given", ErrKey)
	}
	return k, nil
}

// MustSignature is Signature for keys compiled into the program, which are
// known to be well formed; it panics otherwise.
func MustSignature(publicKeysPEM ...[]byte) *Keys {
	k, err := Signature(publicKeysPEM...)
	if err != nil {
		panic(err)
	}
	return k
}

// loadKey turns one PEM block into a pinned key. Only the standard library
// is needed: the keys pkgserver keygen and cosign generate-key-pair write
// are PKIX ECDSA P-256, and the other kinds are as plain.
func loadKey(block *pem.Block) (pinnedKey, error) {
	var pub crypto.PublicKey
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return pinnedKey{}, fmt.Errorf("PEM block of type %q is not a public key", block.Type)
	}
	if err != nil {
		return pinnedKey{}, err
	}
	hf, err := HashFor(pub)
	if err != nil {
		return pinnedKey{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return pinnedKey{}, err
	}
	id := sha256.Sum256(der)
	return pinnedKey{id: hex.EncodeToString(id[:]), hashFunc: hf, pub: pub}, nil
}

// HashFor is the hash sigstore and cosign sign with for a key of this kind
// (0 for ed25519, which signs the message itself), and refuses what they
// deem weak: RSA under 2048 bits (or over 4096) and curves other than the
// NIST ones. Signers use it too, so a feed is never signed in a way the
// verifier would refuse.
func HashFor(pub crypto.PublicKey) (crypto.Hash, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return crypto.SHA256, nil
		case elliptic.P384():
			return crypto.SHA384, nil
		case elliptic.P521():
			return crypto.SHA512, nil
		}
		return 0, fmt.Errorf("ECDSA curve %s is not supported", k.Curve.Params().Name)
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048, 3072, 4096:
			return crypto.SHA256, nil
		}
		return 0, fmt.Errorf("RSA key of %d bits is not supported (2048, 3072 or 4096)", k.N.BitLen())
	case ed25519.PublicKey:
		return 0, nil
	}
	return 0, fmt.Errorf("key type %T is not supported", pub)
}

// check verifies sig over message (for ed25519) or over its digest.
func (pk pinnedKey) check(sig, message, digest []byte) error {
	switch k := pk.pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return errors.New("invalid ECDSA signature")
		}
		return nil
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, pk.hashFunc, digest, sig)
	case ed25519.PublicKey:
		if !ed25519.Verify(k, message, sig) {
			return errors.New("invalid ed25519 signature")
		}
		return nil
	}
	return fmt.Errorf("key type %T is not supported", pk.pub)
}

// IDs returns the hex sha256 of each key's PKIX DER encoding, in the order
// given to Signature, so a feed or a log can name the key that signed. A
// Sigstore bundle's key hint is the same hash in base64 (see
// SignatureFile.KeyID).
func (k *Keys) IDs() []string {
	ids := make([]string, len(k.keys))
	for i, pk := range k.keys {
		ids[i] = pk.id
	}
	return ids
}

// Verify reports whether signature, the raw signature bytes (not base64),
// was made over the bytes of message by one of the keys. The message is
// read once, to EOF, whatever the number of keys. It returns nil if a key
// verifies the signature, an error wrapping ErrBadSignature if none does,
// and the read error if message cannot be read.
func (k *Keys) Verify(message io.Reader, sig []byte) error {
	if k == nil || len(k.keys) == 0 {
		return fmt.Errorf("%w: no pinned keys", ErrBadSignature)
	}
	if len(sig) == 0 {
		return fmt.Errorf("%w: empty signature", ErrBadSignature)
	}
	if message == nil {
		return fmt.Errorf("%w: no message", ErrBadSignature)
	}

	// One pass feeds every hash the keys need and, for ed25519 keys, a
	// buffer that gives up past maxMessage.
	hashes := make(map[crypto.Hash]hash.Hash)
	var sinks []io.Writer
	var buf *cappedBuffer
	for _, pk := range k.keys {
		if pk.hashFunc == 0 {
			if buf == nil {
				buf = &cappedBuffer{max: k.maxMessage}
				sinks = append(sinks, buf)
			}
			continue
		}
		if hashes[pk.hashFunc] == nil {
			h := pk.hashFunc.New()
			hashes[pk.hashFunc] = h
			sinks = append(sinks, h)
		}
	}
	if _, err := io.Copy(io.MultiWriter(sinks...), message); err != nil {
		return fmt.Errorf("verify: reading signed message: %w", err)
	}

	var errs []error
	for _, pk := range k.keys {
		var err error
		if pk.hashFunc == 0 {
			if buf.over {
				errs = append(errs, fmt.Errorf("key %.12s: ed25519 cannot verify a message over %d bytes", pk.id, k.maxMessage))
				continue
			}
			err = pk.check(sig, buf.b.Bytes(), nil)
		} else {
			err = pk.check(sig, nil, hashes[pk.hashFunc].Sum(nil))
		}
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("key %.12s: %w", pk.id, err))
	}
	return fmt.Errorf("%w: no pinned key verifies it: %w", ErrBadSignature, errors.Join(errs...))
}

// cappedBuffer keeps what is written to it until it would exceed max, then
// drops it all and only counts, so hashing for the other keys goes on.
type cappedBuffer struct {
	b    bytes.Buffer
	max  int64
	over bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.over {
		return len(p), nil
	}
	if int64(c.b.Len())+int64(len(p)) > c.max {
		c.over = true
		c.b = bytes.Buffer{}
		return len(p), nil
	}
	return c.b.Write(p)
}
