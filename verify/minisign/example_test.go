package minisign_test

import (
	"bytes"
	"crypto/rand"
	"fmt"

	"aead.dev/minisign"

	vminisign "github.com/molt-go/update/verify/minisign"
)

// This example checks a SHA256SUMS.minisig with the project's public key,
// the "RWQ..." line of its README.
func Example() {
	pub, priv, _ := minisign.GenerateKey(rand.Reader) // the project's, done once
	sums := []byte("5891b5b5...  hello_1.2.3_linux_amd64.tar.gz\n")
	sig := minisign.Sign(priv, sums) // SHA256SUMS.minisig

	v, err := vminisign.New(pub.String())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Verify(bytes.NewReader(sums), sig))
	fmt.Println(v.Verify(bytes.NewReader([]byte("other")), sig) != nil)
	// Output:
	// <nil>
	// true
}
