package github

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// maxAttestations caps how many attestations of one digest are tried: a
// release workflow makes one or two (provenance, an SBOM); each try costs
// a signature check, so a repository cannot make a look try thousands.
const maxAttestations = 16

// attested asks the attestations API about the asset for this machine
// and, if that leaves it unvouched, about the checksums files, and keeps
// the subjects of the attestations av accepts. Attestations av refuses
// (another workflow's, another signer's) are passed over with a warning:
// they are not evidence, but not a forgery of this repository's either.
func (s *Source) attested(ctx context.Context, av AttestationVerifier, rf relFiles, chosen []choice, ev *evidence, lk *look) error {
	vouched := func(name string) bool {
		d, _ := ev.sums.lookup(name)
		_, ok := ev.subjects[name]
		return ok || !d.IsZero()
	}
	i := slices.IndexFunc(chosen, choice.host)
	if i < 0 || vouched(chosen[i].name) {
		// Nothing to install here, or a signed checksums file did it.
		return nil
	}
	host := chosen[i].name
	d, err := s.candidateDigest(ctx, rf, host, lk)
	if err != nil {
		return err
	}
	if !d.IsZero() {
		if err := s.attest(ctx, av, rf, host, d, ev, lk); err != nil || vouched(host) {
			return err
		}
	}
	for _, name := range checksumsFiles(rf.names) {
		ga := rf.byName[name]
		d, _ := verify.ParseDigest(ga.Digest)
		if d.Algorithm != verify.SHA256 {
			data, err := s.file(ctx, ga, verify.MaxChecksumsSize, lk)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			d = verify.Digest{Algorithm: verify.SHA256, Sum: sum[:]}
		}
		if err := s.attest(ctx, av, rf, name, d, ev, lk); err != nil {
			return err
		}
		if got, ok := ev.subjects[name]; ok && got.String() == d.String() {
			data, err := s.file(ctx, ga, verify.MaxChecksumsSize, lk)
			if err != nil {
				return err
			}
			if err := verify.Reader(bytes.NewReader(data), d); err != nil {
				return errorf(err, "release %s: %s is not the file its attestation is for", rf.tag, name)
			}
			if sums, err := verify.ParseChecksums(data); err == nil {
				ev.sums = append(ev.sums, sums)
			}
		}
	}
	return nil
}

// candidateDigest is the digest to ask the attestations API about for the
// asset called name: GitHub's own, or, for assets older than GitHub's
// digests, the one an unverified checksums file gives. Either is only a
// question; the answer is trusted only if its attestation verifies.
func (s *Source) candidateDigest(ctx context.Context, rf relFiles, name string, lk *look) (verify.Digest, error) {
	if d, err := verify.ParseDigest(rf.byName[name].Digest); err == nil && d.Algorithm == verify.SHA256 {
		return d, nil
	}
	for _, f := range checksumsFiles(rf.names) {
		data, err := s.file(ctx, rf.byName[f], verify.MaxChecksumsSize, lk)
		if err != nil {
			return verify.Digest{}, err
		}
		if sums, err := verify.ParseChecksums(data); err == nil {
			if d, err := sums.Lookup(name); err == nil && d.Algorithm == verify.SHA256 {
				return d, nil
			}
		}
	}
	return verify.Digest{}, nil
}

// attest verifies the attestations of the file called name, whose digest
// is d, and adds the subjects of the first that av accepts to ev.
func (s *Source) attest(ctx context.Context, av AttestationVerifier, rf relFiles, name string, d verify.Digest, ev *evidence, lk *look) error {
	bundles, err := s.attestations(ctx, d, lk)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range bundles {
		subjects, err := av.VerifyAttestation(b, d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ev.subjects == nil {
			ev.subjects = map[string]verify.Digest{}
		}
		for n, sd := range subjects {
			if old, ok := ev.subjects[n]; ok && old.String() != sd.String() {
				return errorf(verify.ErrDigestMismatch, "release %s: attestations disagree on %s", rf.tag, n)
			}
			ev.subjects[n] = sd
		}
		s.log.Debug("attestation verified", "tag", rf.tag, "file", name, "subjects", len(subjects))
		return nil
	}
	if len(errs) > 0 {
		rf.note("no attestation of this file verifies; it is not trusted", "tag", rf.tag, "file", name, "err", errors.Join(errs...))
	}
	return nil
}

// attestationsAnswer is the body of GET .../attestations/{digest}. GitHub
// used to put each Sigstore bundle in it; it now gives a bundle_url, a
// pre-signed link to the bundle, snappy-compressed, on its storage host.
type attestationsAnswer struct {
	Attestations []struct {
		Bundle    json.RawMessage `json:"bundle"`
		BundleURL string          `json:"bundle_url"`
	} `json:"attestations"`
}

// attestations returns the Sigstore bundles (JSON) the repository's
// attestations API has for the sha256 digest d, asked once and kept (see
// cache.attestation).
func (s *Source) attestations(ctx context.Context, d verify.Digest, lk *look) ([][]byte, error) {
	hexSum := hex.EncodeToString(d.Sum)
	lk.attest[hexSum] = true
	now := time.Now()
	if e, ok := s.cache.attestation(hexSum, now); ok {
		return raws(e.Bundles), nil
	}
	doing := "asking for the attestations of sha256:" + hexSum
	a, err := s.getAPI(ctx, fmt.Sprintf("repos/%s/%s/attestations/sha256:%s", s.owner, s.repo, hexSum), "", doing)
	if err != nil {
		return nil, err
	}
	e := attestEntry{Checked: now}
	if a.status == http.StatusOK {
		var ans attestationsAnswer
		if err := decode(a, &ans, doing); err != nil {
			return nil, err
		}
		for i, at := range ans.Attestations {
			if i == maxAttestations {
				break
			}
			b := bytes.TrimSpace(at.Bundle)
			if (len(b) == 0 || string(b) == "null") && at.BundleURL != "" {
				if b, err = s.fetchBundle(ctx, at.BundleURL); err != nil {
					return nil, err
				}
			}
			if len(b) > 0 && string(b) != "null" {
				e.Bundles = append(e.Bundles, json.RawMessage(b))
			}
		}
	}
	s.cache.putAttestation(hexSum, e)
	return raws(e.Bundles), nil
}

func raws(ms []json.RawMessage) [][]byte {
	out := make([][]byte, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}

// fetchBundle downloads an attestation bundle from its bundle_url, without
// the token (it is a pre-signed link to another host), and undoes the
// snappy compression GitHub stores it with. A bundle served as plain JSON
// is taken as it is.
func (s *Source) fetchBundle(ctx context.Context, rawURL string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: github: attestation bundle_url: %v", source.ErrBadMetadata, err)
	}
	a, err := s.fetchMeta(ctx, req, MaxMetadataSize, "downloading an attestation bundle")
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, s.statusError(a.status, "downloading an attestation bundle", fmt.Sprint(a.status))
	}
	if t := bytes.TrimSpace(a.body); len(t) > 0 && t[0] == '{' {
		return t, nil
	}
	// s2 reads snappy's block format, and DecodedLen says the size before
	// anything is allocated, so a bomb is refused for the cost of a header.
	n, err := s2.DecodedLen(a.body)
	if err != nil {
		return nil, fmt.Errorf("%w: github: attestation bundle is neither JSON nor snappy: %v", source.ErrBadMetadata, err)
	}
	if n > MaxMetadataSize {
		return nil, fmt.Errorf("%w: github: attestation bundle of %d bytes", ErrTooLarge, n)
	}
	out, err := s2.Decode(nil, a.body)
	if err != nil {
		return nil, fmt.Errorf("%w: github: attestation bundle: %v", source.ErrBadMetadata, err)
	}
	return out, nil
}
