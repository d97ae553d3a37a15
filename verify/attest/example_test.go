package attest_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/molt-go/update/verify"
	"github.com/molt-go/update/verify/attest"
	"github.com/molt-go/update/verify/sigstore"
	"github.com/molt-go/update/verify/sigstore/sigstoretest"
)

// This example verifies a build-provenance attestation of a release
// archive, as the attestations API serves it, against a test Sigstore.
func Example() {
	ss := sigstoretest.New(&testing.T{})
	archive := []byte("the archive")
	bundle := ss.Attest("https://github.com/acme/hello/.github/workflows/release.yml@refs/tags/v1.2.3", sigstore.GitHubActionsIssuer,
		sigstoretest.Provenance("acme/hello", ".github/workflows/release.yml", "refs/tags/v1.2.3",
			sigstoretest.Subject{Name: "hello_1.2.3_linux_amd64.tar.gz", Data: archive}))

	v, err := attest.New(attest.Options{Repository: "acme/hello", Workflow: ".github/workflows/release.yml", TrustedRoot: ss.TrustedRoot()})
	if err != nil {
		fmt.Println(err)
		return
	}
	sum := sha256.Sum256(archive)
	subjects, err := v.VerifyAttestation(bundle, verify.Digest{Algorithm: verify.SHA256, Sum: sum[:]})
	fmt.Println(len(subjects), err)
	for name := range subjects {
		fmt.Println(name)
	}
	// Output:
	// 1 <nil>
	// hello_1.2.3_linux_amd64.tar.gz
}
