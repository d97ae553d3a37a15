package cosign

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/molt-go/update/verify"
)

// bundleFor writes a Sigstore bundle as cosign sign-blob --new-bundle-format
// does, with alg and digest as given.
func bundleFor(t testing.TB, sig []byte, alg string, digest []byte, hint string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"mediaType":            "application/vnd.dev.sigstore.bundle.v0.3+json",
		"verificationMaterial": map[string]any{"publicKey": map[string]any{"hint": hint}},
		"messageSignature": map[string]any{
			"messageDigest": map[string]any{"algorithm": alg, "digest": base64.StdEncoding.EncodeToString(digest)},
			"signature":     base64.StdEncoding.EncodeToString(sig),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSignatureFile(t *testing.T) {
	t.Parallel()
	sig := []byte("0123456789abcdef raw signature bytes")
	b64 := base64.StdEncoding.EncodeToString(sig)
	sum256 := sha256.Sum256([]byte("m"))
	sum512 := sha512.Sum512([]byte("m"))
	tests := []struct {
		name       string
		data       string
		wantDigest verify.Digest
		wantHint   string
	}{
		{"cosign .sig", b64, verify.Digest{}, ""},
		{"cosign .sig with newline", b64 + "\n", verify.Digest{}, ""},
		{"cosign .sig with CRLF", b64 + "\r\n", verify.Digest{}, ""},
		{"unpadded base64", strings.TrimRight(b64, "="), verify.Digest{}, ""},
		{"bundle sha256", string(bundleFor(t, sig, "SHA2_256", sum256[:], "aGludA==")),
			verify.Digest{Algorithm: verify.SHA256, Sum: sum256[:]}, "aGludA=="},
		{"bundle sha512", string(bundleFor(t, sig, "SHA2_512", sum512[:], "")),
			verify.Digest{Algorithm: verify.SHA512, Sum: sum512[:]}, ""},
		{"bundle sha384 digest is left unchecked", string(bundleFor(t, sig, "SHA2_384", make([]byte, 48), "")),
			verify.Digest{}, ""},
		{"bundle v0.1 media type, no digest",
			`{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1","messageSignature":{"signature":"` + b64 + `"}}`,
			verify.Digest{}, ""},
		{"bundle with URL-safe base64", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"signature":"` +
			base64.URLEncoding.EncodeToString(sig) + `"}}`, verify.Digest{}, ""},
		{"old cosign bundle", `{"base64Signature":"` + b64 + `","cert":""}` + "\n", verify.Digest{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sf, err := ParseSignatureFile([]byte(tt.data))
			if err != nil {
				t.Fatalf("ParseSignatureFile: %v", err)
			}
			if !bytes.Equal(sf.Sig, sig) {
				t.Errorf("Sig = %q, want %q", sf.Sig, sig)
			}
			if sf.Digest.String() != tt.wantDigest.String() {
				t.Errorf("Digest = %s, want %s", sf.Digest, tt.wantDigest)
			}
			if sf.KeyHint != tt.wantHint {
				t.Errorf("KeyHint = %q, want %q", sf.KeyHint, tt.wantHint)
			}
		})
	}
}

func TestParseSignatureFileGarbage(t *testing.T) {
	t.Parallel()
	sig := base64.StdEncoding.EncodeToString([]byte("signature"))
	sum := sha256.Sum256(nil)
	tests := []struct{ name, data string }{
		{"empty", ""},
		{"blank", " \n\r\n"},
		{"not base64", "this is not a signature!"},
		{"PEM", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"},
		{"broken JSON", `{"mediaType":`},
		{"empty object", `{}`},
		{"JSON array", `[1,2]`},
		{"unknown media type", `{"mediaType":"application/json","messageSignature":{"signature":"` + sig + `"}}`},
		{"bundle without signature", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`},
		{"bundle with empty signature", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"signature":""}}`},
		{"bundle signature not base64", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"signature":"!!"}}`},
		{"DSSE bundle", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","signatures":[]}}`},
		{"digest wrong length", string(bundleFor(t, []byte("s"), "SHA2_256", sum[:31], ""))},
		{"digest not base64", `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"%%"},"signature":"` + sig + `"}}`},
		{"old bundle not base64", `{"base64Signature":"#"}`},
		{"too large", strings.Repeat(" ", MaxSignatureFileSize) + sig},
	}
	for _, tt := range tests {
		sf, err := ParseSignatureFile([]byte(tt.data))
		if !errors.Is(err, verify.ErrBadSignature) {
			t.Errorf("%s: ParseSignatureFile = %+v, %v; want ErrBadSignature", tt.name, sf, err)
		}
	}
}

func TestSignatureFileVerify(t *testing.T) {
	t.Parallel()
	key := newECDSAKey(t, elliptic.P256(), crypto.SHA256)
	other := newEd25519Key(t)
	keys := mustKeys(t, key.pem)
	msg := []byte("9568ac83  hello_1.2.3_darwin_arm64.tar.gz\n")
	tampered := []byte("9568ac84  hello_1.2.3_darwin_arm64.tar.gz\n")
	sig := key.sign(t, msg)
	sum := sha256.Sum256(msg)
	otherSum := sha256.Sum256(tampered)

	parse := func(data []byte) SignatureFile {
		sf, err := ParseSignatureFile(data)
		if err != nil {
			t.Fatal(err)
		}
		return sf
	}
	bare := parse([]byte(base64.StdEncoding.EncodeToString(sig) + "\n"))
	bundle := parse(bundleFor(t, sig, "SHA2_256", sum[:], ""))
	lyingBundle := parse(bundleFor(t, sig, "SHA2_256", otherSum[:], ""))

	tests := []struct {
		name string
		sf   SignatureFile
		v    verify.Verifier
		msg  []byte
		want error
	}{
		{"bare good", bare, keys, msg, nil},
		{"bundle good", bundle, keys, msg, nil},
		{"bare, tampered message", bare, keys, tampered, verify.ErrBadSignature},
		{"bundle, tampered message", bundle, keys, tampered, verify.ErrDigestMismatch},
		{"bundle digest does not match", lyingBundle, keys, msg, verify.ErrDigestMismatch},
		{"bare, wrong key", bare, mustKeys(t, other.pem), msg, verify.ErrBadSignature},
		{"bundle, wrong key", bundle, mustKeys(t, other.pem), msg, verify.ErrBadSignature},
		{"zero SignatureFile", SignatureFile{}, keys, msg, verify.ErrBadSignature},
		{"nil verifier", bundle, nil, msg, verify.ErrNotVerified},
	}
	for _, tt := range tests {
		err := tt.sf.Verify(tt.v, bytes.NewReader(tt.msg))
		if (tt.want == nil && err != nil) || !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
		if tt.want != nil && !errors.Is(err, verify.ErrNotVerified) {
			t.Errorf("%s: %v does not wrap ErrNotVerified", tt.name, err)
		}
	}
}

// TestSignatureFileVerifyHashesAll checks that the bundle's digest covers
// the whole message even when the Verifier stops reading early: a lazy or
// broken Verifier must not let a changed tail through.
func TestSignatureFileVerifyHashesAll(t *testing.T) {
	t.Parallel()
	msg := []byte("head and a long tail")
	sum := sha256.Sum256(msg)
	sf := SignatureFile{Sig: []byte("x"), Digest: verify.Digest{Algorithm: verify.SHA256, Sum: sum[:]}}
	lazy := firstByteVerifier{}
	if err := sf.Verify(lazy, bytes.NewReader(msg)); err != nil {
		t.Fatalf("whole message: %v", err)
	}
	changed := []byte("head and a long TAIL")
	if err := sf.Verify(lazy, bytes.NewReader(changed)); !errors.Is(err, verify.ErrDigestMismatch) {
		t.Fatalf("changed tail: %v, want ErrDigestMismatch", err)
	}
}

// firstByteVerifier accepts any message after reading one byte of it.
type firstByteVerifier struct{}

func (firstByteVerifier) Verify(message io.Reader, _ []byte) error {
	_, err := message.Read(make([]byte, 1))
	return err
}

func TestSignatureFileKeyID(t *testing.T) {
	t.Parallel()
	k := newECDSAKey(t, elliptic.P256(), crypto.SHA256)
	id := mustKeys(t, k.pem).IDs()[0]
	tests := []struct{ hint, want string }{
		{"", ""},
		{"not base64!", ""},
		{base64.StdEncoding.EncodeToString([]byte("short")), ""},
	}
	for _, tt := range tests {
		if got := (SignatureFile{KeyHint: tt.hint}).KeyID(); got != tt.want {
			t.Errorf("KeyID(%q) = %q, want %q", tt.hint, got, tt.want)
		}
	}
	// A hint made as cosign makes it names the key as IDs does.
	der, err := x509.MarshalPKIXPublicKey(k.pub)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(der)
	hint := base64.StdEncoding.EncodeToString(h[:])
	if got := (SignatureFile{KeyHint: hint}).KeyID(); got != id {
		t.Errorf("KeyID = %q, want %q", got, id)
	}
}
