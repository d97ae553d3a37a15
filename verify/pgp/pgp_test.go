package pgp_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/molt-go/update/verify"
	"github.com/molt-go/update/verify/pgp"
)

type key struct {
	e   *openpgp.Entity
	pub []byte // armored
}

func newKey(t *testing.T, name string) key {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", name+"@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return key{e: e, pub: buf.Bytes()}
}

func (k key) detached(t *testing.T, msg []byte, armored bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if armored {
		err = openpgp.ArmoredDetachSign(&buf, k.e, bytes.NewReader(msg), nil)
	} else {
		err = openpgp.DetachSign(&buf, k.e, bytes.NewReader(msg), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (k key) clearsign(t *testing.T, msg []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := clearsign.Encode(&buf, k.e.PrivateKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(msg)
	w.Close()
	return buf.Bytes()
}

func TestVerify(t *testing.T) {
	t.Parallel()
	k, other := newKey(t, "release"), newKey(t, "other")
	sums := []byte("abc  hello_linux_amd64.tar.gz\n-dash  line\n")
	v, err := pgp.New(k.pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sig  []byte
		msg  []byte
		ok   bool
	}{
		{"armored detached", k.detached(t, sums, true), sums, true},
		{"binary detached", k.detached(t, sums, false), sums, true},
		{"a cleartext-signed copy", k.clearsign(t, sums), sums, true},
		{"a copy with CRLF line ends", k.clearsign(t, sums), bytes.ReplaceAll(sums, []byte("\n"), []byte("\r\n")), true},
		{"other bytes", k.detached(t, sums, true), []byte("other"), false},
		{"a cleartext-signed other text", k.clearsign(t, []byte("other\n")), sums, false},
		{"another key", other.detached(t, sums, true), sums, false},
		{"garbage", []byte("MEUCIQ=="), sums, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := v.Verify(bytes.NewReader(tc.msg), tc.sig)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, verify.ErrBadSignature)) {
				t.Fatalf("Verify = %v, want ok: %v", err, tc.ok)
			}
		})
	}
}

func TestVerifyInline(t *testing.T) {
	t.Parallel()
	k, other := newKey(t, "release"), newKey(t, "other")
	sums := []byte("abc  hello_linux_amd64.tar.gz\n")
	v, err := pgp.New(k.pub)
	if err != nil {
		t.Fatal(err)
	}
	signed := k.clearsign(t, sums)
	got, err := v.VerifyInline(signed)
	if err != nil || strings.TrimSpace(string(got)) != strings.TrimSpace(string(sums)) {
		t.Fatalf("VerifyInline = %q, %v", got, err)
	}
	tampered := bytes.Replace(signed, []byte("abc"), []byte("abd"), 1)
	for name, data := range map[string][]byte{"tampered": tampered, "another key": other.clearsign(t, sums), "not signed": sums} {
		if _, err := v.VerifyInline(data); !errors.Is(err, verify.ErrBadSignature) {
			t.Errorf("%s: VerifyInline = %v, want ErrBadSignature", name, err)
		}
	}
	if !v.Reads(k.detached(t, sums, false)) || !v.Reads(signed) || v.Reads([]byte("MEUCIQ==")) {
		t.Error("Reads does not tell OpenPGP signatures from others")
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, k := range [][]byte{nil, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n-----END PGP PUBLIC KEY BLOCK-----\n"), []byte("junk")} {
		if _, err := pgp.New(k); !errors.Is(err, verify.ErrKey) {
			t.Errorf("New(%q) = %v, want verify.ErrKey", k, err)
		}
	}
}
