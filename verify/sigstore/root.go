package sigstore

import _ "embed"

// publicGood is the public-good Sigstore instance's trusted_root.json; see
// the package documentation for where it comes from and how to refresh it.
//
//go:generate sh -c "go run ./cmd/sigstore-trusted-root > trusted_root.json.new && mv trusted_root.json.new trusted_root.json"
//go:embed trusted_root.json
var publicGood []byte

// PublicGoodTrustedRoot returns the trusted root compiled into this
// package, that of Sigstore's public-good instance (the default of
// Options.TrustedRoot).
func PublicGoodTrustedRoot() []byte { return append([]byte(nil), publicGood...) }
