package verify_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/molt-go/update/verify/cosign"

	"github.com/molt-go/update/verify"
)

func ExampleParseChecksums() {
	// As goreleaser writes checksums.txt.
	file := []byte(`f3af22e448f885b50f692da445c1eaeb1cfa9c81df63cd7f05825fc3449e90b0  hello_1.2.3_linux_amd64.tar.gz
f0719addfe650526777aa2d7eb08d474c686f4f13a3d31a848a9ef0741b99c04  hello_1.2.3_windows_amd64.zip
`)
	c, err := verify.ParseChecksums(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := c.Lookup("hello_1.2.3_linux_amd64.tar.gz")
	fmt.Println(d, err)

	_, err = c.Lookup("hello_1.2.3_plan9_386.tar.gz")
	fmt.Println(errors.Is(err, verify.ErrChecksums))

	// The downloaded bytes must hash to the digest.
	err = verify.Reader(bytes.NewReader([]byte("hello 1.2.3 for linux/amd64\n")), d)
	fmt.Println(err)
	// Output:
	// sha256:f3af22e448f885b50f692da445c1eaeb1cfa9c81df63cd7f05825fc3449e90b0 <nil>
	// true
	// <nil>
}

func ExampleSignatureFile_Verify() {
	dir := filepath.Join("cosign", "testdata", "cosign")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			panic(err)
		}
		return b
	}
	// The key is pinned in the program, never taken from the release.
	keys, err := verify.Signature(read("cosign.pub"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// What cosign sign-blob --bundle wrote beside checksums.txt.
	sf, err := cosign.ParseSignatureFile(read("checksums.txt.sigstore.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sf.Verify(keys, bytes.NewReader(read("checksums.txt"))))

	tampered := bytes.Replace(read("checksums.txt"), []byte("linux"), []byte("linuz"), 1)
	err = sf.Verify(keys, bytes.NewReader(tampered))
	fmt.Println(errors.Is(err, verify.ErrNotVerified))
	// Output:
	// <nil>
	// true
}
