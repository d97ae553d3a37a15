package feed

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// Fuzz targets for the parsers of untrusted bytes in this package: feed.json
// (FuzzParse) and keys.json (FuzzKeyList). Each takes the document as a
// mirror could send it and, to reach the decoders behind the signatures,
// a payload that the test signs with a fixed key: the publisher's mistakes
// must be refused as cleanly as a mirror's forgeries.

// fuzzSigner is a fixed ed25519 key, so that seeds and corpus files sign
// alike in every run.
func fuzzSigner(tb testing.TB, seed byte) *Signer {
	tb.Helper()
	s, err := NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func pubPEM(tb testing.TB, s *Signer) []byte {
	tb.Helper()
	p, err := s.PublicKeyPEM()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

var fuzzNow = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)

// fuzzHierarchy is a fixed root that lists signer, its keys.json and the
// Roots that pin it.
func fuzzHierarchy(tb testing.TB, signer *Signer) (*Signer, *KeyFile, []byte, *Roots) {
	tb.Helper()
	root := fuzzSigner(tb, 2)
	kf, err := NewKeyFile(1, root)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := kf.AddKey(pubPEM(tb, signer), fuzzNow.Add(time.Hour)); err != nil {
		tb.Fatal(err)
	}
	keysJSON, err := kf.Sign(fuzzNow, root)
	if err != nil {
		tb.Fatal(err)
	}
	roots := MustRoots(pubPEM(tb, root))
	roots.now = func() time.Time { return fuzzNow }
	return root, kf, keysJSON, roots
}

func FuzzParse(f *testing.F) {
	signer := fuzzSigner(f, 1)
	keys := verify.MustSignature(pubPEM(f, signer))
	_, _, keysJSON, roots := fuzzHierarchy(f, signer)
	tk, err := roots.Update(keysJSON)
	if err != nil {
		f.Fatal(err)
	}
	base, _ := url.Parse("https://example.com/hello/feed.json")

	valid, err := Sign(testPayload(), signer)
	if err != nil {
		f.Fatal(err)
	}
	payload, _ := json.Marshal(testPayload())
	f.Add(valid, payload)
	f.Add([]byte(`{"payload":"","signatures":[]}`), []byte(`{}`))
	f.Add([]byte(`{"payload":"e30=","signatures":[{"keyid":"","sig":""}]}`), []byte(`null`))
	f.Add([]byte(`{}`), []byte(`{"app":"a","serial":1,"issued":"2026-01-01T00:00:00Z","expires":"2026-01-02T00:00:00Z",`+
		`"releases":[{"version":"1.0.0","assets":[{"name":"a","size":1,"url":"https://x/a",`+
		`"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}]}]}`))
	f.Add([]byte(`[`), []byte(`{"app":"a","serial":1,"releases":[{"version":"v1"},{"version":"1.0.0"}]}`))

	f.Fuzz(func(t *testing.T, data, payload []byte) {
		// As a mirror sends it.
		unchecked, errNil := Parse(data, nil)
		p, errKeys := Parse(data, keys)
		_, _, errRoots := tk.ParseFeed(data, fuzzNow)
		if errKeys == nil && errNil != nil {
			t.Fatalf("verified but not parsable without a verifier: %v", errNil)
		}
		if (errKeys == nil) != (errRoots == nil) {
			t.Fatalf("the same key pinned and listed disagree: pinned %v, listed %v", errKeys, errRoots)
		}
		for _, err := range []error{errNil, errKeys, errRoots} {
			if err != nil && !errors.Is(err, source.ErrBadMetadata) && !errors.Is(err, verify.ErrBadSignature) {
				t.Fatalf("untyped error: %v", err)
			}
		}
		if errNil == nil {
			_, _ = unchecked.Listing(base)
		}
		if errKeys == nil {
			_, _ = p.Listing(base)
		}

		// The payload, signed: what the decoder and validate see.
		sig, err := signer.sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := json.Marshal(&Envelope{Payload: payload, Signatures: []Signature{{KeyID: signer.KeyID(), Sig: sig}}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(doc, keys)
		if len(payload) > 0 && errors.Is(err, verify.ErrBadSignature) {
			t.Fatalf("a good signature refused: %v", err)
		}
		if err != nil {
			return
		}
		// What Parse accepts, Sign accepts and Parse reads back alike.
		again, err := Sign(got, signer)
		if err != nil {
			t.Fatalf("Parse accepted a payload that Sign refuses: %v", err)
		}
		back, err := Parse(again, keys)
		if err != nil {
			t.Fatalf("a re-signed payload does not parse: %v", err)
		}
		j1, _ := json.Marshal(got)
		j2, _ := json.Marshal(back)
		if !bytes.Equal(j1, j2) {
			t.Fatalf("round trip changed the payload:\n%s\n%s", j1, j2)
		}
	})
}

func FuzzKeyList(f *testing.F) {
	signer := fuzzSigner(f, 1)
	root, kf, keysJSON, roots := fuzzHierarchy(f, signer)
	var doc KeysDocument
	if err := json.Unmarshal(keysJSON, &doc); err != nil {
		f.Fatal(err)
	}
	chain := doc.Roots
	f.Add(keysJSON, doc.Payload)
	_ = kf.Revoke(signer.KeyID())
	revoked, _ := kf.Sign(fuzzNow, root)
	var rdoc KeysDocument
	json.Unmarshal(revoked, &rdoc)
	f.Add(revoked, rdoc.Payload)
	f.Add([]byte(`{"roots":[],"payload":"","signatures":[]}`), []byte(`{"type":"molt-keys/v1","version":1,"issued":"2026-01-01T00:00:00Z","keys":[]}`))
	f.Add([]byte(`{"roots":[{"payload":"e30=","signatures":[{"keyid":"a","sig":"YQ=="}]}],"payload":"e30=","signatures":[{"keyid":"a","sig":"YQ=="}]}`),
		[]byte(`{"type":"molt-keys/v1","version":9,"issued":"2026-01-01T00:00:00Z","keys":[{"id":"x","pem":"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n","since":1,"expires":"2027-01-01T00:00:00Z"}],"revoked":["zz"]}`))

	f.Fuzz(func(t *testing.T, data, payload []byte) {
		check := func(data []byte, prev *TrustedKeys) (*TrustedKeys, error) {
			tk, err := VerifyKeyList(data, roots, prev)
			if err != nil {
				if !errors.Is(err, source.ErrBadMetadata) && !errors.Is(err, verify.ErrBadSignature) && !errors.Is(err, ErrKeyListRollback) {
					t.Fatalf("untyped error: %v", err)
				}
				return nil, err
			}
			if tk.Version < 1 || (prev != nil && tk.Version < prev.Version) {
				t.Fatalf("accepted version %d after %v", tk.Version, prev)
			}
			_ = tk.Keys()
			_ = tk.RootIDs()
			_, _ = tk.Verifier(fuzzNow)
			return tk, nil
		}
		// As a mirror sends it.
		check(data, nil)
		_, _ = ReadKeyFile(data)

		// The payload behind the root's good signature.
		sig, err := root.sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := json.Marshal(&KeysDocument{Roots: chain, Payload: payload, Signatures: []Signature{{KeyID: root.KeyID(), Sig: sig}}})
		if err != nil {
			t.Fatal(err)
		}
		tk, err := check(signed, nil)
		if len(payload) > 0 && errors.Is(err, ErrNotRootSigned) {
			t.Fatalf("the root's good signature refused: %v", err)
		}
		if err != nil {
			return
		}
		// Accepted by a client, readable by the publisher's tools, and
		// their next list is accepted after it.
		kf, err := ReadKeyFile(signed)
		if err != nil {
			t.Fatalf("a client accepts what ReadKeyFile refuses: %v", err)
		}
		next, err := kf.Sign(fuzzNow, root)
		if err != nil {
			t.Fatalf("Sign of an accepted list: %v", err)
		}
		if got, err := check(next, tk); err != nil || got.Version != tk.Version+1 {
			t.Fatalf("the next list: %v, %v", got, err)
		}
		// And the same list is a rollback after its successor.
		if _, err := VerifyKeyList(signed, roots, &TrustedKeys{Version: tk.Version + 1, roots: tk.roots}); !errors.Is(err, ErrKeyListRollback) {
			t.Fatalf("an older list after a newer one: %v", err)
		}
	})
}
