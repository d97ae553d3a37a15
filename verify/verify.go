// Package verify decides whether bytes can be trusted: digests (sha256,
// sha512), checksums files as sha256sum and goreleaser write them, and
// signatures checked with sigstore against public keys pinned in the program.
//
// Verification here is pure: bytes in, verdict out, no I/O. Where the bytes
// come from is the source's business; the updater streams a download through
// a Hasher and refuses it unless the sum matches a digest from trusted
// metadata.
package verify

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Errors returned by this package, to be tested with errors.Is.
var (
	// ErrNotVerified means no trusted digest or signature vouches for the
	// bytes, or the ones there are do not match.
	ErrNotVerified = errors.New("verify: not verified")
	// ErrDigestMismatch means the bytes do not hash to the trusted digest.
	// It wraps ErrNotVerified.
	ErrDigestMismatch = fmt.Errorf("%w: digest mismatch", ErrNotVerified)
	// ErrBadSignature means a signature did not verify with any pinned key.
	// It wraps ErrNotVerified.
	ErrBadSignature = fmt.Errorf("%w: bad signature", ErrNotVerified)
	// ErrChecksums means a checksums file is malformed, lacks the file or
	// lists it more than once. It wraps ErrNotVerified.
	ErrChecksums = fmt.Errorf("%w: checksums", ErrNotVerified)
	// ErrKey means a public key could not be parsed.
	ErrKey = errors.New("verify: bad public key")
)

// Verifier checks signatures against the keys the program pins. Keys that
// arrive with an update are never trusted.
type Verifier interface {
	// Verify returns nil if signature is a valid signature over the bytes
	// read from message by one of the pinned keys, and an error wrapping
	// ErrBadSignature otherwise.
	Verify(message io.Reader, signature []byte) error
}

// Algorithm names a hash function.
type Algorithm string

// The hash functions a Digest may use.
const (
	SHA256 Algorithm = "sha256"
	SHA512 Algorithm = "sha512"
)

// Digest is an expected hash of some bytes. The zero Digest means "unknown".
type Digest struct {
	Algorithm Algorithm
	Sum       []byte
}

// ParseDigest reads a digest written as "sha256:<hex>" (as GitHub and OCI
// write them) or a bare 64-character (sha256) or 128-character (sha512) hex
// string.
func ParseDigest(s string) (Digest, error) {
	s = strings.TrimSpace(s)
	alg, hexSum, found := strings.Cut(s, ":")
	if !found {
		hexSum = s
		switch len(s) {
		case 2 * sha256.Size:
			alg = string(SHA256)
		case 2 * sha512.Size:
			alg = string(SHA512)
		default:
			return Digest{}, fmt.Errorf("%w: digest %q has no algorithm and an unusual length", ErrNotVerified, s)
		}
	}
	d := Digest{Algorithm: Algorithm(strings.ToLower(alg))}
	sum, err := hex.DecodeString(hexSum)
	if err != nil {
		return Digest{}, fmt.Errorf("%w: digest %q: %v", ErrNotVerified, s, err)
	}
	d.Sum = sum
	if n := d.Algorithm.Size(); n == 0 || n != len(sum) {
		return Digest{}, fmt.Errorf("%w: digest %q: wrong length for %s", ErrNotVerified, s, d.Algorithm)
	}
	return d, nil
}

// MustDigest is ParseDigest for digests known to be well formed; it panics
// otherwise.
func MustDigest(s string) Digest {
	d, err := ParseDigest(s)
	if err != nil {
		panic(err)
	}
	return d
}

// IsZero reports whether d is the unknown digest.
func (d Digest) IsZero() bool { return d.Algorithm == "" && len(d.Sum) == 0 }

// String writes d as "sha256:<hex>".
func (d Digest) String() string {
	if d.IsZero() {
		return ""
	}
	return string(d.Algorithm) + ":" + hex.EncodeToString(d.Sum)
}

// Size is the length in bytes of a sum of this algorithm, or 0 for an
// unknown one.
func (a Algorithm) Size() int {
	switch a {
	case SHA256:
		return sha256.Size
	case SHA512:
		return sha512.Size
	}
	return 0
}

func (a Algorithm) new() hash.Hash {
	switch a {
	case SHA512:
		return sha512.New()
	}
	return sha256.New()
}

// Hasher hashes bytes as they stream past and compares the sum with a
// digest, so a download is verified without reading it twice.
type Hasher struct {
	want Digest
	h    hash.Hash
}

// NewHasher returns a Hasher that checks against want. A zero want hashes
// with sha256 and Check always fails with ErrNotVerified.
func NewHasher(want Digest) *Hasher {
	return &Hasher{want: want, h: want.Algorithm.new()}
}

// Write adds p to the hash; it never fails.
func (h *Hasher) Write(p []byte) (int, error) { return h.h.Write(p) }

// Sum returns the digest of what was written so far.
func (h *Hasher) Sum() Digest {
	alg := h.want.Algorithm
	if alg == "" {
		alg = SHA256
	}
	return Digest{Algorithm: alg, Sum: h.h.Sum(nil)}
}

// Check returns nil if what was written hashes to the wanted digest.
func (h *Hasher) Check() error {
	if h.want.IsZero() {
		return fmt.Errorf("%w: no trusted digest", ErrNotVerified)
	}
	got := h.h.Sum(nil)
	if subtle.ConstantTimeCompare(got, h.want.Sum) != 1 {
		return fmt.Errorf("%w: got %s, want %s", ErrDigestMismatch, Digest{h.want.Algorithm, got}, h.want)
	}
	return nil
}

// Reader checks r against want: it returns nil if the bytes read to EOF hash
// to want.
func Reader(r io.Reader, want Digest) error {
	h := NewHasher(want)
	if _, err := io.Copy(h, r); err != nil {
		return err
	}
	return h.Check()
}
