package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// KeyFile is keys.json as its publisher edits it, on the machine that
// holds the root keys: start a hierarchy (NewKeyFile), or read the current
// keys.json (ReadKeyFile); add, revoke or prune signing keys, rotate the
// roots; then Sign, which adds one to the version. pkgserver's root and
// key commands are this type on the command line.
type KeyFile struct {
	chain []Envelope
	sets  []*RootSet // chain's payloads, decoded
	list  KeyList
}

// NewKeyFile starts a key hierarchy whose roots are the given signers'
// keys, threshold of which must sign: the first root set (version 1),
// signed by every one of them, and an empty key list. Sign it to get the
// first keys.json.
func NewKeyFile(threshold int, roots ...*Signer) (*KeyFile, error) {
	rs, err := rootSetOf(1, threshold, roots)
	if err != nil {
		return nil, err
	}
	link, err := signedRootSet(rs, roots)
	if err != nil {
		return nil, err
	}
	return &KeyFile{chain: []Envelope{link}, sets: []*RootSet{rs}, list: KeyList{Type: keyListType}}, nil
}

// ReadKeyFile reads keys.json for editing. It checks that the document is
// consistent on its own: its first root set signed by a threshold of its
// own keys, each later one by a threshold of the one before and of its
// own, one version apart, and the key list by the last. It cannot check
// the document against roots a program pins; VerifyKeyList does that.
func ReadKeyFile(data []byte) (*KeyFile, error) {
	doc, err := readKeysDocument(data)
	if err != nil {
		return nil, err
	}
	f := &KeyFile{chain: doc.Roots}
	var prev *keyRing
	for i, link := range doc.Roots {
		if prev != nil && !prev.met(link.Payload, link.Signatures) {
			return nil, fmt.Errorf("key list: root set %d is not signed by %d keys of root set %d: %w",
				i+1, prev.threshold, prev.version, ErrNotRootSigned)
		}
		var rs RootSet
		if err := decodeJSON(link.Payload, &rs, true); err != nil {
			return nil, fmt.Errorf("key list: root set %d: %w", i+1, err)
		}
		ring, err := ringOf(&rs)
		if err != nil {
			return nil, fmt.Errorf("key list: root set %d: %w", i+1, err)
		}
		if rs.Version != int64(i+1) {
			return nil, fmt.Errorf("key list: root set %d has version %d", i+1, rs.Version)
		}
		if !ring.met(link.Payload, link.Signatures) {
			return nil, fmt.Errorf("key list: root set %d is not signed by %d of its own keys: %w", i+1, ring.threshold, ErrNotRootSigned)
		}
		f.sets = append(f.sets, &rs)
		prev = ring
	}
	if !prev.met(doc.Payload, doc.Signatures) {
		return nil, fmt.Errorf("key list: not signed by %d keys of root set %d: %w", prev.threshold, prev.version, ErrNotRootSigned)
	}
	kl, _, err := decodeKeyList(doc.Payload)
	if err != nil {
		return nil, err
	}
	f.list = *kl
	return f, nil
}

// List returns the key list as it will be signed (its Version is that of
// the last Sign).
func (f *KeyFile) List() KeyList {
	l := f.list
	l.Keys, l.Revoked = slices.Clone(l.Keys), slices.Clone(l.Revoked)
	return l
}

// Roots returns the root set in force: the last of the chain.
func (f *KeyFile) Roots() RootSet {
	rs := *f.sets[len(f.sets)-1]
	rs.Keys = slices.Clone(rs.Keys)
	return rs
}

// AddKey lists publicPEM (one PKIX "PUBLIC KEY" block) as a signing key
// until expires. Its epoch (Since) is the version the next Sign gives the
// list.
func (f *KeyFile) AddKey(publicPEM []byte, expires time.Time) (SigningKey, error) {
	_, id, err := loadKey(string(publicPEM), "")
	switch {
	case err != nil:
		return SigningKey{}, fmt.Errorf("feed: signing key: %w", err)
	case slices.ContainsFunc(f.list.Keys, func(k SigningKey) bool { return k.ID == id }):
		return SigningKey{}, fmt.Errorf("feed: signing key %s is listed already", id)
	case slices.Contains(f.list.Revoked, id):
		return SigningKey{}, fmt.Errorf("feed: signing key %s was revoked; a revoked key is never listed again", id)
	case len(f.list.Keys) >= maxSigningKeys:
		return SigningKey{}, fmt.Errorf("feed: %d signing keys listed already; revoke or prune some", len(f.list.Keys))
	case expires.IsZero():
		return SigningKey{}, errors.New("feed: signing key: no expiry")
	}
	k := SigningKey{ID: id, PEM: string(publicPEM), Since: f.list.Version + 1, Expires: expires.UTC().Truncate(time.Second)}
	f.list.Keys = append(f.list.Keys, k)
	return k, nil
}

// Revoke takes the signing key with this id off the list and records it
// as revoked, so that no later list can trust it again.
func (f *KeyFile) Revoke(id string) error {
	i := slices.IndexFunc(f.list.Keys, func(k SigningKey) bool { return k.ID == id })
	if i < 0 {
		return fmt.Errorf("feed: no signing key %q in the key list", id)
	}
	if len(f.list.Revoked) >= maxRevoked {
		return fmt.Errorf("feed: %d keys revoked already", len(f.list.Revoked))
	}
	f.list.Keys = slices.Delete(f.list.Keys, i, i+1)
	f.list.Revoked = append(f.list.Revoked, id)
	return nil
}

// Prune drops the signing keys that expired before cutoff and returns
// their ids. A key in the list after its expiry is only there to say so in
// clients' errors (ErrKeyExpired rather than ErrKeyNotListed).
func (f *KeyFile) Prune(cutoff time.Time) []string {
	var gone []string
	f.list.Keys = slices.DeleteFunc(f.list.Keys, func(k SigningKey) bool {
		if k.Expires.Before(cutoff) {
			gone = append(gone, k.ID)
			return true
		}
		return false
	})
	return gone
}

// RotateRoots makes next (threshold of them) the roots: it adds a root set
// to the chain, signed by old, which must be a threshold of the roots in
// force, and by every one of next. Sign the list with next afterwards.
// Programs that pin the old roots follow the chain to the new ones;
// programs built later pin the new ones.
func (f *KeyFile) RotateRoots(threshold int, old, next []*Signer) error {
	if len(f.chain) >= maxRootSets {
		return fmt.Errorf("feed: the chain has %d root sets, the most it may", len(f.chain))
	}
	cur := f.sets[len(f.sets)-1]
	rs, err := rootSetOf(cur.Version+1, threshold, next)
	if err != nil {
		return err
	}
	link, err := signedRootSet(rs, append(slices.Clone(old), next...))
	if err != nil {
		return err
	}
	ring, err := ringOf(cur)
	if err != nil {
		return err
	}
	if !ring.met(link.Payload, link.Signatures) {
		return fmt.Errorf("feed: rotating the roots needs %d of the current roots (%s): %w", ring.threshold, shortIDs(ring.ids), ErrNotRootSigned)
	}
	f.chain = append(f.chain, link)
	f.sets = append(f.sets, rs)
	return nil
}

// Sign adds one to the list's version, stamps it issued and signs it with
// roots, which must be a threshold of the roots in force. It returns
// keys.json.
func (f *KeyFile) Sign(issued time.Time, roots ...*Signer) ([]byte, error) {
	ring, err := ringOf(f.sets[len(f.sets)-1])
	if err != nil {
		return nil, err
	}
	l := f.List()
	l.Version++
	l.Issued = issued.UTC().Truncate(time.Second)
	payload, err := json.Marshal(&l)
	if err != nil {
		return nil, fmt.Errorf("feed: key list: %w", err)
	}
	sigs, err := signAll(payload, roots)
	if err != nil {
		return nil, err
	}
	if !ring.met(payload, sigs) {
		return nil, fmt.Errorf("feed: signing the key list needs %d of the current roots (%s): %w", ring.threshold, shortIDs(ring.ids), ErrNotRootSigned)
	}
	out, err := json.Marshal(&KeysDocument{Roots: f.chain, Payload: payload, Signatures: sigs})
	if err != nil {
		return nil, fmt.Errorf("feed: key list: %w", err)
	}
	out = append(out, '\n')
	// What is written must read back: a list that its own checks refuse
	// would lock every client out.
	if _, err := ReadKeyFile(out); err != nil {
		return nil, fmt.Errorf("feed: the signed key list does not check: %w", err)
	}
	f.list = l
	return out, nil
}

// rootSetOf is the root set of the signers' public keys.
func rootSetOf(version int64, threshold int, signers []*Signer) (*RootSet, error) {
	rs := &RootSet{Type: rootSetType, Version: version, Threshold: threshold}
	for _, s := range signers {
		if s == nil {
			return nil, errors.New("feed: root set: nil signer")
		}
		pub, err := s.PublicKeyPEM()
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(rs.Keys, func(k PublicKey) bool { return k.ID == s.KeyID() }) {
			return nil, fmt.Errorf("feed: root set: key %s given twice", s.KeyID())
		}
		rs.Keys = append(rs.Keys, PublicKey{ID: s.KeyID(), PEM: string(pub)})
	}
	if _, err := ringOf(rs); err != nil {
		return nil, fmt.Errorf("feed: root set: %w", err)
	}
	return rs, nil
}

func signedRootSet(rs *RootSet, signers []*Signer) (Envelope, error) {
	payload, err := json.Marshal(rs)
	if err != nil {
		return Envelope{}, fmt.Errorf("feed: root set: %w", err)
	}
	sigs, err := signAll(payload, signers)
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{Payload: payload, Signatures: sigs}, nil
}

// signAll signs payload with each distinct signer.
func signAll(payload []byte, signers []*Signer) ([]Signature, error) {
	var sigs []Signature
	for _, s := range signers {
		if s == nil {
			return nil, errors.New("feed: nil signer")
		}
		if slices.ContainsFunc(sigs, func(x Signature) bool { return x.KeyID == s.KeyID() }) {
			continue
		}
		if len(sigs) == maxSignatures {
			return nil, fmt.Errorf("feed: more than %d signers", maxSignatures)
		}
		sig, err := s.sign(payload)
		if err != nil {
			return nil, fmt.Errorf("feed: sign with key %s: %w", s.KeyID(), err)
		}
		sigs = append(sigs, Signature{KeyID: s.KeyID(), Sig: sig})
	}
	if len(sigs) == 0 {
		return nil, errors.New("feed: no signer")
	}
	return sigs, nil
}
