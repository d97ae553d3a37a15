package github

import (
	"bytes"
	"context"
	"strings"

	"github.com/molt-go/update/verify"
	"github.com/molt-go/update/verify/cosign"
)

// look is the state of one call to Releases.
type look struct {
	v      verify.Verifier
	files  map[int64]bool  // release files used, by asset ID
	attest map[string]bool // attestation lookups used, by hex sha256
}

// relFiles is one release's uploaded files.
type relFiles struct {
	tag    string
	byName map[string]ghAsset
	names  []string
	// note logs what a user should know about the release: at Info for
	// the newest release, at Debug for the older ones, so that a look does
	// not repeat the same news for each of them at every start.
	note func(msg string, args ...any)
}

func (rf relFiles) has(name string) bool { _, ok := rf.byName[name]; return ok }

// evidence is what vouches for a release's assets: the checksums files
// that were accepted (any, when there is no verifier), and the subjects of
// the attestations that were.
type evidence struct {
	sums     trustedSums
	subjects map[string]verify.Digest
}

// gather finds and checks what vouches for the release's assets, as the
// package documentation (Trust) describes. A signature that does not
// verify fails the look; evidence the verifier cannot read is left out.
func (s *Source) gather(ctx context.Context, rf relFiles, chosen []choice, lk *look) (evidence, error) {
	var ev evidence
	for _, name := range checksumsFiles(rf.names) {
		sums, err := s.checksumsFile(ctx, rf, name, lk)
		if err != nil {
			return ev, err
		}
		if sums != nil {
			ev.sums = append(ev.sums, sums)
		}
	}
	if av, ok := lk.v.(AttestationVerifier); ok {
		if err := s.attested(ctx, av, rf, chosen, &ev, lk); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// checksumsFile fetches one checksums file and, with a verifier, checks
// its signature: a signature file beside it that the verifier reads, for
// a CertificateVerifier a .sig with its certificate when there is none, or,
// for an InlineVerifier, a cleartext signature in the file itself. It
// returns nil, without an error, for a file nothing vouches for.
func (s *Source) checksumsFile(ctx context.Context, rf relFiles, name string, lk *look) (*verify.Checksums, error) {
	v := lk.v
	var sigName, certName string
	var sigData, certData []byte
	if v != nil {
		var err error
		if sigName, sigData, err = s.signatureFile(ctx, rf, name, lk); err != nil {
			return nil, err
		}
		if _, ok := v.(CertificateVerifier); ok && sigName == "" {
			if sigName, certName, sigData, certData, err = s.certifiedSignature(ctx, rf, name, lk); err != nil {
				return nil, err
			}
		}
		if _, inline := v.(InlineVerifier); sigName == "" && !inline {
			s.unsigned(rf, name)
			return nil, nil
		}
	}
	data, err := s.file(ctx, rf.byName[name], verify.MaxChecksumsSize, lk)
	if err != nil {
		return nil, err
	}
	body := data
	switch {
	case v == nil:
	case certName != "":
		if err := v.(CertificateVerifier).VerifyWithCertificate(ctx, bytes.NewReader(data), sigData, certData); err != nil {
			return nil, errorf(err, "release %s: %s does not verify with %s and %s", rf.tag, name, sigName, certName)
		}
		s.log.Debug("checksums file verified", "tag", rf.tag, "file", name, "signature", sigName, "certificate", certName)
	case sigName != "":
		if err := checkSignature(v, sigName, sigData, data); err != nil {
			return nil, errorf(err, "release %s: %s does not verify with %s", rf.tag, name, sigName)
		}
		s.log.Debug("checksums file verified", "tag", rf.tag, "file", name, "signature", sigName)
	case isClearsigned(data):
		if body, err = v.(InlineVerifier).VerifyInline(data); err != nil {
			return nil, errorf(err, "release %s: the cleartext signature of %s does not verify", rf.tag, name)
		}
		s.log.Debug("checksums file verified", "tag", rf.tag, "file", name, "signature", "inline")
	default:
		s.unsigned(rf, name)
		return nil, nil
	}
	sums, err := verify.ParseChecksums(body)
	if err != nil {
		rf.note("ignoring a checksums file that does not parse", "tag", rf.tag, "file", name, "err", err)
		return nil, nil
	}
	return sums, nil
}

// signatureFile returns the first signature file beside the file called
// name that v reads, and its bytes; "" if there is none. Files of another
// kind under the same ending (a keyless cosign signature for pinned keys,
// cosign's .sig for an OpenPGP verifier) are passed over: not evidence,
// and not a forgery either.
func (s *Source) signatureFile(ctx context.Context, rf relFiles, name string, lk *look) (string, []byte, error) {
	_, own := lk.v.(SignatureVerifier)
	for _, suf := range signatureSuffixes(lk.v) {
		ga, ok := rf.byName[name+suf]
		if !ok {
			continue
		}
		if !own && suf == ".sig" && keylessSignature(ga.Name, nil, rf.has) {
			rf.note("passing over a keyless signature: a pinned key cannot verify it", "tag", rf.tag, "file", ga.Name)
			continue
		}
		data, err := s.file(ctx, ga, MaxSignatureSize, lk)
		if err != nil {
			return "", nil, err
		}
		if !reads(lk.v, ga.Name, data, rf.has) {
			rf.note("passing over a signature file of another kind than the verifier reads", "tag", rf.tag, "file", ga.Name)
			continue
		}
		return ga.Name, data, nil
	}
	return "", nil, nil
}

// certifiedSignature returns the keyless signature beside the file
// called name that a CertificateVerifier reads, name.sig with its
// certificate, and their bytes; "" if there is none.
func (s *Source) certifiedSignature(ctx context.Context, rf relFiles, name string, lk *look) (sigName, certName string, sig, cert []byte, err error) {
	sigName = name + ".sig"
	if certName = certificateBeside(sigName, rf.has); !rf.has(sigName) || certName == "" {
		return "", "", nil, nil, nil
	}
	if sig, err = s.file(ctx, rf.byName[sigName], MaxSignatureSize, lk); err == nil {
		cert, err = s.file(ctx, rf.byName[certName], MaxSignatureSize, lk)
	}
	if err != nil {
		return "", "", nil, nil, err
	}
	return sigName, certName, sig, cert, nil
}

// unsigned logs that nothing the verifier reads vouches for a file, naming
// the signature files it has, so that whoever configures the verifier
// sees what the project publishes.
func (s *Source) unsigned(rf relFiles, name string) {
	var beside []string
	for _, n := range rf.names {
		if rest, ok := strings.CutPrefix(n, name+"."); ok && rest != "" {
			beside = append(beside, n)
		}
	}
	if len(beside) == 0 {
		s.log.Debug("checksums file is not signed; its digests are not trusted", "tag", rf.tag, "file", name)
		return
	}
	rf.note("checksums file is signed in a way this verifier does not read; its digests are not trusted",
		"tag", rf.tag, "file", name, "beside", strings.Join(beside, ", "))
}

// isClearsigned reports whether data is an OpenPGP cleartext-signed text.
func isClearsigned(data []byte) bool {
	return strings.HasPrefix(strings.TrimSpace(string(data[:min(len(data), 256)])), "-----BEGIN PGP SIGNED MESSAGE-----")
}

// assetSignature returns what goes in Asset.Signature for the asset called
// name: the signature file beside it that v reads, as it is for a
// SignatureVerifier, or cosign's raw signature. A cosign bundle records the
// digest it signed; when a trusted digest is known already, a bundle for
// other bytes is refused here rather than after the download.
func (s *Source) assetSignature(ctx context.Context, rf relFiles, name string, trusted verify.Digest, lk *look) ([]byte, error) {
	sigName, data, err := s.signatureFile(ctx, rf, name, lk)
	if err != nil || sigName == "" {
		return nil, err
	}
	if _, own := lk.v.(SignatureVerifier); own {
		return data, nil
	}
	sf, err := cosign.ParseSignatureFile(data)
	if err != nil {
		return nil, errorf(err, "release %s: signature %s", rf.tag, sigName)
	}
	if sameAlgorithm(sf.Digest, trusted) && sf.Digest.String() != trusted.String() {
		return nil, errorf(verify.ErrDigestMismatch, "release %s: signature %s is for %s, but %s is %s", rf.tag, sigName, sf.Digest, name, trusted)
	}
	return sf.Sig, nil
}

// sameAlgorithm reports whether two known digests can be compared.
func sameAlgorithm(a, b verify.Digest) bool {
	return !a.IsZero() && !b.IsZero() && a.Algorithm == b.Algorithm
}
