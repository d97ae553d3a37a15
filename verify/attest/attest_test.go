package attest_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/molt-go/update/verify"
	"github.com/molt-go/update/verify/attest"
	"github.com/molt-go/update/verify/sigstore"
	"github.com/molt-go/update/verify/sigstore/sigstoretest"
)

const san = "https://github.com/acme/hello/.github/workflows/release.yml@refs/tags/v1.2.3"

func digestOf(b []byte) verify.Digest {
	sum := sha256.Sum256(b)
	return verify.Digest{Algorithm: verify.SHA256, Sum: sum[:]}
}

// TestVerifyAttestation checks GitHub-style provenance made by the pinned
// workflow, and refuses it from another workflow, repository or Sigstore,
// for another artifact, or of another kind.
func TestVerifyAttestation(t *testing.T) {
	t.Parallel()
	ss := sigstoretest.New(t)
	archive, sums := []byte("the archive"), []byte("the checksums")
	prov := sigstoretest.Provenance("acme/hello", ".github/workflows/release.yml", "refs/tags/v1.2.3",
		sigstoretest.Subject{Name: "dist/hello_1.2.3_linux_amd64.tar.gz", Data: archive},
		sigstoretest.Subject{Name: "checksums.txt", Data: sums})
	v, err := attest.New(attest.Options{Repository: "acme/hello", Workflow: "release.yml", TrustedRoot: ss.TrustedRoot()})
	if err != nil {
		t.Fatal(err)
	}
	good := ss.Attest(san, sigstore.GitHubActionsIssuer, prov)
	subjects, err := v.VerifyAttestation(good, digestOf(archive))
	if err != nil {
		t.Fatal(err)
	}
	if len(subjects) != 2 || subjects["hello_1.2.3_linux_amd64.tar.gz"].String() != digestOf(archive).String() ||
		subjects["checksums.txt"].String() != digestOf(sums).String() {
		t.Fatalf("subjects = %v", subjects)
	}
	if err := v.Verify(bytes.NewReader(sums), good); err != nil {
		t.Fatalf("Verify over a subject: %v", err)
	}

	other := sigstoretest.Provenance("acme/hello", "x", "y", sigstoretest.Subject{Name: "a", Data: archive})
	for _, tc := range []struct {
		name     string
		bundle   []byte
		artifact []byte
	}{
		{"another artifact", good, []byte("not attested")},
		{"another workflow", ss.Attest("https://github.com/acme/hello/.github/workflows/ci.yml@refs/tags/v1.2.3", sigstore.GitHubActionsIssuer, prov), archive},
		{"another repository", ss.Attest("https://github.com/evil/hello/.github/workflows/release.yml@refs/tags/v1.2.3", sigstore.GitHubActionsIssuer, prov), archive},
		{"a branch", ss.Attest("https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/x", sigstore.GitHubActionsIssuer, prov), archive},
		{"another issuer", ss.Attest(san, "https://example.com", prov), archive},
		{"another Sigstore", sigstoretest.New(t).Attest(san, sigstore.GitHubActionsIssuer, prov), archive},
		{"another kind", ss.Attest(san, sigstore.GitHubActionsIssuer, bytes.Replace(other, []byte("slsa.dev/provenance/v1"), []byte("spdx.dev/Document"), 1)), archive},
		{"a signature, not an attestation", ss.SignBlob(san, sigstore.GitHubActionsIssuer, archive), archive},
		{"not a bundle", []byte("{}"), archive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := v.VerifyAttestation(tc.bundle, digestOf(tc.artifact))
			if !errors.Is(err, attest.ErrNotAttested) || !errors.Is(err, verify.ErrBadSignature) {
				t.Fatalf("VerifyAttestation = %v, want ErrNotAttested", err)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []attest.Options{{}, {Repository: "acme"}, {Repository: "acme/hello"}, {Repository: "/x", Workflow: "w"}} {
		if _, err := attest.New(o); !errors.Is(err, attest.ErrOptions) {
			t.Errorf("New(%+v) = %v, want ErrOptions", o, err)
		}
	}
}
