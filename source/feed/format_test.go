package feed

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

func TestSignParseRoundTrip(t *testing.T) {
	t.Parallel()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384Key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, key := range map[string]any{"p256": ecKey, "p384": p384Key, "ed25519": edKey, "rsa": rsaKey} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := NewSigner(key)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := s.PublicKeyPEM()
			if err != nil {
				t.Fatal(err)
			}
			keys, err := verify.Signature(pub)
			if err != nil {
				t.Fatal(err)
			}
			if ids := keys.IDs(); len(ids) != 1 || ids[0] != s.KeyID() {
				t.Errorf("signer key id %s, verifier ids %v", s.KeyID(), ids)
			}
			want := testPayload()
			data, err := Sign(want, s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(data, keys)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseSignedByAnotherKey(t *testing.T) {
	t.Parallel()
	s, _ := newKey(t)
	_, otherKeys := newKey(t)
	data, err := Sign(testPayload(), s)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data, otherKeys)
	if !errors.Is(err, verify.ErrBadSignature) || !errors.Is(err, verify.ErrNotVerified) {
		t.Fatalf("err = %v, want ErrBadSignature", err)
	}
}

// envelopeOf decodes a signed feed so a test can tamper with it.
func envelopeOf(t *testing.T, data []byte) Envelope {
	t.Helper()
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	return env
}

func encode(t *testing.T, env Envelope) []byte {
	t.Helper()
	data, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseTamperedPayload(t *testing.T) {
	t.Parallel()
	s, keys := newKey(t)
	data, err := Sign(testPayload(), s)
	if err != nil {
		t.Fatal(err)
	}
	env := envelopeOf(t, data)
	// A mirror swaps in a digest of its own, keeping the signature.
	env.Payload = bytes.Replace(env.Payload, []byte(sha256hex("hello")), []byte(sha256hex("evil!")), 1)
	if bytes.Equal(env.Payload, envelopeOf(t, data).Payload) {
		t.Fatal("tampering changed nothing")
	}
	if _, err := Parse(encode(t, env), keys); !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("tampered payload: err = %v, want ErrBadSignature", err)
	}
}

func TestParseChecksSignatureBeforePayload(t *testing.T) {
	t.Parallel()
	_, keys := newKey(t)
	// Junk that no pinned key signed must fail on the signature, proving
	// the payload was not parsed first.
	env := Envelope{Payload: []byte("{not json"), Signatures: []Signature{{KeyID: "x", Sig: []byte("sig")}}}
	_, err := Parse(encode(t, env), keys)
	if !errors.Is(err, verify.ErrBadSignature) || errors.Is(err, source.ErrBadMetadata) {
		t.Fatalf("err = %v, want ErrBadSignature only", err)
	}
}

func TestParseUnsigned(t *testing.T) {
	t.Parallel()
	s, keys := newKey(t)
	data, err := Sign(testPayload(), s)
	if err != nil {
		t.Fatal(err)
	}
	env := envelopeOf(t, data)
	env.Signatures = nil
	unsigned := encode(t, env)
	if _, err := Parse(unsigned, keys); !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("unsigned feed with a verifier: err = %v, want ErrBadSignature", err)
	}
	// The caller asked for no verification: the payload is still checked.
	p, err := Parse(unsigned, nil)
	if err != nil || p.App != "hello" {
		t.Fatalf("unsigned feed without a verifier: %v, %v", p, err)
	}
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	s, keys := newKey(t)
	good, err := Sign(testPayload(), s)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(payload string) []byte {
		sig, err := s.sign([]byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return encode(t, Envelope{Payload: []byte(payload), Signatures: []Signature{{KeyID: s.KeyID(), Sig: sig}}})
	}
	tooMany := envelopeOf(t, good)
	for len(tooMany.Signatures) <= maxSignatures {
		tooMany.Signatures = append(tooMany.Signatures, tooMany.Signatures[0])
	}
	tests := map[string][]byte{
		"empty":                  nil,
		"garbage":                []byte("\x00\x01garbage"),
		"truncated":              good[:len(good)/2],
		"trailing data":          append(bytes.Clone(good), []byte(`{}`)...),
		"unknown envelope field": bytes.Replace(good, []byte(`{"payload"`), []byte(`{"extra":1,"payload"`), 1),
		"no payload":             []byte(`{"signatures":[]}`),
		"payload not base64":     []byte(`{"payload":"***","signatures":[]}`),
		"too large":              append(bytes.Clone(good), bytes.Repeat([]byte(" "), MaxFeedSize)...),
		"too many signatures":    encode(t, tooMany),
		"signed junk payload":    signed("{not json"),
		"signed empty object":    signed("{}"),
		"signed trailing data":   signed(string(envelopeOf(t, good).Payload) + "{}"),
	}
	for name, data := range tests {
		if _, err := Parse(data, keys); !errors.Is(err, source.ErrBadMetadata) {
			t.Errorf("%s: err = %v, want ErrBadMetadata", name, err)
		}
	}
	// Control: the untouched feed parses, and unknown payload fields (signed,
	// so only the publisher's) are accepted.
	if _, err := Parse(good, keys); err != nil {
		t.Fatalf("good feed: %v", err)
	}
	withNotes := strings.Replace(string(envelopeOf(t, good).Payload), `"app"`, `"future":true,"app"`, 1)
	if _, err := Parse(signed(withNotes), keys); err != nil {
		t.Fatalf("payload with an unknown field: %v", err)
	}
}

func TestSignRefusesInvalidPayload(t *testing.T) {
	t.Parallel()
	s, _ := newKey(t)
	tests := map[string]func(p *Payload){
		"no app":            func(p *Payload) { p.App = "" },
		"app with slash":    func(p *Payload) { p.App = "a/b" },
		"zero serial":       func(p *Payload) { p.Serial = 0 },
		"no issue time":     func(p *Payload) { p.Issued = time.Time{} },
		"expires at issue":  func(p *Payload) { p.Expires = p.Issued },
		"bad version":       func(p *Payload) { p.Releases[0].Version = "one" },
		"duplicate version": func(p *Payload) { p.Releases = append(p.Releases, p.Releases[0]) },
		"zero size":         func(p *Payload) { p.Releases[0].Assets[0].Size = 0 },
		"short sha256":      func(p *Payload) { p.Releases[0].Assets[0].SHA256 = "abcd" },
		"non-hex sha256":    func(p *Payload) { p.Releases[0].Assets[0].SHA256 = strings.Repeat("g", 64) },
		"name with slash":   func(p *Payload) { p.Releases[0].Assets[0].Name = "x/hello" },
		"name with dotdot":  func(p *Payload) { p.Releases[0].Assets[0].Name = "..hello" },
		"no url":            func(p *Payload) { p.Releases[0].Assets[0].URL = "" },
	}
	for name, mutate := range tests {
		p := testPayload()
		mutate(p)
		if _, err := Sign(p, s); !errors.Is(err, source.ErrBadMetadata) {
			t.Errorf("%s: err = %v, want ErrBadMetadata", name, err)
		}
	}
	if _, err := Sign(testPayload()); err == nil {
		t.Error("Sign with no signer succeeded")
	}
}

// TestKeyRotation tells the rotation story of doc.go step by step.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey, oldOnly := newKey(t)
	newKeyS, newOnly := newKey(t)
	oldPub, _ := oldKey.PublicKeyPEM()
	newPub, _ := newKeyS.PublicKeyPEM()
	both, err := verify.Signature(oldPub, newPub)
	if err != nil {
		t.Fatal(err)
	}
	_, stranger := newKey(t)

	// Step 1: signed with the old key; the transition release pins both.
	f1, _ := Sign(testPayload(), oldKey)
	// Step 2: signed with both keys.
	f2, _ := Sign(testPayload(), oldKey, newKeyS)
	// Step 3: signed with the new key only.
	f3, _ := Sign(testPayload(), newKeyS)

	for _, tt := range []struct {
		step string
		feed []byte
		v    verify.Verifier
		ok   bool
	}{
		{"1, old program", f1, oldOnly, true},
		{"1, transition program", f1, both, true},
		{"2, old program", f2, oldOnly, true},
		{"2, transition program", f2, both, true},
		{"2, new program", f2, newOnly, true},
		{"3, old program left behind", f3, oldOnly, false},
		{"3, transition program", f3, both, true},
		{"3, new program", f3, newOnly, true},
		{"2, program pinning a stranger", f2, stranger, false},
	} {
		_, err := Parse(tt.feed, tt.v)
		if tt.ok && err != nil || !tt.ok && !errors.Is(err, verify.ErrBadSignature) {
			t.Errorf("step %s: err = %v, want ok=%v", tt.step, err, tt.ok)
		}
	}
	env := envelopeOf(t, f2)
	if len(env.Signatures) != 2 || env.Signatures[0].KeyID != oldKey.KeyID() || env.Signatures[1].KeyID != newKeyS.KeyID() {
		t.Errorf("signatures do not name their keys: %+v", env.Signatures)
	}
}

func TestEnvelopeWireFormat(t *testing.T) {
	t.Parallel()
	s, _ := newKey(t)
	data, err := Sign(testPayload(), s)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Payload    string `json:"payload"`
		Signatures []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(raw.Payload)
	if err != nil {
		t.Fatalf("payload is not base64: %v", err)
	}
	var fields map[string]any
	if err := json.Unmarshal(payload, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"app", "serial", "issued", "expires", "releases"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("payload lacks %q: %s", k, payload)
		}
	}
	if fields["issued"] != "2026-01-01T00:00:00Z" {
		t.Errorf("issued = %v, want RFC 3339", fields["issued"])
	}
	if len(raw.Signatures) != 1 {
		t.Fatalf("signatures: %+v", raw.Signatures)
	}
	// The key id is the hex sha256 of the PKIX public key.
	pubPEM, _ := s.PublicKeyPEM()
	block, _ := pem.Decode(pubPEM)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := KeyID(pub)
	if raw.Signatures[0].KeyID != id || id != sha256hex(string(block.Bytes)) {
		t.Errorf("keyid = %s, want %s", raw.Signatures[0].KeyID, id)
	}
}

func TestListing(t *testing.T) {
	t.Parallel()
	p := testPayload()
	p.Releases[0].Assets = append(p.Releases[0].Assets, Asset{
		Name: "hello-1.1.0-windows-amd64.zip", OS: "windows", Arch: "amd64", Size: 9,
		SHA256: sha256hex("x"), URL: "https://cdn.example.com/h.zip", Executable: "hello.exe",
	})
	base, _ := url.Parse("https://updates.example.com/hello/feed.json")
	l, err := p.Listing(base)
	if err != nil {
		t.Fatal(err)
	}
	if l.App != "hello" || l.Serial != 42 || !l.Expires.Equal(p.Expires) || len(l.Releases) != 1 {
		t.Fatalf("listing: %+v", l)
	}
	r := l.Releases[0]
	if r.Version != "1.1.0" || !r.Published.Equal(p.Releases[0].Published) || len(r.Assets) != 2 {
		t.Fatalf("release: %+v", r)
	}
	a := r.Assets[0]
	if a.URL != "https://updates.example.com/hello/hello-1.1.0-linux-amd64" {
		t.Errorf("relative URL resolved to %s", a.URL)
	}
	if a.Digest.String() != "sha256:"+sha256hex("hello") || a.Size != 5 || a.OS != "linux" || a.Arch != "amd64" {
		t.Errorf("asset: %+v", a)
	}
	if b := r.Assets[1]; b.URL != "https://cdn.example.com/h.zip" || b.Executable != "hello.exe" {
		t.Errorf("absolute asset: %+v", b)
	}

	p.Releases[0].Assets[1].URL = "http://cdn.example.com/h.zip"
	if _, err := p.Listing(base); !errors.Is(err, source.ErrInsecureRedirect) {
		t.Errorf("https feed with an http asset: err = %v, want ErrInsecureRedirect", err)
	}
	p.Releases[0].Assets[1].URL = "file:///etc/passwd"
	if _, err := p.Listing(base); !errors.Is(err, source.ErrBadMetadata) {
		t.Errorf("file URL: err = %v, want ErrBadMetadata", err)
	}
}
