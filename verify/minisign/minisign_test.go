package minisign_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"aead.dev/minisign"

	"github.com/molt-go/update/verify"
	vminisign "github.com/molt-go/update/verify/minisign"
)

func keyPair(t *testing.T) (string, minisign.PrivateKey) {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub.String(), priv
}

func TestVerify(t *testing.T) {
	t.Parallel()
	pub, priv := keyPair(t)
	otherPub, otherPriv := keyPair(t)
	msg := []byte("abc123  hello_linux_amd64.tar.gz\n")
	prehashed := minisign.NewReader(bytes.NewReader(msg))
	if _, err := prehashed.Read(make([]byte, len(msg)+1)); err != nil {
		t.Fatal(err)
	}
	hashedSig := prehashed.Sign(priv)
	legacySig := minisign.Sign(priv, msg)

	v, err := vminisign.New("untrusted comment: minisign public key\n" + pub + "\n")
	if err != nil {
		t.Fatal(err)
	}
	both, err := vminisign.New(otherPub, pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		v    *vminisign.Verifier
		sig  []byte
		msg  []byte
		ok   bool
	}{
		{"prehashed", v, hashedSig, msg, true},
		{"legacy", v, legacySig, msg, true},
		{"one of two keys", both, hashedSig, msg, true},
		{"other bytes", v, hashedSig, []byte("other"), false},
		{"another key", v, minisign.Sign(otherPriv, msg), msg, false},
		{"a changed trusted comment", v, bytes.Replace(hashedSig, []byte("trusted comment: timestamp:"), []byte("trusted comment: evil:"), 1), msg, false},
		{"not a signature", v, []byte("RWQ..."), msg, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.v.Verify(bytes.NewReader(tc.msg), tc.sig)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, verify.ErrBadSignature)) {
				t.Fatalf("Verify = %v, want ok: %v", err, tc.ok)
			}
		})
	}
	if got := v.SignatureSuffixes(); len(got) != 1 || got[0] != ".minisig" {
		t.Errorf("SignatureSuffixes = %q", got)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"", "RWQ", "not base64!", strings.Repeat("A", 56)} {
		if _, err := vminisign.New(k); !errors.Is(err, verify.ErrKey) {
			t.Errorf("New(%q) = %v, want verify.ErrKey", k, err)
		}
	}
	if _, err := vminisign.New(); !errors.Is(err, vminisign.ErrKey) {
		t.Errorf("New() = %v, want ErrKey", err)
	}
}
