package feed

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/molt-go/update/verify"
)

// newKey returns a fresh P-256 signer and the verifier that pins its key.
func newKey(t *testing.T) (*Signer, *verify.Keys) {
	t.Helper()
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := verify.Signature(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, keys
}

// testPayload is a valid payload with one release of one asset.
func testPayload() *Payload {
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &Payload{
		App:     "hello",
		Serial:  42,
		Issued:  issued,
		Expires: issued.Add(7 * 24 * time.Hour),
		Releases: []Release{{
			Version:   "1.1.0",
			Published: issued.Add(-time.Hour),
			Assets: []Asset{{
				Name:   "hello-1.1.0-linux-amd64",
				OS:     "linux",
				Arch:   "amd64",
				Size:   5,
				SHA256: sha256hex("hello"),
				URL:    "hello-1.1.0-linux-amd64",
			}},
		}},
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
