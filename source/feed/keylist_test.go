package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// hierarchy is a publisher's key hierarchy in a test: one root (unless
// made otherwise), the key file, its current keys.json and a clock.
type hierarchy struct {
	t       *testing.T
	roots   []*Signer
	rootPub [][]byte
	kf      *KeyFile
	keys    []byte // the last keys.json signed
	now     time.Time
}

var testNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func newSigner(t *testing.T) (*Signer, []byte) {
	t.Helper()
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, pub
}

// newHierarchy makes n roots of which threshold must sign, and signs the
// first key list (version 1, no signing keys).
func newHierarchy(t *testing.T, n, threshold int) *hierarchy {
	t.Helper()
	h := &hierarchy{t: t, now: testNow}
	for range n {
		s, pub := newSigner(t)
		h.roots = append(h.roots, s)
		h.rootPub = append(h.rootPub, pub)
	}
	kf, err := NewKeyFile(threshold, h.roots...)
	if err != nil {
		t.Fatal(err)
	}
	h.kf = kf
	h.sign(h.roots...)
	return h
}

// sign signs the key file with the given roots into h.keys.
func (h *hierarchy) sign(roots ...*Signer) []byte {
	h.t.Helper()
	b, err := h.kf.Sign(h.now, roots...)
	if err != nil {
		h.t.Fatal(err)
	}
	h.keys = b
	return b
}

// issue lists a new signing key valid for d and signs the list.
func (h *hierarchy) issue(d time.Duration) *Signer {
	h.t.Helper()
	s, pub := newSigner(h.t)
	if _, err := h.kf.AddKey(pub, h.now.Add(d)); err != nil {
		h.t.Fatal(err)
	}
	h.sign(h.roots...)
	return s
}

// pinned is what a program built now pins, with the test's clock.
func (h *hierarchy) pinned(threshold int) *Roots {
	h.t.Helper()
	r, err := NewRoots(threshold, h.rootPub...)
	if err != nil {
		h.t.Fatal(err)
	}
	r.now = func() time.Time { return h.now }
	return r
}

func signedFeed(t *testing.T, serial int64, signers ...*Signer) []byte {
	t.Helper()
	p := testPayload()
	p.Serial = serial
	b, err := Sign(p, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func update(t *testing.T, r *Roots, keys []byte) *TrustedKeys {
	t.Helper()
	tk, err := r.Update(keys)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	return tk
}

func TestHierarchyFeedVerifies(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k := h.issue(30 * 24 * time.Hour)
	r := h.pinned(1)
	tk := update(t, r, h.keys)
	if tk.Version != 2 || tk.RootVersion != 1 || len(tk.Keys()) != 1 || tk.Keys()[0].ID != k.KeyID() {
		t.Fatalf("trusted keys: version %d, roots %d, keys %+v", tk.Version, tk.RootVersion, tk.Keys())
	}
	p, epoch, err := tk.ParseFeed(signedFeed(t, 42, k), h.now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Serial != 42 || epoch != 2 {
		t.Errorf("serial %d, epoch %d; want 42, 2 (the list that first listed the key)", p.Serial, epoch)
	}
	// Parse with the Roots as verifier checks the same way.
	if _, err := Parse(signedFeed(t, 43, k), r); err != nil {
		t.Errorf("Parse with Roots: %v", err)
	}
}

func TestFeedSignedByRevokedKey(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k := h.issue(30 * 24 * time.Hour)
	if err := h.kf.Revoke(k.KeyID()); err != nil {
		t.Fatal(err)
	}
	h.sign(h.roots...)
	r := h.pinned(1)
	tk := update(t, r, h.keys)
	_, _, err := tk.ParseFeed(signedFeed(t, 42, k), h.now)
	if !errors.Is(err, ErrKeyRevoked) || !errors.Is(err, verify.ErrBadSignature) {
		t.Fatalf("err = %v, want ErrKeyRevoked (a bad signature)", err)
	}
	if _, err := Parse(signedFeed(t, 42, k), r); !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("Parse with Roots: err = %v, want ErrKeyRevoked", err)
	}
	// A revoked key is never listed again.
	pub, _ := k.PublicKeyPEM()
	if _, err := h.kf.AddKey(pub, h.now.Add(time.Hour)); err == nil {
		t.Error("a revoked key was listed again")
	}
}

func TestFeedSignedByExpiredKey(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k := h.issue(time.Hour)
	tk := update(t, h.pinned(1), h.keys)
	if _, _, err := tk.ParseFeed(signedFeed(t, 42, k), h.now.Add(59*time.Minute)); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	_, _, err := tk.ParseFeed(signedFeed(t, 42, k), h.now.Add(time.Hour))
	if !errors.Is(err, ErrKeyExpired) {
		t.Fatalf("err = %v, want ErrKeyExpired", err)
	}
}

func TestFeedSignedByKeyNoRootSigned(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	h.issue(time.Hour)
	stranger, _ := newSigner(t)
	tk := update(t, h.pinned(1), h.keys)
	_, _, err := tk.ParseFeed(signedFeed(t, 42, stranger), h.now)
	if !errors.Is(err, ErrKeyNotListed) {
		t.Fatalf("err = %v, want ErrKeyNotListed", err)
	}
	// A root key is not a signing key either.
	if _, _, err := tk.ParseFeed(signedFeed(t, 42, h.roots[0]), h.now); !errors.Is(err, ErrKeyNotListed) {
		t.Errorf("feed signed by the root: err = %v, want ErrKeyNotListed", err)
	}
}

func TestFeedSignatureForgedUnderListedKeyID(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k := h.issue(time.Hour)
	stranger, _ := newSigner(t)
	tk := update(t, h.pinned(1), h.keys)
	var env Envelope
	if err := json.Unmarshal(signedFeed(t, 42, stranger), &env); err != nil {
		t.Fatal(err)
	}
	env.Signatures[0].KeyID = k.KeyID() // claims to be the listed key
	data, _ := json.Marshal(&env)
	_, _, err := tk.ParseFeed(data, h.now)
	if !errors.Is(err, verify.ErrBadSignature) || errors.Is(err, ErrKeyNotListed) {
		t.Fatalf("err = %v, want a plain bad signature", err)
	}
}

// TestFeedUnderWrongKeyID: the key id is a hint. A listed key's signature
// under an id the list does not have verifies, as it does with the key
// pinned (FuzzParse found the two disagreeing); under a revoked key's id,
// or past the key's expiry, it does not.
func TestFeedUnderWrongKeyID(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k := h.issue(time.Hour)
	gone := h.issue(time.Hour)
	if err := h.kf.Revoke(gone.KeyID()); err != nil {
		t.Fatal(err)
	}
	h.sign(h.roots...)
	tk := update(t, h.pinned(1), h.keys)
	relabel := func(id string) []byte {
		var env Envelope
		if err := json.Unmarshal(signedFeed(t, 42, k), &env); err != nil {
			t.Fatal(err)
		}
		env.Signatures[0].KeyID = id
		data, _ := json.Marshal(&env)
		return data
	}
	if _, epoch, err := tk.ParseFeed(relabel("not-an-id"), h.now); err != nil || epoch == 0 {
		t.Errorf("a listed key's signature under another id: epoch %d, %v; want it verified", epoch, err)
	}
	if _, _, err := tk.ParseFeed(relabel(gone.KeyID()), h.now); !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("under a revoked key's id: %v, want ErrKeyRevoked", err)
	}
	if _, _, err := tk.ParseFeed(relabel("not-an-id"), h.now.Add(time.Hour)); !errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("under another id, past the key's expiry: %v, want a bad signature", err)
	}
}

func TestKeyListSignedByNonRoot(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k := h.issue(time.Hour)
	r := h.pinned(1)

	// A whole hierarchy of the attacker's own.
	evil := newHierarchy(t, 1, 1)
	evil.issue(time.Hour)
	if _, err := r.Update(evil.keys); !errors.Is(err, ErrNotRootSigned) {
		t.Errorf("another root's key list: err = %v, want ErrNotRootSigned", err)
	}

	// The real chain, with a payload the attacker signed with the
	// signing key it stole (adding a key of its own).
	var doc KeysDocument
	if err := json.Unmarshal(h.keys, &doc); err != nil {
		t.Fatal(err)
	}
	var kl KeyList
	if err := json.Unmarshal(doc.Payload, &kl); err != nil {
		t.Fatal(err)
	}
	_, evilPub := newSigner(t)
	_, evilID, err := loadKey(string(evilPub), "")
	if err != nil {
		t.Fatal(err)
	}
	kl.Keys = append(kl.Keys, SigningKey{ID: evilID, PEM: string(evilPub), Since: kl.Version, Expires: h.now.Add(time.Hour)})
	doc.Payload, _ = json.Marshal(&kl)
	sig, err := k.sign(doc.Payload)
	if err != nil {
		t.Fatal(err)
	}
	doc.Signatures = []Signature{{KeyID: k.KeyID(), Sig: sig}}
	forged, _ := json.Marshal(&doc)
	if _, err := r.Update(forged); !errors.Is(err, ErrNotRootSigned) {
		t.Errorf("list signed by a signing key: err = %v, want ErrNotRootSigned", err)
	}
	// Nothing was installed.
	if r.Trusted() != nil {
		t.Error("a refused key list was kept")
	}
}

func TestKeyListRollback(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k1 := h.issue(time.Hour) // v2
	old := h.keys
	if err := h.kf.Revoke(k1.KeyID()); err != nil {
		t.Fatal(err)
	}
	h.sign(h.roots...) // v3
	r := h.pinned(1)
	update(t, r, h.keys)
	_, err := r.Update(old)
	if !errors.Is(err, ErrKeyListRollback) {
		t.Fatalf("err = %v, want ErrKeyListRollback", err)
	}
	if tk := r.Trusted(); tk == nil || tk.Version != 3 {
		t.Fatalf("the kept key list changed: %+v", tk)
	}
	// The revoked key stays refused.
	if _, err := Parse(signedFeed(t, 42, k1), r); !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("after the rollback was refused: err = %v, want ErrKeyRevoked", err)
	}
	// The same version again is fine (a mirror serving it twice).
	if _, err := r.Update(h.keys); err != nil {
		t.Errorf("the same key list again: %v", err)
	}
}

// TestFastForwardAfterRotation: a stolen signing key signs a feed with the
// highest serial there is; once the key is revoked and replaced, its feed
// is refused and the new key's feeds carry a higher key epoch, which the
// updater orders before the serial (see update's admitKeyEpoch).
func TestFastForwardAfterRotation(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	stolen := h.issue(30 * 24 * time.Hour) // listed in v2
	r := h.pinned(1)
	update(t, r, h.keys)
	ff := signedFeed(t, math.MaxInt64, stolen)
	_, epochBefore, err := r.Trusted().ParseFeed(ff, h.now)
	if err != nil {
		t.Fatalf("before the revocation the stolen key is trusted: %v", err)
	}

	if err := h.kf.Revoke(stolen.KeyID()); err != nil {
		t.Fatal(err)
	}
	replacement, pub := newSigner(t)
	if _, err := h.kf.AddKey(pub, h.now.Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	h.sign(h.roots...) // v3: revoked the stolen key, listed the replacement
	tk := update(t, r, h.keys)

	if _, _, err := tk.ParseFeed(ff, h.now); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("the fast-forwarded feed after the revocation: err = %v, want ErrKeyRevoked", err)
	}
	p, epochAfter, err := tk.ParseFeed(signedFeed(t, testNow.Unix(), replacement), h.now)
	if err != nil {
		t.Fatal(err)
	}
	if epochAfter <= epochBefore || p.Serial >= math.MaxInt64 {
		t.Fatalf("epoch %d after the rotation, %d before: the new key's feed must order after the stolen key's", epochAfter, epochBefore)
	}
}

func TestRootRotationInstalls(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k := h.issue(time.Hour)
	oldPinned := h.pinned(1) // a program built before the rotation
	update(t, oldPinned, h.keys)

	newRoot, newPub := newSigner(t)
	if err := h.kf.RotateRoots(1, h.roots, []*Signer{newRoot}); err != nil {
		t.Fatal(err)
	}
	oldRoots := h.roots
	h.roots, h.rootPub = []*Signer{newRoot}, [][]byte{newPub}
	h.sign(newRoot)
	tk := update(t, oldPinned, h.keys)
	if tk.RootVersion != 2 || tk.Version != 3 {
		t.Fatalf("after the rotation: roots %d, version %d; want 2, 3", tk.RootVersion, tk.Version)
	}
	if _, _, err := tk.ParseFeed(signedFeed(t, 42, k), h.now); err != nil {
		t.Errorf("the signing key survives the rotation: %v", err)
	}
	// A fresh process of the old program walks the chain from the pinned
	// root, as a program built after the rotation starts at the new one.
	for name, r := range map[string]*Roots{"old program, restarted": mustRootsAt(t, h, oldRoots), "new program": h.pinned(1)} {
		if tk, err := r.Update(h.keys); err != nil || tk.RootVersion != 2 {
			t.Errorf("%s: %v, %+v", name, err, tk)
		}
	}

	// The old root, retired (stolen, say), signs a list of its own: a
	// client that followed the rotation refuses it.
	h.kf.list.Version = 100
	h.kf.sets = h.kf.sets[:1]
	h.kf.chain = h.kf.chain[:1]
	evil, err := h.kf.Sign(h.now, oldRoots...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oldPinned.Update(evil); !errors.Is(err, ErrNotRootSigned) {
		t.Errorf("the retired root's key list: err = %v, want ErrNotRootSigned", err)
	}
}

func mustRootsAt(t *testing.T, h *hierarchy, roots []*Signer) *Roots {
	t.Helper()
	var pems [][]byte
	for _, s := range roots {
		p, _ := s.PublicKeyPEM()
		pems = append(pems, p)
	}
	r, err := NewRoots(1, pems...)
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return h.now }
	return r
}

func TestRootRotationWithoutTheOldRoot(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	h.issue(time.Hour)
	r := h.pinned(1)
	// The attacker appends a root set signed only by its own key, and signs
	// the list with it.
	evilRoot, _ := newSigner(t)
	rs, err := rootSetOf(2, 1, []*Signer{evilRoot})
	if err != nil {
		t.Fatal(err)
	}
	link, err := signedRootSet(rs, []*Signer{evilRoot})
	if err != nil {
		t.Fatal(err)
	}
	h.kf.chain = append(h.kf.chain, link)
	h.kf.sets = append(h.kf.sets, rs)
	// Sign's own check would refuse it; build the document by hand.
	var doc KeysDocument
	json.Unmarshal(h.keys, &doc)
	doc.Roots = h.kf.chain
	sig, _ := evilRoot.sign(doc.Payload)
	doc.Signatures = []Signature{{KeyID: evilRoot.KeyID(), Sig: sig}}
	data, _ := json.Marshal(&doc)
	if _, err := r.Update(data); !errors.Is(err, ErrNotRootSigned) {
		t.Fatalf("err = %v, want ErrNotRootSigned", err)
	}
	if _, err := ReadKeyFile(data); !errors.Is(err, ErrNotRootSigned) {
		t.Errorf("ReadKeyFile: err = %v, want ErrNotRootSigned", err)
	}
	// RotateRoots refuses to make such a link.
	kf, err := ReadKeyFile(h.keys)
	if err != nil {
		t.Fatal(err)
	}
	if err := kf.RotateRoots(1, []*Signer{evilRoot}, []*Signer{evilRoot}); !errors.Is(err, ErrNotRootSigned) {
		t.Errorf("RotateRoots without the current root: err = %v", err)
	}
}

func TestRootThreshold(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 3, 2)
	k := h.issue(time.Hour)
	if _, err := h.kf.Sign(h.now, h.roots[0]); !errors.Is(err, ErrNotRootSigned) {
		t.Errorf("Sign with one of two roots: err = %v", err)
	}
	r := h.pinned(2)
	update(t, r, h.keys)

	// The same list with one root's signature, then with that one twice.
	var doc KeysDocument
	json.Unmarshal(h.keys, &doc)
	one := doc.Signatures[:1]
	for name, sigs := range map[string][]Signature{"one root": one, "one root twice": {one[0], one[0]}} {
		d := doc
		d.Signatures = sigs
		data, _ := json.Marshal(&d)
		if _, err := h.pinned(2).Update(data); !errors.Is(err, ErrNotRootSigned) {
			t.Errorf("%s: err = %v, want ErrNotRootSigned", name, err)
		}
	}
	if _, err := Parse(signedFeed(t, 1, k), r); err != nil {
		t.Errorf("feed under a 2-of-3 hierarchy: %v", err)
	}
	if _, err := NewRoots(4, h.rootPub...); err == nil {
		t.Error("a threshold above the number of roots was accepted")
	}
	if _, err := NewRoots(0, h.rootPub...); err == nil {
		t.Error("a zero threshold was accepted")
	}
}

// TestLegacyKeyAlongsideHierarchy: a server signs with its hierarchy key
// and with the key programs shipped before pin; both kinds verify.
func TestLegacyKeyAlongsideHierarchy(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k := h.issue(time.Hour)
	legacy, legacyKeys := newKey(t)
	data := signedFeed(t, 42, k, legacy)
	if _, err := Parse(data, legacyKeys); err != nil {
		t.Errorf("a program pinning the legacy key: %v", err)
	}
	tk := update(t, h.pinned(1), h.keys)
	if _, epoch, err := tk.ParseFeed(data, h.now); err != nil || epoch != 2 {
		t.Errorf("a program pinning the root: epoch %d, %v", epoch, err)
	}
	// Signed by the legacy key alone, the hierarchy refuses it.
	if _, _, err := tk.ParseFeed(signedFeed(t, 42, legacy), h.now); !errors.Is(err, ErrKeyNotListed) {
		t.Errorf("legacy-only feed with roots pinned: err = %v, want ErrKeyNotListed", err)
	}
}

func TestEpochIsTheNewestVerifyingKey(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k1 := h.issue(time.Hour) // since 2
	k2 := h.issue(time.Hour) // since 3
	tk := update(t, h.pinned(1), h.keys)
	for _, order := range [][]*Signer{{k1, k2}, {k2, k1}} {
		if _, epoch, err := tk.ParseFeed(signedFeed(t, 42, order...), h.now); err != nil || epoch != 3 {
			t.Errorf("signed by %s first: epoch %d, %v; want 3", order[0].KeyID()[:8], epoch, err)
		}
	}
}

func TestRootsVerifyOtherSignatures(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	k := h.issue(time.Hour)
	r := h.pinned(1)
	msg := []byte("an asset's bytes")
	sig, err := k.sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(bytes.NewReader(msg), sig); !errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("before any key list: err = %v, want ErrBadSignature", err)
	}
	update(t, r, h.keys)
	if err := r.Verify(bytes.NewReader(msg), sig); err != nil {
		t.Errorf("after the key list: %v", err)
	}
	h.now = h.now.Add(2 * time.Hour)
	if err := r.Verify(bytes.NewReader(msg), sig); !errors.Is(err, ErrKeyExpired) {
		t.Errorf("after the key expired: err = %v, want ErrKeyExpired", err)
	}
}

func TestKeyListMalformed(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	h.issue(time.Hour)
	var doc KeysDocument
	if err := json.Unmarshal(h.keys, &doc); err != nil {
		t.Fatal(err)
	}
	// resign replaces the payload, signed by the real root: what only a
	// publisher's mistake could produce.
	resign := func(edit func(*KeyList)) []byte {
		var kl KeyList
		json.Unmarshal(doc.Payload, &kl)
		edit(&kl)
		d := doc
		d.Payload, _ = json.Marshal(&kl)
		sig, _ := h.roots[0].sign(d.Payload)
		d.Signatures = []Signature{{KeyID: h.roots[0].KeyID(), Sig: sig}}
		b, _ := json.Marshal(&d)
		return b
	}
	for name, data := range map[string][]byte{
		"empty":          nil,
		"not json":       []byte("{"),
		"trailing data":  append(bytes.Clone(h.keys), []byte("{}")...),
		"unknown field":  []byte(strings.Replace(string(h.keys), `{"roots"`, `{"extra":1,"roots"`, 1)),
		"too large":      bytes.Repeat([]byte(" "), MaxKeyListSize+1),
		"no roots":       []byte(`{"roots":[],"payload":"e30=","signatures":[{"keyid":"x","sig":"eA=="}]}`),
		"wrong type":     resign(func(kl *KeyList) { kl.Type = "molt-feed" }),
		"zero version":   resign(func(kl *KeyList) { kl.Version = 0 }),
		"since too big":  resign(func(kl *KeyList) { kl.Keys[0].Since = kl.Version + 1 }),
		"wrong key id":   resign(func(kl *KeyList) { kl.Keys[0].ID = strings.Repeat("0", 64) }),
		"listed twice":   resign(func(kl *KeyList) { kl.Keys = append(kl.Keys, kl.Keys[0]) }),
		"listed+revoked": resign(func(kl *KeyList) { kl.Revoked = []string{kl.Keys[0].ID} }),
		"bad revoked id": resign(func(kl *KeyList) { kl.Revoked = []string{"nope"} }),
		"no expiry":      resign(func(kl *KeyList) { kl.Keys[0].Expires = time.Time{} }),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := VerifyKeyList(data, h.pinned(1), nil)
			if !errors.Is(err, source.ErrBadMetadata) {
				t.Errorf("err = %v, want ErrBadMetadata", err)
			}
		})
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 2, 2)
	k := h.issue(time.Hour)
	kf, err := ReadKeyFile(h.keys)
	if err != nil {
		t.Fatal(err)
	}
	if l := kf.List(); l.Version != 2 || len(l.Keys) != 1 || l.Keys[0].ID != k.KeyID() || l.Keys[0].Since != 2 {
		t.Errorf("list read back: %+v", l)
	}
	if rs := kf.Roots(); rs.Version != 1 || rs.Threshold != 2 || len(rs.Keys) != 2 {
		t.Errorf("roots read back: %+v", rs)
	}
	if gone := kf.Prune(h.now.Add(2 * time.Hour)); len(gone) != 1 || gone[0] != k.KeyID() {
		t.Errorf("Prune: %v", gone)
	}
	if _, err := ReadKeyFile(h.keys[:len(h.keys)/2]); !errors.Is(err, source.ErrBadMetadata) {
		t.Errorf("half a key list: %v", err)
	}
}

// TestRootRotationNotSignedByNewRoots: a root set the old roots signed but
// whose own keys did not (no proof that anyone holds them) is refused, so
// a rotation cannot hand the hierarchy to keys nobody controls.
func TestRootRotationNotSignedByNewRoots(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	h.issue(time.Hour)
	newRoot, _ := newSigner(t)
	rs, err := rootSetOf(2, 1, []*Signer{newRoot})
	if err != nil {
		t.Fatal(err)
	}
	link, err := signedRootSet(rs, h.roots) // the old root only
	if err != nil {
		t.Fatal(err)
	}
	var doc KeysDocument
	json.Unmarshal(h.keys, &doc)
	doc.Roots = append(doc.Roots, link)
	sig, _ := newRoot.sign(doc.Payload)
	doc.Signatures = []Signature{{KeyID: newRoot.KeyID(), Sig: sig}}
	data, _ := json.Marshal(&doc)
	if _, err := h.pinned(1).Update(data); !errors.Is(err, ErrNotRootSigned) {
		t.Fatalf("err = %v, want ErrNotRootSigned", err)
	}
}

// TestRetiredRootAfterRotatingBack: roots R1 -> R2 -> R1 again. A client
// that followed the chain to the last set must not walk back down it to
// R2 (retired, perhaps stolen) from the first link that names R1.
func TestRetiredRootAfterRotatingBack(t *testing.T) {
	t.Parallel()
	h := newHierarchy(t, 1, 1)
	h.issue(time.Hour)
	r1 := h.roots
	r2, _ := newSigner(t)
	if err := h.kf.RotateRoots(1, r1, []*Signer{r2}); err != nil {
		t.Fatal(err)
	}
	h.sign(r2)
	if err := h.kf.RotateRoots(1, []*Signer{r2}, r1); err != nil {
		t.Fatal(err)
	}
	h.sign(r1...)
	client := h.pinned(1)
	if tk := update(t, client, h.keys); tk.RootVersion != 3 {
		t.Fatalf("root version %d, want 3", tk.RootVersion)
	}
	// The thief of R2 serves the chain without its last link, and a newer
	// list it signed.
	var doc KeysDocument
	json.Unmarshal(h.keys, &doc)
	doc.Roots = doc.Roots[:2]
	var kl KeyList
	json.Unmarshal(doc.Payload, &kl)
	kl.Version += 10
	doc.Payload, _ = json.Marshal(&kl)
	sig, _ := r2.sign(doc.Payload)
	doc.Signatures = []Signature{{KeyID: r2.KeyID(), Sig: sig}}
	data, _ := json.Marshal(&doc)
	if _, err := client.Update(data); !errors.Is(err, ErrNotRootSigned) {
		t.Fatalf("a list by the retired root: err = %v, want ErrNotRootSigned", err)
	}
}
