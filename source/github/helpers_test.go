package github

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/molt-go/update/internal/ghfake"
	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// distDir holds the files that testdata/gen.sh made with the real
// goreleaser and cosign.
const distDir = "testdata/goreleaser/dist"

// archives are the archives goreleaser wrote for the test program.
var archives = []string{
	"hello_1.2.3_darwin_amd64.tar.gz", "hello_1.2.3_darwin_arm64.tar.gz",
	"hello_1.2.3_linux_amd64.tar.gz", "hello_1.2.3_linux_arm64.tar.gz",
	"hello_1.2.3_windows_amd64.zip", "hello_1.2.3_windows_arm64.zip",
}

func dist(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(distDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// distFiles returns the archives and checksums.txt, plus extra files.
func distFiles(t testing.TB, extra ...ghfake.File) []ghfake.File {
	t.Helper()
	var fs []ghfake.File
	for _, n := range append(archives, "checksums.txt") {
		fs = append(fs, ghfake.File{Name: n, Data: dist(t, n)})
	}
	return append(fs, extra...)
}

// distFile is a ghfake.File with the bytes of dist file src under name.
func distFile(t testing.TB, name, src string) ghfake.File {
	return ghfake.File{Name: name, Data: dist(t, src)}
}

// pinned is the verifier for the key that signed the release.
func pinned(t testing.TB, pubFile string) *verify.Keys {
	t.Helper()
	k, err := verify.Signature(dist(t, pubFile))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testKey is a signing key made in the test, for signed files that the
// checked-in release does not have (a checksums file that lies). It signs
// as "cosign sign-blob --key" does: ECDSA P-256 over the SHA-256 of the
// file, ASN.1, base64.
type testKey struct {
	priv *ecdsa.PrivateKey
	pub  []byte
}

func newTestKey(t testing.TB) *testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{priv: priv, pub: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
}

// sig returns the .sig file for data.
func (k *testKey) sig(t testing.TB, data []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(data)
	s, err := ecdsa.SignASN1(rand.Reader, k.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return []byte(base64.StdEncoding.EncodeToString(s))
}

func (k *testKey) verifier(t testing.TB) *verify.Keys {
	t.Helper()
	v, err := verify.Signature(k.pub)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sha256Digest(data []byte) verify.Digest {
	sum := sha256.Sum256(data)
	return verify.MustDigest("sha256:" + hex.EncodeToString(sum[:]))
}

// newFakeGitHub starts the fake GitHub API (internal/ghfake) for
// owner/repo, its release objects shaped like the documented example in
// testdata/api.
func newFakeGitHub(t testing.TB, owner, repo string) *ghfake.Server {
	t.Helper()
	raw, err := os.ReadFile("testdata/api/releases.json")
	if err != nil {
		t.Fatal(err)
	}
	return ghfake.New(t, owner, repo, raw)
}

// newSource returns a Source for the fake repository, logging to the test.
func newSource(t testing.TB, f *ghfake.Server, o Options) *Source {
	t.Helper()
	o.Owner, o.Repo = f.Owner, f.Repo
	if o.BaseURL == "" {
		o.BaseURL = f.APIURL()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// find returns the release with version v and its asset for goos/goarch.
func find(t testing.TB, l *source.Listing, version, goos, goarch string) (source.Release, source.Asset) {
	t.Helper()
	for _, r := range l.Releases {
		if r.Version != version {
			continue
		}
		for _, a := range r.Assets {
			if a.OS == goos && a.Arch == goarch {
				return r, a
			}
		}
		t.Fatalf("release %s has no asset for %s/%s: %+v", version, goos, goarch, r.Assets)
	}
	t.Fatalf("no release %s in %d releases", version, len(l.Releases))
	return source.Release{}, source.Asset{}
}

// readAll opens a from offset and reads it to the end.
func readAll(t testing.TB, s *Source, a source.Asset, offset int64) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), a, offset)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", a.Name, offset, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hostPlatform is the archive goreleaser made for the machine running the
// tests, or "" if it made none.
func hostPlatform() string {
	for _, n := range archives {
		if p, ok := platform.Parse(n, "hello"); ok && p.OS == runtime.GOOS && p.Arch == runtime.GOARCH {
			return n
		}
	}
	return ""
}
