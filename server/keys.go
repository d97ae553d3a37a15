package server

import (
	"bytes"
	"fmt"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/molt-go/update/source/feed"
)

// LoadEncryptedSigner reads a private key encrypted with password: the
// "ENCRYPTED SIGSTORE PRIVATE KEY" that cosign generate-key-pair writes, or
// an encrypted PKCS#8 key. It lives with the publisher, not in the feed
// package, because reading cosign's encryption needs sigstore, which a
// program that only verifies feeds must not link.
func LoadEncryptedSigner(privatePEM, password []byte) (*feed.Signer, error) {
	pf := func(bool) ([]byte, error) { return bytes.Clone(password), nil }
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(privatePEM, pf)
	if err != nil {
		return nil, fmt.Errorf("server: private key: %w", err)
	}
	return feed.NewSigner(key)
}
