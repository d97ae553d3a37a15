package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// KeysFile is the name of the key list, served beside feed.json
// (.../<app>/keys.json) and at the root of the feed folder.
const KeysFile = "keys.json"

// MaxKeyListSize is the largest keys.json accepted, in bytes. A list of
// maxSigningKeys keys and a chain of maxRootSets root sets of maxRootKeys
// keys each is about 200 KiB; the cap keeps a hostile mirror from making a
// client read an unbounded document before any signature is checked.
const MaxKeyListSize = 1 << 20

// The document types, so that no signed document can pass for another.
const (
	keyListType = "molt-keys/v1"
	rootSetType = "molt-roots/v1"
)

// Bounds on what a key list may hold, each far above what a publisher
// needs and low enough that a hostile document costs little to refuse.
const (
	// maxRootSets bounds the chain of root sets: a rotation every year
	// for thirty years.
	maxRootSets = 32
	// maxRootKeys bounds one root set; a threshold can therefore always
	// be met within maxSignatures signatures.
	maxRootKeys = maxSignatures
	// maxSigningKeys bounds the signing keys listed at once.
	maxSigningKeys = 64
	// maxRevoked bounds the revoked key ids kept.
	maxRevoked = 1024
)

// Errors of the key hierarchy, to be tested with errors.Is. All but
// ErrKeyListRollback wrap verify.ErrBadSignature, so code that tests for
// a bad signature (or update.ErrNotVerified) keeps working.
var (
	// ErrKeyRevoked means the feed is signed only by keys that the key
	// list revoked.
	ErrKeyRevoked = fmt.Errorf("%w: signing key revoked", verify.ErrBadSignature)
	// ErrKeyExpired means the feed is signed only by keys whose time in
	// the key list has passed.
	ErrKeyExpired = fmt.Errorf("%w: signing key expired", verify.ErrBadSignature)
	// ErrKeyNotListed means no signature of the feed is by a key in the
	// key list: a key no root signed.
	ErrKeyNotListed = fmt.Errorf("%w: signing key not in the key list", verify.ErrBadSignature)
	// ErrNotRootSigned means the key list is not signed by a threshold of
	// the roots the program trusts (pinned, or rotated to from them).
	ErrNotRootSigned = fmt.Errorf("%w: key list not signed by the trusted roots", verify.ErrBadSignature)
	// ErrKeyListRollback means the key list's version is lower than that
	// of a key list accepted before: an old list is being replayed,
	// perhaps to bring a revoked key back.
	ErrKeyListRollback = errors.New("feed: key list older than one accepted before")
)

// KeysDocument is keys.json as served: the chain of root sets, then the
// key list's payload and the roots' signatures over it. Like a feed's
// envelope it is strict, and nothing in it is interpreted before a
// signature by keys already trusted vouches for it.
//
//	{"roots":[{"payload":"<base64 RootSet>","signatures":[...]}, ...],
//	 "payload":"<base64 KeyList>",
//	 "signatures":[{"keyid":"<root key id>","sig":"<base64>"}]}
type KeysDocument struct {
	// Roots are the root sets, oldest first. The first is self-signed;
	// each later one is signed by a threshold of the one before it (the
	// rotation's authority) and by a threshold of its own keys (proof
	// that its holders have them).
	Roots []Envelope `json:"roots"`
	// Payload is the JSON of a KeyList.
	Payload []byte `json:"payload"`
	// Signatures are the current roots' signatures over Payload.
	Signatures []Signature `json:"signatures"`
}

// RootSet is the signed payload of one link of the chain of roots.
type RootSet struct {
	// Type is "molt-roots/v1".
	Type string `json:"type"`
	// Version counts root sets from 1; each link is one more than the
	// one before.
	Version int64 `json:"version"`
	// Threshold is how many of Keys must sign a key list, and the next
	// root set.
	Threshold int `json:"threshold"`
	// Keys are the root public keys.
	Keys []PublicKey `json:"keys"`
}

// PublicKey is a public key with its id.
type PublicKey struct {
	// ID is KeyID of the key: the hex sha256 of its PKIX DER form.
	ID string `json:"id"`
	// PEM is the key as a PKIX "PUBLIC KEY" PEM block.
	PEM string `json:"pem"`
}

// KeyList is the signed payload of keys.json: the keys that may sign
// feeds, and those that no longer may.
type KeyList struct {
	// Type is "molt-keys/v1".
	Type string `json:"type"`
	// Version never goes down: a client refuses a key list older than one
	// it accepted (ErrKeyListRollback). Each change adds one.
	Version int64 `json:"version"`
	// Issued is when the list was signed.
	Issued time.Time `json:"issued"`
	// Keys are the signing keys.
	Keys []SigningKey `json:"keys"`
	// Revoked are the ids of keys that must not be trusted again.
	Revoked []string `json:"revoked,omitempty"`
}

// SigningKey is one key that may sign feeds until it expires.
type SigningKey struct {
	// ID is KeyID of the key.
	ID string `json:"id"`
	// PEM is the key as a PKIX "PUBLIC KEY" PEM block.
	PEM string `json:"pem"`
	// Since is the version of the key list that first listed the key: the
	// key's epoch. A feed's counter is compared within an epoch; a feed
	// signed by a newer key starts a new one (see source.Listing.KeyEpoch).
	Since int64 `json:"since"`
	// Expires is when the key stops being trusted.
	Expires time.Time `json:"expires"`
}

// keyRing is a set of public keys by id, each with a verifier of its own,
// and the threshold of them that must sign.
type keyRing struct {
	version   int64 // the root set's version; 0 for the pinned roots
	threshold int
	ids       []string
	byID      map[string]*verify.Keys
}

// loadKey parses one PEM public key, which must have the given id (empty:
// any).
func loadKey(pemText, id string) (*verify.Keys, string, error) {
	k, err := verify.Signature([]byte(pemText))
	if err != nil {
		return nil, "", err
	}
	ids := k.IDs()
	if len(ids) != 1 {
		return nil, "", fmt.Errorf("%d keys where one was expected", len(ids))
	}
	if id != "" && ids[0] != id {
		return nil, "", fmt.Errorf("key id %q is not the key's (%s)", id, ids[0])
	}
	return k, ids[0], nil
}

// met reports whether at least threshold distinct keys of r made valid
// signatures over payload. A key counts once however many signatures
// name it; a signature naming a key not in r is passed over.
func (r *keyRing) met(payload []byte, sigs []Signature) bool {
	counted := make(map[string]bool, len(sigs))
	n := 0
	for _, s := range sigs {
		k := r.byID[s.KeyID]
		if k == nil || counted[s.KeyID] {
			continue
		}
		if k.Verify(bytes.NewReader(payload), s.Sig) == nil {
			counted[s.KeyID] = true
			if n++; n >= r.threshold {
				return true
			}
		}
	}
	return false
}

// ringOf turns a decoded root set into a keyRing, checking it.
func ringOf(rs *RootSet) (*keyRing, error) {
	switch {
	case rs.Type != rootSetType:
		return nil, fmt.Errorf("type %q is not %q", rs.Type, rootSetType)
	case rs.Version <= 0:
		return nil, fmt.Errorf("version %d is not positive", rs.Version)
	case len(rs.Keys) == 0 || len(rs.Keys) > maxRootKeys:
		return nil, fmt.Errorf("%d keys; between 1 and %d are allowed", len(rs.Keys), maxRootKeys)
	case rs.Threshold < 1 || rs.Threshold > len(rs.Keys):
		return nil, fmt.Errorf("threshold %d of %d keys", rs.Threshold, len(rs.Keys))
	}
	r := &keyRing{version: rs.Version, threshold: rs.Threshold, byID: make(map[string]*verify.Keys, len(rs.Keys))}
	for _, pk := range rs.Keys {
		k, id, err := loadKey(pk.PEM, pk.ID)
		if err != nil {
			return nil, fmt.Errorf("root key %.16s: %v", pk.ID, err)
		}
		if r.byID[id] != nil {
			return nil, fmt.Errorf("root key %.16s listed twice", id)
		}
		r.byID[id] = k
		r.ids = append(r.ids, id)
	}
	return r, nil
}

// readKeysDocument decodes keys.json's outer document, strictly and within
// its bounds; nothing signed is interpreted yet.
func readKeysDocument(data []byte) (*KeysDocument, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: key list: %s", source.ErrBadMetadata, fmt.Sprintf(format, args...))
	}
	if len(data) == 0 {
		return nil, bad("empty")
	}
	if len(data) > MaxKeyListSize {
		return nil, bad("larger than %d bytes", MaxKeyListSize)
	}
	var doc KeysDocument
	if err := decodeJSON(data, &doc, true); err != nil {
		return nil, bad("%v", err)
	}
	switch {
	case len(doc.Roots) == 0:
		return nil, bad("no root sets")
	case len(doc.Roots) > maxRootSets:
		return nil, bad("%d root sets, more than %d", len(doc.Roots), maxRootSets)
	case len(doc.Payload) == 0:
		return nil, bad("no payload")
	case len(doc.Signatures) == 0:
		return nil, fmt.Errorf("key list: unsigned: %w", ErrNotRootSigned)
	case len(doc.Signatures) > maxSignatures:
		return nil, bad("%d signatures, more than %d", len(doc.Signatures), maxSignatures)
	}
	for i, l := range doc.Roots {
		if len(l.Payload) == 0 || len(l.Signatures) == 0 || len(l.Signatures) > maxSignatures {
			return nil, bad("root set %d has no payload, or no signatures, or more than %d", i+1, maxSignatures)
		}
	}
	return &doc, nil
}

// decodeRootSet decodes a root set whose signatures were checked.
func decodeRootSet(payload []byte) (*keyRing, error) {
	var rs RootSet
	if err := decodeJSON(payload, &rs, true); err != nil {
		return nil, fmt.Errorf("%w: root set: %v", source.ErrBadMetadata, err)
	}
	r, err := ringOf(&rs)
	if err != nil {
		return nil, fmt.Errorf("%w: root set %d: %v", source.ErrBadMetadata, rs.Version, err)
	}
	return r, nil
}

// decodeKeyList decodes and checks a key list whose signatures were
// checked. It is strict: a field this code does not know could restrict
// a key, and ignoring it would trust the key more than its publisher
// meant.
func decodeKeyList(payload []byte) (*KeyList, []trustedKey, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: key list: %s", source.ErrBadMetadata, fmt.Sprintf(format, args...))
	}
	var kl KeyList
	if err := decodeJSON(payload, &kl, true); err != nil {
		return nil, nil, bad("%v", err)
	}
	switch {
	case kl.Type != keyListType:
		return nil, nil, bad("type %q is not %q", kl.Type, keyListType)
	case kl.Version <= 0:
		return nil, nil, bad("version %d is not positive", kl.Version)
	case kl.Issued.IsZero():
		return nil, nil, bad("no issue time")
	case len(kl.Keys) > maxSigningKeys:
		return nil, nil, bad("%d keys, more than %d", len(kl.Keys), maxSigningKeys)
	case len(kl.Revoked) > maxRevoked:
		return nil, nil, bad("%d revoked keys, more than %d", len(kl.Revoked), maxRevoked)
	}
	revoked := make(map[string]bool, len(kl.Revoked))
	for _, id := range kl.Revoked {
		if !validSHA256(id) {
			return nil, nil, bad("revoked key id %q is not 64 hex digits", id)
		}
		revoked[id] = true
	}
	keys := make([]trustedKey, 0, len(kl.Keys))
	seen := make(map[string]bool, len(kl.Keys))
	for _, sk := range kl.Keys {
		v, id, err := loadKey(sk.PEM, sk.ID)
		switch {
		case err != nil:
			return nil, nil, bad("key %.16s: %v", sk.ID, err)
		case seen[id]:
			return nil, nil, bad("key %.16s listed twice", id)
		case revoked[id]:
			return nil, nil, bad("key %.16s is both listed and revoked", id)
		case sk.Since < 1 || sk.Since > kl.Version:
			return nil, nil, bad("key %.16s: since %d is not between 1 and the list's version %d", id, sk.Since, kl.Version)
		case sk.Expires.IsZero():
			return nil, nil, bad("key %.16s has no expiry", id)
		}
		seen[id] = true
		keys = append(keys, trustedKey{SigningKey: sk, v: v})
	}
	return &kl, keys, nil
}

// trustedKey is a signing key of an accepted key list.
type trustedKey struct {
	SigningKey
	v *verify.Keys
}

// TrustedKeys is what VerifyKeyList accepted: the signing keys a key list
// vouches for, and the state to check the next key list against (its
// version and the root set in force). It is immutable.
type TrustedKeys struct {
	// Version is the key list's version.
	Version int64
	// RootVersion is the version of the root set that signed it.
	RootVersion int64
	// Issued is when the key list was signed.
	Issued time.Time

	roots   *keyRing
	keys    []trustedKey
	revoked map[string]bool
}

// VerifyKeyList is the key hierarchy's trust rule, pure as go-tuf's
// trusted metadata is: keys.json's bytes, the pinned roots and what was
// accepted before (prev, nil for none) in; the verdict and the trusted
// signing keys, which are also the next state, out.
//
// The walk: starting from prev's root set (or the pinned roots), each
// root set of the chain signed by a threshold of the trusted set and
// newer than it becomes the trusted set, once a threshold of its own keys
// has signed it too; other links are passed over (they are older than the
// roots trusted, or not the program's). The key list must then be signed
// by a threshold of the trusted set (else ErrNotRootSigned) and have a
// version no lower than prev's (else ErrKeyListRollback). Malformed
// documents wrap source.ErrBadMetadata.
//
// The key list itself does not expire; each signing key does, and whether
// a key is still valid is asked when a feed is checked (ParseFeed).
func VerifyKeyList(data []byte, roots *Roots, prev *TrustedKeys) (*TrustedKeys, error) {
	if roots == nil || roots.pinned == nil {
		return nil, errors.New("feed: key list: no pinned roots")
	}
	doc, err := readKeysDocument(data)
	if err != nil {
		return nil, err
	}
	trusted, floor := roots.pinned, int64(0)
	if prev != nil {
		trusted, floor = prev.roots, prev.Version
	}
	for _, link := range doc.Roots {
		if !trusted.met(link.Payload, link.Signatures) {
			continue
		}
		next, err := decodeRootSet(link.Payload)
		if err != nil {
			return nil, err
		}
		if next.version <= trusted.version {
			continue
		}
		if !next.met(link.Payload, link.Signatures) {
			return nil, fmt.Errorf("key list: root set %d is signed by the roots before it but not by %d of its own keys: %w",
				next.version, next.threshold, ErrNotRootSigned)
		}
		trusted = next
	}
	if !trusted.met(doc.Payload, doc.Signatures) {
		var by []string
		for _, s := range doc.Signatures {
			by = append(by, shortID(s.KeyID))
		}
		return nil, fmt.Errorf("key list: not signed by %d of the trusted roots (signed by %s; trusted: %s): %w",
			trusted.threshold, strings.Join(by, ", "), shortIDs(trusted.ids), ErrNotRootSigned)
	}
	kl, keys, err := decodeKeyList(doc.Payload)
	if err != nil {
		return nil, err
	}
	if kl.Version < floor {
		return nil, fmt.Errorf("key list version %d, accepted %d before: %w", kl.Version, floor, ErrKeyListRollback)
	}
	revoked := make(map[string]bool, len(kl.Revoked))
	for _, id := range kl.Revoked {
		revoked[id] = true
	}
	return &TrustedKeys{
		Version: kl.Version, RootVersion: trusted.version, Issued: kl.Issued,
		roots: trusted, keys: keys, revoked: revoked,
	}, nil
}

// Keys returns every signing key the list names, valid or expired.
func (t *TrustedKeys) Keys() []SigningKey {
	out := make([]SigningKey, len(t.keys))
	for i, k := range t.keys {
		out[i] = k.SigningKey
	}
	return out
}

// RootIDs returns the ids of the root set in force.
func (t *TrustedKeys) RootIDs() []string { return slices.Clone(t.roots.ids) }

// Verifier returns the verifier of the keys valid at now, for signatures
// over other things than the feed (such as an asset's cosign signature).
// With none valid, it is an error wrapping ErrKeyExpired.
func (t *TrustedKeys) Verifier(now time.Time) (*verify.Keys, error) {
	var pems [][]byte
	for _, k := range t.keys {
		if now.Before(k.Expires) {
			pems = append(pems, []byte(k.PEM))
		}
	}
	if len(pems) == 0 {
		return nil, fmt.Errorf("feed: no signing key of key list %d is valid at %s: %w", t.Version, now.UTC().Format(time.RFC3339), ErrKeyExpired)
	}
	return verify.Signature(pems...)
}

// check verifies a feed's envelope with the keys valid at now and returns
// the feed's key epoch: the highest Since of the keys whose signatures
// verify. Every signature is tried (there are at most maxSignatures), so
// the epoch does not depend on their order.
func (t *TrustedKeys) check(env *Envelope, now time.Time) (int64, error) {
	n := len(env.Signatures)
	switch {
	case n == 0:
		return 0, fmt.Errorf("feed: unsigned: %w", ErrKeyNotListed)
	case n > maxSignatures:
		return 0, fmt.Errorf("%w: feed has %d signatures, more than %d", source.ErrBadMetadata, n, maxSignatures)
	}
	var epoch int64
	var revoked, expired, unlisted, failed []string
	for _, s := range env.Signatures {
		i := slices.IndexFunc(t.keys, func(k trustedKey) bool { return k.ID == s.KeyID })
		if i < 0 && !t.revoked[s.KeyID] {
			// The key id is a hint (Signature.KeyID), as it is for pinned
			// keys: a signature under an id the list does not have is tried
			// with each listed key still in force, so that a feed that
			// verifies with a key pinned verifies with the same key listed.
			i = slices.IndexFunc(t.keys, func(k trustedKey) bool {
				return now.Before(k.Expires) && k.v.Verify(bytes.NewReader(env.Payload), s.Sig) == nil
			})
		}
		switch {
		case t.revoked[s.KeyID]:
			revoked = append(revoked, shortID(s.KeyID))
		case i < 0:
			unlisted = append(unlisted, shortID(s.KeyID))
		case !now.Before(t.keys[i].Expires):
			expired = append(expired, fmt.Sprintf("%s (expired %s)", shortID(s.KeyID), t.keys[i].Expires.UTC().Format(time.RFC3339)))
		case t.keys[i].v.Verify(bytes.NewReader(env.Payload), s.Sig) != nil:
			failed = append(failed, shortID(s.KeyID))
		default:
			epoch = max(epoch, t.keys[i].Since)
		}
	}
	if epoch > 0 {
		return epoch, nil
	}
	why := ErrKeyNotListed
	switch {
	case len(revoked) > 0:
		why = ErrKeyRevoked
	case len(expired) > 0:
		why = ErrKeyExpired
	case len(failed) > 0:
		why = verify.ErrBadSignature
	}
	var parts []string
	for _, p := range []struct {
		what string
		ids  []string
	}{{"revoked", revoked}, {"expired", expired}, {"not in the key list", unlisted}, {"not verifying", failed}} {
		if len(p.ids) > 0 {
			parts = append(parts, p.what+": "+strings.Join(p.ids, ", "))
		}
	}
	return 0, fmt.Errorf("feed: no signature by a valid key of key list %d (%s): %w", t.Version, strings.Join(parts, "; "), why)
}

// ParseFeed is Parse for a feed signed under the key hierarchy: the
// signatures are checked with t's keys valid at now, and the feed's key
// epoch is returned with it, for source.Listing.KeyEpoch.
func (t *TrustedKeys) ParseFeed(data []byte, now time.Time) (*Payload, int64, error) {
	fc := &feedCheck{t: t, now: now}
	p, err := Parse(data, fc)
	if err != nil {
		return nil, 0, err
	}
	return p, fc.epoch, nil
}

// feedCheck carries a key list into Parse; checkEnvelope recognises it.
type feedCheck struct {
	t     *TrustedKeys
	now   time.Time
	epoch int64
}

// Verify is never called: checkEnvelope checks a feedCheck's envelope
// itself. It refuses, in case something else ever calls it.
func (*feedCheck) Verify(io.Reader, []byte) error {
	return fmt.Errorf("%w: a key list checks feeds only", verify.ErrBadSignature)
}

// checkEnvelope checks a feed's signatures with v: a key hierarchy's
// signing keys for a *Roots, and v's own keys otherwise.
func checkEnvelope(env *Envelope, v verify.Verifier) error {
	switch k := v.(type) {
	case *feedCheck:
		epoch, err := k.t.check(env, k.now)
		k.epoch = epoch
		return err
	case *Roots:
		t := k.Trusted()
		if t == nil {
			return fmt.Errorf("feed: the verifier pins roots but no key list was accepted yet (fetch %s and pass it to Roots.Update first): %w",
				KeysFile, verify.ErrBadSignature)
		}
		_, err := t.check(env, k.now())
		return err
	}
	return checkSignatures(env, v)
}

// shortID shortens a key id for messages; an id that is not hex (it came
// from an unsigned envelope) is quoted, so it cannot forge a log line.
func shortID(id string) string {
	if len(id) > 16 {
		id = id[:16]
	}
	if id == "" {
		return "(no key id)"
	}
	if strings.Trim(id, "0123456789abcdef") != "" {
		return strconv.Quote(id)
	}
	return id
}

func shortIDs(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = shortID(id)
	}
	return strings.Join(out, ", ")
}
