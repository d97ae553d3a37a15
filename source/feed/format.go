package feed

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// MaxFeedSize is the largest feed.json Parse accepts, in bytes. A feed of a
// thousand releases for twenty platforms each is about 8 MiB; the cap keeps a
// hostile mirror from making a client read, decode and hold an unbounded
// document before the signature has even been checked.
const MaxFeedSize = 16 << 20

// maxSignatures caps how many signatures Parse tries. Key rotation needs two
// or three; each try costs a public-key operation, so a hostile mirror must
// not be able to make a client try thousands.
const maxSignatures = 8

// Payload is the signed part of a feed: which releases an app has, and the
// name, size and digest of each of their files.
type Payload struct {
	// App is the application the feed is for. The updater refuses a feed
	// signed for another app, so one key can sign feeds for several apps.
	App string `json:"app"`
	// Serial never goes down from one feed of an app to the next; the
	// updater refuses a feed older than the newest it has seen.
	Serial int64 `json:"serial"`
	// Issued is when the feed was signed.
	Issued time.Time `json:"issued"`
	// Expires is when the feed stops being valid, so a mirror that froze
	// cannot keep serving it.
	Expires time.Time `json:"expires"`
	// Releases in any order.
	Releases []Release `json:"releases"`
	// Pins hold chosen machines (by install ID or label) at a version.
	Pins []Pin `json:"pins,omitempty"`
	// Withdrawn versions are taken back: machines running one go back to
	// the release before it.
	Withdrawn []string `json:"withdrawn,omitempty"`
}

// Rollout stages a release over a fleet (see source.Rollout): phases of a
// percentage and the time it applies from, or, paused or without phases,
// a plain percentage.
type Rollout struct {
	Phases  []Phase `json:"phases,omitempty"`
	Paused  bool    `json:"paused,omitempty"`
	Percent float64 `json:"percent,omitempty"`
}

// Phase is one step of a rollout.
type Phase struct {
	Percent float64   `json:"percent"`
	Start   time.Time `json:"start"`
}

// Pin holds machines at a version.
type Pin struct {
	Version    string   `json:"version"`
	InstallIDs []string `json:"install_ids,omitempty"`
	Labels     []string `json:"labels,omitempty"`
}

// Release is one version in a feed.
type Release struct {
	// Version is a semantic version such as 1.2.0 or 1.3.0-rc.1.
	Version string `json:"version"`
	// Published is when the release was made; it may be zero.
	Published time.Time `json:"published,omitzero"`
	// Notes are the release notes; they may be empty.
	Notes string `json:"notes,omitempty"`
	// Assets are the release's files.
	Assets []Asset `json:"assets"`
	// Rollout, if set, stages the release; absent, every machine is
	// offered it.
	Rollout *Rollout `json:"rollout,omitempty"`
}

// Asset is one file of a release.
type Asset struct {
	// Name is the file name; it has no '/' and is not "." or "..", so it
	// can name a file next to the feed.
	Name string `json:"name"`
	// OS and Arch are the platform in GOOS/GOARCH terms (Arch may be an arm
	// variant such as armv7); empty means the updater matches the name.
	OS   string `json:"os,omitempty"`
	Arch string `json:"arch,omitempty"`
	// Size is the file's exact size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex sha256 of the file.
	SHA256 string `json:"sha256"`
	// URL locates the file, relative to the feed's URL (usually just the
	// name) or absolute.
	URL string `json:"url"`
	// Executable is the executable's name inside an archive asset.
	Executable string `json:"executable,omitempty"`
	// Patches make this asset's executable from earlier ones'.
	Patches []Patch `json:"patches,omitempty"`
}

// Patch is a binary patch (package delta) in a feed: from the executable
// whose sha256 is From to this asset's executable (ToSize bytes, sha256
// ToSHA256); the patch file itself is Size bytes with sha256 SHA256, at
// URL relative to the feed like an asset's.
type Patch struct {
	From     string `json:"from_sha256"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	URL      string `json:"url"`
	ToSize   int64  `json:"to_size"`
	ToSHA256 string `json:"to_sha256"`
}

// Envelope is feed.json as served: the payload's exact bytes and the
// signatures over them, in one document so that one GET returns both.
type Envelope struct {
	// Payload is the JSON of a Payload, base64 in the document.
	Payload []byte `json:"payload"`
	// Signatures are over Payload's bytes, one per signing key.
	Signatures []Signature `json:"signatures"`
}

// Signature is one signature in an Envelope.
type Signature struct {
	// KeyID is the hex sha256 of the signer's PKIX public key. It is a hint
	// for people and logs; the verifier tries the signature with every key
	// it pins, and a key list with every key it lists when none has this id
	// (a revoked id is refused).
	KeyID string `json:"keyid"`
	// Sig is the raw signature, base64 in the document.
	Sig []byte `json:"sig"`
}

// Sign checks p and returns feed.json for it, signed by every signer given
// (more than one while keys rotate).
func Sign(p *Payload, signers ...*Signer) ([]byte, error) {
	if len(signers) == 0 || slices.Contains(signers, nil) {
		return nil, errors.New("feed: sign: no signer, or a nil one")
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("feed: sign: %w", err)
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("feed: sign: %w", err)
	}
	env := Envelope{Payload: payload}
	for _, s := range signers {
		sig, err := s.sign(payload)
		if err != nil {
			return nil, fmt.Errorf("feed: sign with key %s: %w", s.KeyID(), err)
		}
		env.Signatures = append(env.Signatures, Signature{KeyID: s.KeyID(), Sig: sig})
	}
	out, err := json.Marshal(&env)
	if err != nil {
		return nil, fmt.Errorf("feed: sign: %w", err)
	}
	return append(out, '\n'), nil
}

// Parse reads feed.json. It checks the signatures with v before it looks at
// the payload, so no byte of an unsigned payload is ever interpreted; one
// signature that v accepts is enough. A nil v skips the check: the caller
// asked to run without verification.
//
// The envelope is strict: unknown fields or trailing data are an error,
// because the envelope is not signed and anything in it that this code does
// not understand could only mislead. The payload is lenient about unknown
// fields, because it is signed: only the publisher can add them, and newer
// publishers may add optional fields that older clients ignore.
//
// Errors wrap source.ErrBadMetadata for a document that is empty, too large
// or malformed, and verify.ErrBadSignature when no signature verifies. With
// a *Roots as v, the feed must be signed by a signing key of the last key
// list that v accepted (see Roots.Update), and the errors say why a key is
// refused: ErrKeyRevoked, ErrKeyExpired, ErrKeyNotListed.
func Parse(data []byte, v verify.Verifier) (*Payload, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: feed is empty", source.ErrBadMetadata)
	}
	if len(data) > MaxFeedSize {
		return nil, fmt.Errorf("%w: feed is larger than %d bytes", source.ErrBadMetadata, MaxFeedSize)
	}
	var env Envelope
	if err := decodeJSON(data, &env, true); err != nil {
		return nil, fmt.Errorf("%w: feed envelope: %v", source.ErrBadMetadata, err)
	}
	if len(env.Payload) == 0 {
		return nil, fmt.Errorf("%w: feed has no payload", source.ErrBadMetadata)
	}
	if v != nil {
		// A *Roots checks with the signing keys its key list vouches
		// for (keylist.go); any other verifier with its own keys.
		if err := checkEnvelope(&env, v); err != nil {
			return nil, err
		}
	}
	var p Payload
	if err := decodeJSON(env.Payload, &p, false); err != nil {
		return nil, fmt.Errorf("%w: feed payload: %v", source.ErrBadMetadata, err)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

func checkSignatures(env *Envelope, v verify.Verifier) error {
	n := len(env.Signatures)
	switch {
	case n == 0:
		return fmt.Errorf("feed: unsigned: %w", verify.ErrBadSignature)
	case n > maxSignatures:
		return fmt.Errorf("%w: feed has %d signatures, more than %d", source.ErrBadMetadata, n, maxSignatures)
	}
	ids := make([]string, 0, n)
	for _, s := range env.Signatures {
		if v.Verify(bytes.NewReader(env.Payload), s.Sig) == nil {
			return nil
		}
		ids = append(ids, s.KeyID)
	}
	pinned := "the verifier's keys"
	if k, ok := v.(interface{ IDs() []string }); ok {
		pinned = strings.Join(k.IDs(), ", ")
	}
	return fmt.Errorf("feed: no signature by a pinned key (signed by %s; pinned: %s): %w",
		strings.Join(ids, ", "), pinned, verify.ErrBadSignature)
}

// decodeJSON decodes exactly one JSON value from data into v.
func decodeJSON(data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the document")
	}
	return nil
}

// validate checks what the updater relies on; errors wrap
// source.ErrBadMetadata.
func (p *Payload) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: feed: %s", source.ErrBadMetadata, fmt.Sprintf(format, args...))
	}
	if !ValidName(p.App) {
		return bad("app name %q is empty or not a plain name", p.App)
	}
	if p.Serial <= 0 {
		return bad("serial %d is not positive", p.Serial)
	}
	if p.Issued.IsZero() || !p.Expires.After(p.Issued) {
		return bad("expiry %s is not after issue %s", p.Expires.Format(time.RFC3339), p.Issued.Format(time.RFC3339))
	}
	versions := make(map[string]bool, len(p.Releases))
	for _, r := range p.Releases {
		v, err := semver.NewVersion(r.Version)
		if err != nil {
			return bad("release %q: %v", r.Version, err)
		}
		// Two releases of one version would let the order of the list
		// decide which files the updater takes.
		if versions[v.String()] {
			return bad("release %q listed twice", r.Version)
		}
		versions[v.String()] = true
		for _, a := range r.Assets {
			switch {
			case !ValidName(a.Name):
				return bad("release %s: asset name %q is empty or not a plain name", r.Version, a.Name)
			case a.Size <= 0:
				return bad("asset %s: size %d is not positive", a.Name, a.Size)
			case !validSHA256(a.SHA256):
				return bad("asset %s: sha256 %q is not 64 hex digits", a.Name, a.SHA256)
			case a.URL == "":
				return bad("asset %s: no url", a.Name)
			}
		}
		if err := r.Rollout.validate(); err != nil {
			return bad("release %s: rollout: %v", r.Version, err)
		}
	}
	return p.validateFleet(versions)
}

// validate checks a release's rollout: fractions from 0 to 100, phases
// that start at known times, in time order. A nil rollout is valid.
func (r *Rollout) validate() error {
	if r == nil {
		return nil
	}
	percent := func(f float64) bool { return f >= 0 && f <= 100 } // false for NaN
	if !percent(r.Percent) {
		return fmt.Errorf("percent %v is not from 0 to 100", r.Percent)
	}
	for i, ph := range r.Phases {
		switch {
		case !percent(ph.Percent):
			return fmt.Errorf("phase %d: percent %v is not from 0 to 100", i+1, ph.Percent)
		case ph.Start.IsZero():
			return fmt.Errorf("phase %d has no start", i+1)
		case i > 0 && !ph.Start.After(r.Phases[i-1].Start):
			return fmt.Errorf("phase %d starts at %s, not after phase %d", i+1, ph.Start.Format(time.RFC3339), i)
		}
	}
	return nil
}

// validateFleet checks pins and withdrawn versions: real versions, pins
// that name someone, and no release both listed and withdrawn (a client
// not running it would still be offered it).
func (p *Payload) validateFleet(listed map[string]bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: feed: %s", source.ErrBadMetadata, fmt.Sprintf(format, args...))
	}
	for _, pin := range p.Pins {
		if _, err := semver.NewVersion(pin.Version); err != nil {
			return bad("pin at %q: %v", pin.Version, err)
		}
		if len(pin.InstallIDs) == 0 && len(pin.Labels) == 0 {
			return bad("pin at %s names no install ID and no label", pin.Version)
		}
	}
	for _, w := range p.Withdrawn {
		v, err := semver.NewVersion(w)
		if err != nil {
			return bad("withdrawn version %q: %v", w, err)
		}
		if listed[v.String()] {
			return bad("release %s is both listed and withdrawn", w)
		}
	}
	return nil
}

// ValidName reports whether s can name a file in a folder and a segment of
// a URL path without leaving it.
func ValidName(s string) bool {
	return s != "" && s != "." && !strings.Contains(s, "..") &&
		!strings.ContainsAny(s, "/\\\x00")
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// Listing converts p to the source types, resolving asset URLs against
// base, the URL that feed.json was fetched from. An asset URL that would go
// from https to plain http is refused with an error wrapping
// source.ErrInsecureRedirect, as a redirect would be.
func (p *Payload) Listing(base *url.URL) (*source.Listing, error) {
	if base == nil || !base.IsAbs() {
		return nil, fmt.Errorf("feed: listing needs an absolute base URL, got %v", base)
	}
	l := &source.Listing{App: p.App, Serial: p.Serial, Expires: p.Expires, Withdrawn: p.Withdrawn}
	for _, pin := range p.Pins {
		l.Pins = append(l.Pins, source.Pin{Version: pin.Version, InstallIDs: pin.InstallIDs, Labels: pin.Labels})
	}
	for _, r := range p.Releases {
		sr := source.Release{Version: r.Version, Published: r.Published, Notes: r.Notes}
		if ro := r.Rollout; ro != nil {
			sr.Rollout = &source.Rollout{Paused: ro.Paused, Percent: ro.Percent}
			for _, ph := range ro.Phases {
				sr.Rollout.Phases = append(sr.Rollout.Phases, source.Phase{Percent: ph.Percent, Start: ph.Start})
			}
		}
		for _, a := range r.Assets {
			u, err := resolveURL(base, a.Name, a.URL)
			if err != nil {
				return nil, err
			}
			sum, err := hex.DecodeString(a.SHA256)
			if err != nil {
				return nil, fmt.Errorf("%w: asset %s: sha256: %v", source.ErrBadMetadata, a.Name, err)
			}
			sa := source.Asset{
				Name:       a.Name,
				OS:         a.OS,
				Arch:       a.Arch,
				Size:       a.Size,
				Digest:     verify.Digest{Algorithm: verify.SHA256, Sum: sum},
				URL:        u,
				Executable: a.Executable,
			}
			for _, pt := range a.Patches {
				sp, err := pt.source(base)
				if err != nil {
					return nil, fmt.Errorf("asset %s: %w", a.Name, err)
				}
				sa.Patches = append(sa.Patches, sp)
			}
			sr.Assets = append(sr.Assets, sa)
		}
		l.Releases = append(l.Releases, sr)
	}
	return l, nil
}

// resolveURL resolves a file's URL against base, the feed's URL, refusing
// schemes other than http(s) and a step down from https to http.
func resolveURL(base *url.URL, name, ref string) (string, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("%w: %s: url: %v", source.ErrBadMetadata, name, err)
	}
	u := base.ResolveReference(r)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%w: %s: url scheme %q", source.ErrBadMetadata, name, u.Scheme)
	case base.Scheme == "https" && u.Scheme == "http":
		return "", fmt.Errorf("%w: %s at %s", source.ErrInsecureRedirect, name, u.Redacted())
	}
	return u.String(), nil
}

// source converts a feed patch, resolving its URL against base.
func (p Patch) source(base *url.URL) (source.Patch, error) {
	var digests [3][]byte
	for i, h := range []string{p.From, p.SHA256, p.ToSHA256} {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			return source.Patch{}, fmt.Errorf("%w: patch %s: sha256 %q", source.ErrBadMetadata, p.Name, h)
		}
		digests[i] = b
	}
	if !ValidName(p.Name) || p.Size <= 0 || p.ToSize < 0 {
		return source.Patch{}, fmt.Errorf("%w: patch %q: bad name or size", source.ErrBadMetadata, p.Name)
	}
	u, err := resolveURL(base, p.Name, p.URL)
	if err != nil {
		return source.Patch{}, err
	}
	d := func(b []byte) verify.Digest { return verify.Digest{Algorithm: verify.SHA256, Sum: b} }
	return source.Patch{From: d(digests[0]), Name: p.Name, Size: p.Size, Digest: d(digests[1]), URL: u, ToSize: p.ToSize, To: d(digests[2])}, nil
}
