package github

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/molt-go/update/internal/ghfake"
	"github.com/molt-go/update/verify"
)

// fakeSig is a SignatureVerifier of a made-up kind: a signature file holds
// "signed:<hex sha256 of the message>". It stands in for verify/minisign,
// verify/pgp and verify/sigstore, which this module's tests do not import
// (their dependencies would become this module's); e2e runs the real ones.
type fakeSig struct {
	suffixes []string
	reads    func([]byte) bool // nil: reads everything
}

func fakeSign(data []byte) []byte {
	sum := sha256.Sum256(data)
	return []byte("signed:" + hex.EncodeToString(sum[:]))
}

func (f fakeSig) SignatureSuffixes() []string { return f.suffixes }

func (f fakeSig) Verify(message io.Reader, sig []byte) error {
	data, err := io.ReadAll(message)
	if err != nil {
		return err
	}
	if !bytes.Equal(sig, fakeSign(data)) {
		return fmt.Errorf("%w: fake signature does not match", verify.ErrBadSignature)
	}
	return nil
}

// fakeReads is fakeSig with a Reads method.
type fakeReads struct{ fakeSig }

func (f fakeReads) Reads(sig []byte) bool { return bytes.HasPrefix(sig, []byte("signed:")) }

// fakeInline is a verifier of files that carry their own fake signature,
// framed as an OpenPGP cleartext signature: the text, then
// "signed:<hex of text>" as the signature block.
type fakeInline struct{ fakeSig }

const (
	fakeBegin = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
	fakeSigAt = "-----BEGIN PGP SIGNATURE-----\n"
)

func fakeInlineSign(text []byte) []byte {
	return []byte(fakeBegin + string(text) + fakeSigAt + string(fakeSign(text)) + "\n-----END PGP SIGNATURE-----\n")
}

func (fakeInline) VerifyInline(data []byte) ([]byte, error) {
	body, ok := bytes.CutPrefix(data, []byte(fakeBegin))
	text, sig, ok2 := bytes.Cut(body, []byte(fakeSigAt))
	if !ok || !ok2 || !bytes.HasPrefix(sig, fakeSign(text)) {
		return nil, fmt.Errorf("%w: fake inline signature", verify.ErrBadSignature)
	}
	return text, nil
}

// fakeAttest is an AttestationVerifier: an attestation is
// "attests:<name>=<hex>,<name>=<hex>" and is good if it names the
// artifact's digest.
type fakeAttest struct{ fakeSig }

func fakeAttestation(subjects map[string][]byte) []byte {
	var parts []string
	for name, data := range subjects {
		sum := sha256.Sum256(data)
		parts = append(parts, name+"="+hex.EncodeToString(sum[:]))
	}
	return []byte(`{"fake":"attests:` + strings.Join(parts, ",") + `"}`)
}

func (fakeAttest) VerifyAttestation(bundle []byte, artifact verify.Digest) (map[string]verify.Digest, error) {
	body, ok := bytes.CutPrefix(bundle, []byte(`{"fake":"attests:`))
	if !ok {
		return nil, fmt.Errorf("%w: not a fake attestation", verify.ErrBadSignature)
	}
	out := map[string]verify.Digest{}
	found := false
	for _, p := range strings.Split(strings.TrimSuffix(string(body), `"}`), ",") {
		name, h, _ := strings.Cut(p, "=")
		d, err := verify.ParseDigest("sha256:" + h)
		if err != nil {
			return nil, err
		}
		out[name] = d
		found = found || d.String() == artifact.String()
	}
	if !found {
		return nil, fmt.Errorf("%w: not about this artifact", verify.ErrBadSignature)
	}
	return out, nil
}

// fakeCert is a CertificateVerifier too: a .sig with its certificate is
// good if the signature is fakeSign's and the certificate says
// "cert:good".
type fakeCert struct{ fakeSig }

func (f fakeCert) VerifyWithCertificate(ctx context.Context, message io.Reader, sig, cert []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if string(cert) != "cert:good" {
		return fmt.Errorf("%w: fake certificate %q", verify.ErrBadSignature, cert)
	}
	return f.Verify(message, sig)
}

// sumsOf writes a checksums file for files, GNU style.
func sumsOf(files ...ghfake.File) []byte {
	var b strings.Builder
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), f.Name)
	}
	return []byte(b.String())
}

// noDigests is files as assets uploaded before GitHub computed digests.
func noDigests(files []ghfake.File) []ghfake.File {
	out := append([]ghfake.File(nil), files...)
	for i := range out {
		out[i].Digest = "-"
	}
	return out
}

// bsdSums writes a BSD-style checksums file with sha512 and sha256 lines.
func bsdSums(files ...ghfake.File) []byte {
	var b strings.Builder
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		fmt.Fprintf(&b, "SHA512 (%s) = %s\nSHA256 (%s) = %s\n", f.Name, strings.Repeat("00", 64), f.Name, hex.EncodeToString(sum[:]))
	}
	return []byte(b.String())
}

// perAssetSums writes a <asset>.sha256 file for each asset: bare hex, or
// one "hex  name" line.
func perAssetSums(files []ghfake.File) []ghfake.File {
	var out []ghfake.File
	for i, f := range files {
		sum := hex.EncodeToString(func() []byte { s := sha256.Sum256(f.Data); return s[:] }())
		data := sum + "\n"
		if i%2 == 1 {
			data = sum + " *" + f.Name + "\n"
		}
		out = append(out, ghfake.File{Name: f.Name + ".sha256", Data: []byte(data)})
	}
	return out
}

// programs are a release's programs for three platforms.
func programs(version string) []ghfake.File {
	var fs []ghfake.File
	for _, p := range []string{"linux_amd64.tar.gz", "darwin_arm64.tar.gz", "windows_amd64.zip"} {
		n := "hello_" + version + "_" + p
		fs = append(fs, ghfake.File{Name: n, Data: []byte("program " + n)})
	}
	return fs
}

// listOne serves one release of files and lists it with v.
func listOne(t *testing.T, files []ghfake.File, v verify.Verifier, o Options) (*Source, *ghfake.Server, error) {
	t.Helper()
	f := newFakeGitHub(t, "acme", "hello")
	f.Add(ghfake.Release{Tag: "v1.2.3", Files: files})
	s := newSource(t, f, o)
	_, err := s.Releases(context.Background(), v)
	return s, f, err
}

// digests lists the release's assets' digests by name, "" for none.
func digests(t *testing.T, s *Source, v verify.Verifier) map[string]string {
	t.Helper()
	l, err := s.Releases(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, a := range l.Releases[0].Assets {
		m[a.Name] = a.Digest.String()
	}
	return m
}

// TestVerificationMethods serves a release signed each way a verifier may
// read, and checks which digests come out trusted.
func TestVerificationMethods(t *testing.T) {
	t.Parallel()
	progs := programs("1.2.3")
	sums := sumsOf(progs...)
	bad := []byte("signed:0000")
	with := func(extra ...ghfake.File) []ghfake.File {
		return append(append([]ghfake.File(nil), progs...), extra...)
	}
	minisig := fakeSig{suffixes: []string{".minisig"}}
	for _, tc := range []struct {
		name    string
		files   []ghfake.File
		v       verify.Verifier
		trusted bool  // every program gets its digest
		err     error // Releases fails with it
	}{
		{"signature file of the verifier's kind", with(ghfake.File{Name: "SHA256SUMS", Data: sums},
			ghfake.File{Name: "SHA256SUMS.minisig", Data: fakeSign(sums)}), minisig, true, nil},
		{"its signature does not verify", with(ghfake.File{Name: "SHA256SUMS", Data: sums},
			ghfake.File{Name: "SHA256SUMS.minisig", Data: bad}), minisig, false, verify.ErrBadSignature},
		{"signed in a way it does not read", with(ghfake.File{Name: "SHA256SUMS", Data: sums},
			ghfake.File{Name: "SHA256SUMS.asc", Data: fakeSign(sums)}), minisig, false, nil},
		{"a .sig of another tool, told apart", with(ghfake.File{Name: "checksums.txt", Data: sums},
			ghfake.File{Name: "checksums.txt.sig", Data: []byte("MEUCIQDxbase64")}),
			fakeReads{fakeSig{suffixes: []string{".asc", ".sig"}}}, false, nil},
		{"cleartext-signed checksums", with(ghfake.File{Name: "SHA256SUMS", Data: fakeInlineSign(sums)}),
			fakeInline{fakeSig{suffixes: []string{".asc"}}}, true, nil},
		{"cleartext-signed, published as .asc only", with(ghfake.File{Name: "SHA256SUMS.asc", Data: fakeInlineSign(sums)}),
			fakeInline{fakeSig{suffixes: []string{".asc"}}}, true, nil},
		{"cleartext signature that does not verify", with(ghfake.File{Name: "SHA256SUMS", Data: bytes.Replace(fakeInlineSign(sums), []byte("signed:"), []byte("signed:0"), 1)}),
			fakeInline{fakeSig{suffixes: []string{".asc"}}}, false, verify.ErrBadSignature},
		{"cleartext-signed, read without a verifier", append(noDigests(progs), ghfake.File{Name: "SHA256SUMS", Data: fakeInlineSign(sums)}),
			nil, true, nil},
		{"BSD lines, sha512, without a verifier", append(noDigests(progs), ghfake.File{Name: "hello_1.2.3_checksums.sha256", Data: bsdSums(progs...)}),
			nil, true, nil},
		{"a digest file per asset, without a verifier", append(noDigests(progs), perAssetSums(progs)...), nil, true, nil},
		{"a .sig with its .pem, for a certificate verifier", with(ghfake.File{Name: "checksums.txt", Data: sums},
			ghfake.File{Name: "checksums.txt.sig", Data: fakeSign(sums)}, ghfake.File{Name: "checksums.txt.pem", Data: []byte("cert:good")}),
			fakeCert{fakeSig{suffixes: []string{".sigstore.json"}}}, true, nil},
		{"a .sig with its .sig.pem", with(ghfake.File{Name: "checksums.txt", Data: sums},
			ghfake.File{Name: "checksums.txt.sig", Data: fakeSign(sums)}, ghfake.File{Name: "checksums.txt.sig.pem", Data: []byte("cert:good")}),
			fakeCert{fakeSig{suffixes: []string{".sigstore.json"}}}, true, nil},
		{"a .sig with a .pem that does not verify", with(ghfake.File{Name: "checksums.txt", Data: sums},
			ghfake.File{Name: "checksums.txt.sig", Data: fakeSign(sums)}, ghfake.File{Name: "checksums.txt.pem", Data: []byte("cert:other")}),
			fakeCert{fakeSig{suffixes: []string{".sigstore.json"}}}, false, verify.ErrBadSignature},
		{"a .sig without a certificate is not the certificate verifier's", with(ghfake.File{Name: "checksums.txt", Data: sums},
			ghfake.File{Name: "checksums.txt.sig", Data: fakeSign(sums)}),
			fakeCert{fakeSig{suffixes: []string{".sigstore.json"}}}, false, nil},
		{"a bundle is read before a .sig with its .pem", with(ghfake.File{Name: "checksums.txt", Data: sums},
			ghfake.File{Name: "checksums.txt.sigstore.json", Data: fakeSign(sums)},
			ghfake.File{Name: "checksums.txt.sig", Data: bad}, ghfake.File{Name: "checksums.txt.pem", Data: []byte("cert:other")}),
			fakeCert{fakeSig{suffixes: []string{".sigstore.json"}}}, true, nil},
		{"keyless cosign files are not for pinned keys", with(ghfake.File{Name: "checksums.txt", Data: sums},
			ghfake.File{Name: "checksums.txt.sig", Data: []byte("MEUCIQDxbase64")},
			ghfake.File{Name: "checksums.txt.pem", Data: []byte("LS0tLS1CRUdJTi")}), pinned(t, "cosign.pub"), false, nil},
		{"a keyless bundle is not for pinned keys", with(ghfake.File{Name: "checksums.txt", Data: sums},
			ghfake.File{Name: "checksums.txt.sigstore.json", Data: []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
			"verificationMaterial":{"certificate":{"rawBytes":"MIIB"}},"messageSignature":{"signature":"MEUC"}}`)}),
			pinned(t, "cosign.pub"), false, nil},
		{"a gpg .sig is not cosign's", with(ghfake.File{Name: "checksums.txt", Data: sums},
			ghfake.File{Name: "checksums.txt.sig", Data: []byte{0x89, 0x01, 0x33, 0x04}}), pinned(t, "cosign.pub"), false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _, err := listOne(t, tc.files, tc.v, Options{})
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Releases: %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			got := digests(t, s, tc.v)
			for _, p := range progs {
				if want := sha256Digest(p.Data).String(); (got[p.Name] == want) != tc.trusted || (got[p.Name] != "" && got[p.Name] != want) {
					t.Errorf("%s: digest %q, want trusted: %v", p.Name, got[p.Name], tc.trusted)
				}
			}
		})
	}
}

// TestAssetSignatureOfTheVerifiersKind: a signature beside an asset, of
// the verifier's kind, is handed to the updater as it is, to be checked
// over the download.
func TestAssetSignatureOfTheVerifiersKind(t *testing.T) {
	t.Parallel()
	progs := programs("1.2.3")
	files := append(append([]ghfake.File(nil), progs...), ghfake.File{Name: progs[0].Name + ".minisig", Data: fakeSign(progs[0].Data)})
	v := fakeSig{suffixes: []string{".minisig"}}
	s, _, err := listOne(t, files, v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := s.Releases(context.Background(), v)
	for _, a := range l.Releases[0].Assets {
		want := a.Name == progs[0].Name
		if (a.Signature != nil) != want {
			t.Fatalf("%s: signature %q", a.Name, a.Signature)
		}
		if want {
			if err := v.Verify(bytes.NewReader(progs[0].Data), a.Signature); err != nil {
				t.Fatalf("the updater's check would fail: %v", err)
			}
		}
	}
}
