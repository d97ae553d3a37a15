package feed

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/molt-go/update/verify"
)

// Roots are the root keys a program pins, and the verifier it passes to
// the updater when its feeds are signed under a key hierarchy:
//
//	//go:embed root.pub
//	var rootPEM []byte
//
//	update.Options{..., Source: feed.New(url), Verifier: feed.MustRoots(rootPEM)}
//
// The feed Client, seeing a *Roots, fetches keys.json beside feed.json,
// checks it with VerifyKeyList against the roots and the key list it
// accepted before, and checks feed.json with the signing keys that list
// vouches for. Roots keeps that key list (and so the highest key list
// version seen, and the root set rotated to) in memory, for every source
// that uses it; the updater keeps the feed's key epoch per origin in its
// state file (source.Listing.KeyEpoch), so that a replay is refused
// across restarts too.
//
// Roots is a verify.Verifier: Verify checks a signature over anything else
// (an asset's cosign signature) with the signing keys of the last key list
// accepted that are valid now. It is safe for concurrent use.
type Roots struct {
	pinned *keyRing
	// now is the clock keys expire by; a test seam.
	now func() time.Time

	mu  sync.Mutex
	cur *TrustedKeys
}

var _ verify.Verifier = (*Roots)(nil)

// NewRoots returns the Roots for the given PEM public keys ("PUBLIC KEY",
// each argument may hold several blocks), of which threshold must sign a
// key list or a rotation of the roots. Pin the threshold the roots were
// made with (pkgserver root init -threshold): a lower one lets fewer
// stolen roots rotate to keys of the thief's choosing.
func NewRoots(threshold int, publicKeysPEM ...[]byte) (*Roots, error) {
	r := &keyRing{threshold: threshold, byID: make(map[string]*verify.Keys)}
	for i, blob := range publicKeysPEM {
		rest := blob
		n := 0
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			n++
			k, id, err := loadKey(string(pem.EncodeToMemory(block)), "")
			if err != nil {
				return nil, fmt.Errorf("feed: root key %d, PEM block %d: %w", i+1, n, err)
			}
			if r.byID[id] == nil {
				r.byID[id] = k
				r.ids = append(r.ids, id)
			}
		}
		if n == 0 || len(bytes.TrimSpace(rest)) > 0 {
			return nil, fmt.Errorf("feed: root key %d: %w: want PEM blocks and nothing else", i+1, verify.ErrKey)
		}
	}
	switch {
	case len(r.ids) == 0:
		return nil, fmt.Errorf("feed: roots: %w: no keys given", verify.ErrKey)
	case len(r.ids) > maxRootKeys:
		return nil, fmt.Errorf("feed: roots: %d keys, at most %d", len(r.ids), maxRootKeys)
	case threshold < 1 || threshold > len(r.ids):
		return nil, fmt.Errorf("feed: roots: threshold %d of %d keys", threshold, len(r.ids))
	}
	return &Roots{pinned: r, now: time.Now}, nil
}

// MustRoots is NewRoots with a threshold of one, for roots compiled into
// the program, which are known to be well formed; it panics otherwise.
func MustRoots(publicKeysPEM ...[]byte) *Roots {
	r, err := NewRoots(1, publicKeysPEM...)
	if err != nil {
		panic(err)
	}
	return r
}

// IDs returns the ids of the pinned root keys.
func (r *Roots) IDs() []string { return slices.Clone(r.pinned.ids) }

// Update checks keys.json with VerifyKeyList against the pinned roots and
// the key list accepted before, and keeps it if it verifies. It returns
// the key list now trusted. A key list older than the one kept is refused
// (ErrKeyListRollback) and the kept one stays.
func (r *Roots) Update(keysJSON []byte) (*TrustedKeys, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, err := VerifyKeyList(keysJSON, r, r.cur)
	if err != nil {
		return nil, err
	}
	r.cur = t
	return t, nil
}

// Trusted returns the key list accepted last, or nil.
func (r *Roots) Trusted() *TrustedKeys {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// Verify checks sig over message with the signing keys of the last key
// list accepted that are valid now. Before any key list, or when every
// key has expired, it fails with an error wrapping verify.ErrBadSignature.
func (r *Roots) Verify(message io.Reader, sig []byte) error {
	t := r.Trusted()
	if t == nil {
		return fmt.Errorf("feed: roots: no key list accepted yet: %w", verify.ErrBadSignature)
	}
	v, err := t.Verifier(r.now())
	if err != nil {
		return err
	}
	return v.Verify(message, sig)
}
