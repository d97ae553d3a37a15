package sigstore_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/molt-go/update/verify/sigstore"
	"github.com/molt-go/update/verify/sigstore/sigstoretest"
)

// This example verifies a checksums file signed keylessly by a release
// workflow, against a test Sigstore; a program passes no TrustedRoot and
// checks against the public-good instance's, compiled in.
func Example() {
	ss := sigstoretest.New(&testing.T{})
	sums := []byte("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  hello_1.2.3_linux_amd64.tar.gz\n")
	bundle := ss.SignBlob("https://github.com/acme/hello/.github/workflows/release.yml@refs/tags/v1.2.3",
		sigstore.GitHubActionsIssuer, sums) // checksums.txt.sigstore.json

	v, err := sigstore.New(sigstore.Options{
		Identities:  []sigstore.Identity{sigstore.GitHubWorkflow("acme/hello", ".github/workflows/release.yml", "refs/tags/v*")},
		TrustedRoot: ss.TrustedRoot(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("release workflow:", v.Verify(bytes.NewReader(sums), bundle))
	other := ss.SignBlob("https://github.com/acme/hello/.github/workflows/ci.yml@refs/heads/main", sigstore.GitHubActionsIssuer, sums)
	fmt.Println("CI workflow refused:", v.Verify(bytes.NewReader(sums), other) != nil)
	// Output:
	// release workflow: <nil>
	// CI workflow refused: true
}
