// Package pgp verifies OpenPGP signatures (gpg --detach-sign, --armor,
// --clearsign) with public keys pinned in the program: the signed
// SHA256SUMS that many projects publish ("SHA256SUMS.asc", "SHA256SUMS.sig"
// or a cleartext-signed "SHA256SUMS"), or a signature beside each asset.
// It is a nested module built on github.com/ProtonMail/go-crypto, so that
// only a program that imports it links an OpenPGP implementation.
//
//	v, err := pgp.New(releaseKeyASC) // the project's armored public key, compiled in
//	src, err := github.New(github.Options{Owner: "acme", Repo: "hello"})
//	u, err := update.New(update.Options{Source: src, Verifier: v, ...})
//
// Pin the key you checked (its full fingerprint, from the project's
// website or a signed tag you trust), never one fetched at run time from a
// key server: a key that arrives with an update proves nothing.
package pgp

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/molt-go/update/verify"
)

// ErrKey means a public key could not be read. It wraps verify.ErrKey.
var ErrKey = fmt.Errorf("%w: pgp", verify.ErrKey)

// MaxClearsigned caps a cleartext-signed message, and the file a
// cleartext signature is compared with: a checksums file, never a program.
const MaxClearsigned = 16 << 20

// The armor lines this package tells signatures apart by.
const (
	armoredSignature = "-----BEGIN PGP SIGNATURE-----"
	clearsigned      = "-----BEGIN PGP SIGNED MESSAGE-----"
)

// Verifier verifies OpenPGP signatures by any key of its key ring.
type Verifier struct {
	keys openpgp.EntityList
}

var _ verify.Verifier = (*Verifier)(nil)

// New returns a Verifier for the public keys given, each armored
// ("-----BEGIN PGP PUBLIC KEY BLOCK-----") or binary, one key or several.
func New(publicKeys ...[]byte) (*Verifier, error) {
	if len(publicKeys) == 0 {
		return nil, fmt.Errorf("%w: no key given", ErrKey)
	}
	v := &Verifier{}
	for i, k := range publicKeys {
		var el openpgp.EntityList
		var err error
		if bytes.Contains(k, []byte("-----BEGIN PGP")) {
			el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(k))
		} else {
			el, err = openpgp.ReadKeyRing(bytes.NewReader(k))
		}
		if err != nil || len(el) == 0 {
			return nil, fmt.Errorf("%w: key %d: %v", ErrKey, i+1, err)
		}
		v.keys = append(v.keys, el...)
	}
	return v, nil
}

// SignatureSuffixes names the signature files this verifier reads: an
// armored signature, gpg's binary one, and its other ending.
func (v *Verifier) SignatureSuffixes() []string { return []string{".asc", ".sig", ".gpg"} }

// Reads reports whether sig is an OpenPGP signature at all, so that a
// ".sig" of another tool (cosign's base64) is passed over rather than
// taken for a forgery.
func (v *Verifier) Reads(sig []byte) bool {
	t := bytes.TrimSpace(sig)
	return bytes.HasPrefix(t, []byte(armoredSignature)) || bytes.HasPrefix(t, []byte(clearsigned)) ||
		(len(sig) > 0 && sig[0]&0x80 != 0) // a binary OpenPGP packet
}

// Verify reads message once, to EOF, and returns nil if sig is a good
// OpenPGP signature over it by a pinned key: a detached one, armored or
// binary, or a cleartext-signed copy of the message (an .asc that is the
// signed SHA256SUMS itself). It returns an error wrapping
// verify.ErrBadSignature otherwise, or the read error.
func (v *Verifier) Verify(message io.Reader, sig []byte) error {
	if message == nil {
		return fmt.Errorf("%w: pgp: no message", verify.ErrBadSignature)
	}
	t := bytes.TrimSpace(sig)
	var err error
	switch {
	case bytes.HasPrefix(t, []byte(clearsigned)):
		return v.verifyCopy(message, sig)
	case bytes.HasPrefix(t, []byte(armoredSignature)):
		_, err = openpgp.CheckArmoredDetachedSignature(v.keys, message, bytes.NewReader(sig), nil)
	default:
		_, err = openpgp.CheckDetachedSignature(v.keys, message, bytes.NewReader(sig), nil)
	}
	if err != nil {
		return fmt.Errorf("%w: pgp: %v", verify.ErrBadSignature, err)
	}
	return nil
}

// VerifyInline returns the signed text of data, a cleartext-signed
// message, if a pinned key signed it. source/github calls it for a
// checksums file that carries its own signature.
func (v *Verifier) VerifyInline(data []byte) ([]byte, error) {
	if len(data) > MaxClearsigned {
		return nil, fmt.Errorf("%w: pgp: cleartext message of %d bytes", verify.ErrBadSignature, len(data))
	}
	// clearsign.Decode looks for its start line after a newline.
	b, _ := clearsign.Decode(append([]byte("\n"), bytes.TrimLeft(data, " \t\r\n")...))
	if b == nil {
		return nil, fmt.Errorf("%w: pgp: not a cleartext-signed message", verify.ErrBadSignature)
	}
	if _, err := b.VerifySignature(v.keys, nil); err != nil {
		return nil, fmt.Errorf("%w: pgp: %v", verify.ErrBadSignature, err)
	}
	return b.Plaintext, nil
}

// verifyCopy checks a cleartext-signed sig and that what it signs is the
// message, as text: OpenPGP signs text with its line ends made CRLF and
// trailing spaces dropped, so the comparison does the same.
func (v *Verifier) verifyCopy(message io.Reader, sig []byte) error {
	signed, err := v.VerifyInline(sig)
	if err != nil {
		return err
	}
	msg, err := io.ReadAll(io.LimitReader(message, MaxClearsigned+1))
	if err != nil {
		return fmt.Errorf("pgp: reading the signed file: %w", err)
	}
	if canonical(msg) != canonical(signed) {
		return fmt.Errorf("%w: pgp: the cleartext signature signs another text", verify.ErrBadSignature)
	}
	return nil
}

func canonical(b []byte) string {
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}
