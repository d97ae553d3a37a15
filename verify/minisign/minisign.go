// Package minisign verifies minisign signatures ("<file>.minisig", as
// minisign -S and rsign write them) with public keys pinned in the
// program. Projects that sign this way (zig, some Rust and Go tools)
// publish the key in their README as one base64 line, "RWQ...", which is
// what New takes. It is a nested module, so that only a program that
// imports it links the minisign library.
//
//	v, err := minisign.New("RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3")
//	src, err := github.New(github.Options{Owner: "acme", Repo: "hello"})
//	u, err := update.New(update.Options{Source: src, Verifier: v, ...})
//
// With source/github, the verifier checks "<checksums file>.minisig"
// (SHA256SUMS.minisig), and the digests then come from the checksums file
// it accepted, or "<asset>.minisig" over the downloaded asset. Both the
// prehashed signatures of minisign 0.8 and later (BLAKE2b-512, streamed)
// and the older ones over the whole file (held in memory up to
// MaxLegacyMessage) are read; the trusted comment is verified too, as
// minisign -V does.
package minisign

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"aead.dev/minisign"

	"github.com/molt-go/update/verify"
)

// ErrKey means a public key could not be read. It wraps verify.ErrKey.
var ErrKey = fmt.Errorf("%w: minisign", verify.ErrKey)

// MaxLegacyMessage caps the file an older, not prehashed, signature can be
// checked over: those sign the bytes themselves, which must then be held
// in memory. Checksums files are far smaller; minisign has prehashed by
// default since 2019.
const MaxLegacyMessage = 64 << 20

// maxSignature bounds a .minisig file: four short lines.
const maxSignature = 4 << 10

// Verifier verifies minisign signatures by any of its pinned keys.
type Verifier struct {
	keys []minisign.PublicKey
}

var _ verify.Verifier = (*Verifier)(nil)

// New returns a Verifier for the given public keys, each the base64 line
// minisign prints ("RWQ...") or the whole minisign.pub file with its
// untrusted comment. Several keys allow a rotation.
func New(publicKeys ...string) (*Verifier, error) {
	if len(publicKeys) == 0 {
		return nil, fmt.Errorf("%w: no key given", ErrKey)
	}
	v := &Verifier{}
	for i, k := range publicKeys {
		var pk minisign.PublicKey
		if err := pk.UnmarshalText([]byte(strings.TrimSpace(k))); err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrKey, i+1, err)
		}
		v.keys = append(v.keys, pk)
	}
	return v, nil
}

// SignatureSuffixes names the signature files this verifier reads.
func (v *Verifier) SignatureSuffixes() []string { return []string{".minisig"} }

// Verify reads message once, to EOF, and returns nil if sig, the text of a
// .minisig file, is a good signature over it by one of the pinned keys;
// otherwise an error wrapping verify.ErrBadSignature, or the read error.
func (v *Verifier) Verify(message io.Reader, sig []byte) error {
	if len(sig) > maxSignature {
		return fmt.Errorf("%w: minisign: signature file of %d bytes", verify.ErrBadSignature, len(sig))
	}
	if message == nil {
		return fmt.Errorf("%w: minisign: no message", verify.ErrBadSignature)
	}
	var s minisign.Signature
	if err := s.UnmarshalText(bytes.TrimSpace(sig)); err != nil {
		return fmt.Errorf("%w: %v", verify.ErrBadSignature, err)
	}
	key, ok := v.key(s.KeyID)
	if !ok {
		return fmt.Errorf("%w: minisign: signed by key %016X, which is not pinned", verify.ErrBadSignature, s.KeyID)
	}
	if s.Algorithm == minisign.HashEdDSA {
		r := minisign.NewReader(message)
		if _, err := io.Copy(io.Discard, r); err != nil {
			return fmt.Errorf("minisign: reading the signed file: %w", err)
		}
		if !r.Verify(key, sig) {
			return fmt.Errorf("%w: minisign: the signature does not verify with key %016X", verify.ErrBadSignature, s.KeyID)
		}
		return nil
	}
	msg, err := io.ReadAll(io.LimitReader(message, MaxLegacyMessage+1))
	if err != nil {
		return fmt.Errorf("minisign: reading the signed file: %w", err)
	}
	if len(msg) > MaxLegacyMessage {
		return fmt.Errorf("%w: minisign: a signature that is not prehashed cannot be checked over more than %d bytes", verify.ErrBadSignature, MaxLegacyMessage)
	}
	if !minisign.Verify(key, msg, sig) {
		return fmt.Errorf("%w: minisign: the signature does not verify with key %016X", verify.ErrBadSignature, s.KeyID)
	}
	return nil
}

// key returns the pinned key with the given ID. IDs are only hints (they
// are not signed), but minisign refuses a signature whose ID is not its
// key's, so the one key to try is the one the ID names.
func (v *Verifier) key(id uint64) (minisign.PublicKey, bool) {
	for _, k := range v.keys {
		if k.ID() == id {
			return k, true
		}
	}
	return minisign.PublicKey{}, false
}
