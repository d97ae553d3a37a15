package cosign

//go:generate sh testdata/cosign/gen.sh

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molt-go/update/verify"
)

// The fixtures in testdata/cosign were made by a real cosign (see gen.sh);
// these tests need no cosign to run.

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cosign", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureKeys(t *testing.T, names ...string) *verify.Keys {
	t.Helper()
	var pems [][]byte
	for _, n := range names {
		pems = append(pems, readFixture(t, n))
	}
	return verify.MustSignature(pems...)
}

// cosignSigFiles are the three files cosign writes beside checksums.txt.
var cosignSigFiles = []string{"checksums.txt.sig", "checksums.txt.sigstore.json", "checksums.txt.bundle"}

func TestCosignFixtures(t *testing.T) {
	t.Parallel()
	checksums := readFixture(t, "checksums.txt")
	keys := fixtureKeys(t, "cosign.pub")
	wrong := fixtureKeys(t, "other.pub")
	rotated := fixtureKeys(t, "other.pub", "cosign.pub")
	// One changed hex digit in the first line: the attack a signed
	// checksums file exists to stop.
	modified := bytes.Clone(checksums)
	modified[0] ^= 1

	for _, name := range cosignSigFiles {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sf, err := ParseSignatureFile(readFixture(t, name))
			if err != nil {
				t.Fatalf("ParseSignatureFile: %v", err)
			}
			if err := sf.Verify(keys, bytes.NewReader(checksums)); err != nil {
				t.Errorf("cosign.pub: %v", err)
			}
			if err := sf.Verify(rotated, bytes.NewReader(checksums)); err != nil {
				t.Errorf("other.pub and cosign.pub: %v", err)
			}
			if err := sf.Verify(wrong, bytes.NewReader(checksums)); !errors.Is(err, verify.ErrBadSignature) {
				t.Errorf("other.pub: %v, want ErrBadSignature", err)
			}
			err = sf.Verify(keys, bytes.NewReader(modified))
			wantErr := verify.ErrBadSignature
			if !sf.Digest.IsZero() {
				wantErr = verify.ErrDigestMismatch
			}
			if !errors.Is(err, wantErr) || !errors.Is(err, verify.ErrNotVerified) {
				t.Errorf("modified checksums.txt: %v, want %v", err, wantErr)
			}
			// The raw signature alone, without the bundle's digest check,
			// must fail too: the signature is what binds the file.
			if err := keys.Verify(bytes.NewReader(modified), sf.Sig); !errors.Is(err, verify.ErrBadSignature) {
				t.Errorf("modified checksums.txt, signature only: %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestCosignBundleFields checks what this package reads from the bundle
// cosign wrote: the digest is checksums.txt's, and the key hint names
// cosign.pub as Keys.IDs does.
func TestCosignBundleFields(t *testing.T) {
	t.Parallel()
	sf, err := ParseSignatureFile(readFixture(t, "checksums.txt.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(readFixture(t, "checksums.txt"))
	if want := (verify.Digest{Algorithm: verify.SHA256, Sum: sum[:]}); sf.Digest.String() != want.String() {
		t.Errorf("Digest = %s, want %s", sf.Digest, want)
	}
	if sf.KeyHint == "" {
		t.Fatal("bundle has no key hint")
	}
	if got, want := sf.KeyID(), fixtureKeys(t, "cosign.pub").IDs()[0]; got != want {
		t.Errorf("KeyID() = %q, want cosign.pub's ID %q", got, want)
	}
	if sf.KeyID() == fixtureKeys(t, "other.pub").IDs()[0] {
		t.Error("KeyID() matches other.pub")
	}
}

// TestCosignBundleDigestMismatch edits the bundle's digest, leaving its
// signature good: the file no longer describes what it claims to sign.
func TestCosignBundleDigestMismatch(t *testing.T) {
	t.Parallel()
	data := readFixture(t, "checksums.txt.sigstore.json")
	sf, err := ParseSignatureFile(data)
	if err != nil {
		t.Fatal(err)
	}
	lie := sha256.Sum256([]byte("something else"))
	edited := strings.Replace(string(data),
		base64.StdEncoding.EncodeToString(sf.Digest.Sum), base64.StdEncoding.EncodeToString(lie[:]), 1)
	if edited == string(data) {
		t.Fatal("digest not found in the bundle")
	}
	sf, err = ParseSignatureFile([]byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	err = sf.Verify(fixtureKeys(t, "cosign.pub"), bytes.NewReader(readFixture(t, "checksums.txt")))
	if !errors.Is(err, verify.ErrDigestMismatch) {
		t.Fatalf("Verify = %v, want ErrDigestMismatch", err)
	}
}

// TestCosignReleaseFlow walks the path of an update: verify the signed
// checksums file, look each artifact up in it, and check the artifact.
func TestCosignReleaseFlow(t *testing.T) {
	t.Parallel()
	checksums := readFixture(t, "checksums.txt")
	sf, err := ParseSignatureFile(readFixture(t, "checksums.txt.sig"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sf.Verify(fixtureKeys(t, "cosign.pub"), bytes.NewReader(checksums)); err != nil {
		t.Fatal(err)
	}
	c, err := verify.ParseChecksums(checksums)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "cosign", "dist"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 || len(c.Names()) != len(entries) {
		t.Fatalf("checksums.txt lists %d names, dist has %d files", len(c.Names()), len(entries))
	}
	for _, e := range entries {
		want, err := c.Lookup(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		artifact := readFixture(t, filepath.Join("dist", e.Name()))
		if err := verify.Reader(bytes.NewReader(artifact), want); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
		if err := verify.Reader(bytes.NewReader(append(artifact, 0)), want); !errors.Is(err, verify.ErrDigestMismatch) {
			t.Errorf("%s with a byte appended: %v, want ErrDigestMismatch", e.Name(), err)
		}
	}
}
