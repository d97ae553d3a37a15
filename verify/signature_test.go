package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
)

// testKey is a private key made for one test, with its public half in PEM.
type testKey struct {
	priv crypto.Signer
	hf   crypto.Hash // 0 for ed25519, which signs the message itself
	pub  crypto.PublicKey
	pem  []byte
}

// sign signs msg as cosign would with this key: ASN.1 ECDSA or PKCS #1
// v1.5 over the digest, or pure ed25519 over the message.
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
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return testKey{priv: priv, hf: hf, pub: priv.Public(), pem: pemBytes}
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
	return newTestKey(t, priv, crypto.Hash(0))
}

// rsaKeys are made once: RSA key generation is slow and the machine shared.
var rsaKeys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	a, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	b, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return a, b
})

func newRSAKey(t testing.TB, second bool) testKey {
	t.Helper()
	a, b := rsaKeys()
	if second {
		a = b
	}
	return newTestKey(t, a, crypto.SHA256)
}

func mustKeys(t testing.TB, pems ...[]byte) *Keys {
	t.Helper()
	k, err := Signature(pems...)
	if err != nil {
		t.Fatalf("Signature: %v", err)
	}
	return k
}

func TestSignatureVerify(t *testing.T) {
	t.Parallel()
	msg := []byte("hello_1.2.3_linux_amd64.tar.gz checksums\n")
	tampered := append(bytes.Clone(msg[:len(msg)-1]), '!')
	type pair struct{ key, other testKey }
	kinds := map[string]func(t *testing.T) pair{
		"ecdsa-p256": func(t *testing.T) pair {
			return pair{newECDSAKey(t, elliptic.P256(), crypto.SHA256), newECDSAKey(t, elliptic.P256(), crypto.SHA256)}
		},
		"ecdsa-p384": func(t *testing.T) pair {
			return pair{newECDSAKey(t, elliptic.P384(), crypto.SHA384), newECDSAKey(t, elliptic.P384(), crypto.SHA384)}
		},
		"ed25519": func(t *testing.T) pair { return pair{newEd25519Key(t), newEd25519Key(t)} },
		"rsa":     func(t *testing.T) pair { return pair{newRSAKey(t, false), newRSAKey(t, true)} },
	}
	for kind, mk := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			p := mk(t)
			keys := mustKeys(t, p.key.pem)
			sig := p.key.sign(t, msg)
			garbage := make([]byte, len(sig))
			if _, err := rand.Read(garbage); err != nil {
				t.Fatal(err)
			}
			flipped := bytes.Clone(sig)
			flipped[len(flipped)/2] ^= 1

			if err := keys.Verify(bytes.NewReader(msg), sig); err != nil {
				t.Fatalf("good signature: %v", err)
			}
			bad := []struct {
				name string
				keys *Keys
				msg  []byte
				sig  []byte
			}{
				{"wrong key", mustKeys(t, p.other.pem), msg, sig},
				{"tampered message", keys, tampered, sig},
				{"empty message", keys, nil, sig},
				{"truncated signature", keys, msg, sig[:len(sig)-1]},
				{"flipped bit", keys, msg, flipped},
				{"garbage signature", keys, msg, garbage},
				{"empty signature", keys, msg, nil},
				{"base64 instead of raw", keys, msg, []byte(base64.StdEncoding.EncodeToString(sig))},
			}
			for _, b := range bad {
				err := b.keys.Verify(bytes.NewReader(b.msg), b.sig)
				if !errors.Is(err, ErrBadSignature) || !errors.Is(err, ErrNotVerified) {
					t.Errorf("%s: Verify = %v, want ErrBadSignature", b.name, err)
				}
			}
		})
	}
}

// TestSignatureRotation tells the story of a key rotation: the program
// trusts the old and the new key, so releases signed by either install, and
// one signed by neither does not.
func TestSignatureRotation(t *testing.T) {
	t.Parallel()
	oldKey := newECDSAKey(t, elliptic.P256(), crypto.SHA256)
	newKey := newEd25519Key(t)
	stranger := newECDSAKey(t, elliptic.P256(), crypto.SHA256)
	msg := []byte("release 2.0.0")

	for name, keys := range map[string]*Keys{
		"one PEM blob":   mustKeys(t, slices.Concat(oldKey.pem, newKey.pem)),
		"two arguments":  mustKeys(t, oldKey.pem, newKey.pem),
		"duplicate keys": mustKeys(t, oldKey.pem, newKey.pem, oldKey.pem),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := len(keys.IDs()); got != 2 {
				t.Fatalf("IDs() has %d keys, want 2", got)
			}
			// The new key comes second, so a Verify that let the first
			// key consume the message would leave it nothing to check.
			if err := keys.Verify(bytes.NewReader(msg), newKey.sign(t, msg)); err != nil {
				t.Errorf("signed by the new key: %v", err)
			}
			if err := keys.Verify(bytes.NewReader(msg), oldKey.sign(t, msg)); err != nil {
				t.Errorf("signed by the old key: %v", err)
			}
			err := keys.Verify(bytes.NewReader(msg), stranger.sign(t, msg))
			if !errors.Is(err, ErrBadSignature) {
				t.Errorf("signed by a stranger: %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestSignatureReadsMessageOnce checks that Verify reads the message in one
// pass to EOF, and never after EOF, whatever the number of keys.
func TestSignatureReadsMessageOnce(t *testing.T) {
	t.Parallel()
	ed, ec, rs := newEd25519Key(t), newECDSAKey(t, elliptic.P256(), crypto.SHA256), newRSAKey(t, false)
	keys := mustKeys(t, ed.pem, ec.pem, rs.pem)
	msg := bytes.Repeat([]byte("0123456789"), 10000)
	for _, k := range []testKey{ed, ec, rs} {
		r := &strictReader{r: bytes.NewReader(msg)}
		if err := keys.Verify(r, k.sign(t, msg)); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !r.eof || r.afterEOF {
			t.Errorf("reached EOF %v, read after EOF %v; want true, false", r.eof, r.afterEOF)
		}
	}
}

type strictReader struct {
	r             io.Reader
	eof, afterEOF bool
}

func (s *strictReader) Read(p []byte) (int, error) {
	if s.eof {
		s.afterEOF = true
	}
	n, err := s.r.Read(p)
	if err == io.EOF {
		s.eof = true
	}
	return n, err
}

func TestSignatureReadError(t *testing.T) {
	t.Parallel()
	k := newECDSAKey(t, elliptic.P256(), crypto.SHA256)
	boom := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader([]byte("part")), &errReader{boom})
	err := mustKeys(t, k.pem).Verify(r, k.sign(t, []byte("partial")))
	if !errors.Is(err, boom) {
		t.Fatalf("Verify = %v, want the read error", err)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// TestSignatureEd25519Limit checks that an ed25519 key refuses a message
// over the buffer limit, while other keys, which hash as they read, still
// verify it.
func TestSignatureEd25519Limit(t *testing.T) {
	t.Parallel()
	ed, ec := newEd25519Key(t), newECDSAKey(t, elliptic.P256(), crypto.SHA256)
	keys := mustKeys(t, ed.pem, ec.pem)
	keys.maxMessage = 16

	atLimit := []byte("sixteen bytes!!!")
	if err := keys.Verify(bytes.NewReader(atLimit), ed.sign(t, atLimit)); err != nil {
		t.Errorf("ed25519 at the limit: %v", err)
	}
	over := []byte("seventeen bytes!!")
	if err := keys.Verify(bytes.NewReader(over), ed.sign(t, over)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("ed25519 over the limit: %v, want ErrBadSignature", err)
	}
	// Past the limit nothing is buffered; that must not read as an empty
	// message, whose signature an attacker may hold.
	if err := keys.Verify(bytes.NewReader(over), ed.sign(t, nil)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("over the limit with a signature of the empty message: %v, want ErrBadSignature", err)
	}
	if err := keys.Verify(bytes.NewReader(over), ec.sign(t, over)); err != nil {
		t.Errorf("ecdsa over the ed25519 limit: %v", err)
	}
}

func TestSignatureIDs(t *testing.T) {
	t.Parallel()
	a, b := newECDSAKey(t, elliptic.P256(), crypto.SHA256), newEd25519Key(t)
	var want []string
	for _, k := range []testKey{a, b} {
		der, err := x509.MarshalPKIXPublicKey(k.pub)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(der)
		want = append(want, hex.EncodeToString(sum[:]))
	}
	if got := mustKeys(t, a.pem, b.pem).IDs(); !slices.Equal(got, want) {
		t.Errorf("IDs() = %q, want %q", got, want)
	}
}

func TestSignatureKeyErrors(t *testing.T) {
	t.Parallel()
	good := newECDSAKey(t, elliptic.P256(), crypto.SHA256).pem
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkix := func(pub crypto.PublicKey) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	tests := []struct {
		name string
		pems [][]byte
	}{
		{"no arguments", nil},
		{"empty", [][]byte{{}}},
		{"not PEM", [][]byte{[]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI")}},
		{"private key", [][]byte{pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: []byte("x")})}},
		{"corrupt DER", [][]byte{pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("not DER")})}},
		{"text after the key", [][]byte{append(bytes.Clone(good), "trailing junk\n"...)}},
		{"good then empty", [][]byte{good, {}}},
		{"good then bad block", [][]byte{slices.Concat(good, pkix(&weakRSA.PublicKey))}},
		{"RSA 1024", [][]byte{pkix(&weakRSA.PublicKey)}},
		{"ECDSA P-224", [][]byte{pkix(&p224.PublicKey)}},
	}
	for _, tt := range tests {
		k, err := Signature(tt.pems...)
		if !errors.Is(err, ErrKey) {
			t.Errorf("%s: Signature = %v, %v; want ErrKey", tt.name, k, err)
		}
	}
}

// TestSignaturePKCS1 checks that an "RSA PUBLIC KEY" block, as openssl
// rsa -RSAPublicKey_out writes it, works like the PKIX form.
func TestSignaturePKCS1(t *testing.T) {
	t.Parallel()
	k := newRSAKey(t, false)
	block := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(k.pub.(*rsa.PublicKey))})
	msg := []byte("pkcs1")
	keys := mustKeys(t, block)
	if err := keys.Verify(bytes.NewReader(msg), k.sign(t, msg)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys.IDs(), mustKeys(t, k.pem).IDs()) {
		t.Error("PKCS #1 and PKIX forms of one key have different IDs")
	}
}

func TestMustSignature(t *testing.T) {
	t.Parallel()
	if k := MustSignature(newEd25519Key(t).pem); len(k.IDs()) != 1 {
		t.Errorf("MustSignature: %d keys, want 1", len(k.IDs()))
	}
	defer func() {
		err, _ := recover().(error)
		if !errors.Is(err, ErrKey) {
			t.Errorf("MustSignature of a bad key panicked with %v, want ErrKey", err)
		}
	}()
	MustSignature([]byte("nonsense"))
}

func TestNilKeys(t *testing.T) {
	t.Parallel()
	var k *Keys
	if err := k.Verify(bytes.NewReader(nil), []byte("sig")); !errors.Is(err, ErrBadSignature) {
		t.Errorf("nil Keys: %v, want ErrBadSignature", err)
	}
}
