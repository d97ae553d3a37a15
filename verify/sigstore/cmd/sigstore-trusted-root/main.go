// Command sigstore-trusted-root prints the public-good Sigstore instance's
// trusted root (trusted_root.json), fetched from its TUF repository and
// verified against the TUF root that sigstore-go embeds, for a program to
// compile in and pass as sigstore.Options.TrustedRoot.
//
//	go run github.com/molt-go/update/verify/sigstore/cmd/sigstore-trusted-root > trusted_root.json
//
// It writes a TUF cache in the user's cache directory, as sigstore-go's TUF
// client does.
package main

import (
	"fmt"
	"os"

	"github.com/sigstore/sigstore-go/pkg/tuf"
)

func main() {
	c, err := tuf.New(tuf.DefaultOptions())
	if err == nil {
		var data []byte
		if data, err = c.GetTarget("trusted_root.json"); err == nil {
			_, err = os.Stdout.Write(data)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sigstore-trusted-root:", err)
		os.Exit(1)
	}
}
