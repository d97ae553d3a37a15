package github

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/internal/ghfake"
	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/verify"
)

// TestGoreleaserRelease serves the files goreleaser and cosign made, with
// each way cosign writes the checksums signature, and checks that every
// archive gets the digest from the verified checksums file, that the one
// for this machine is the right one, and that it downloads to that digest.
func TestGoreleaserRelease(t *testing.T) {
	t.Parallel()
	sums, err := verify.ParseChecksums(dist(t, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []string{"checksums.txt.sig", "checksums.txt.sigstore.json", "checksums.txt.bundle"} {
		t.Run(sig, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub(t, "acme", "hello")
			f.Add(ghfake.Release{Tag: "v1.2.3", Files: distFiles(t,
				distFile(t, sig, sig),
				distFile(t, "hello_1.2.3_linux_amd64.tar.gz.sig", "hello_1.2.3_linux_amd64.tar.gz.sig"),
			)})
			v := pinned(t, "cosign.pub")
			s := newSource(t, f, Options{App: "hello"})
			l, err := s.Releases(context.Background(), v)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Releases) != 1 || len(l.Releases[0].Assets) != len(archives) {
				t.Fatalf("listing = %+v, want one release with %d assets", l, len(archives))
			}
			for _, a := range l.Releases[0].Assets {
				want, err := sums.Lookup(a.Name)
				if err != nil {
					t.Fatalf("asset %s: %v", a.Name, err)
				}
				if a.Digest.String() != want.String() || a.Digest.String() != sha256Digest(dist(t, a.Name)).String() {
					t.Errorf("%s: digest %s, want %s", a.Name, a.Digest, want)
				}
				p, _ := platform.Parse(a.Name, "hello")
				if a.OS != p.OS || a.Arch != p.Arch || !strings.Contains(a.Name, "_"+a.OS+"_"+a.Arch+".") {
					t.Errorf("%s: platform %s/%s", a.Name, a.OS, a.Arch)
				}
				// The updater finds the executable by the usual names.
				if a.Executable != "" || a.Size != int64(len(dist(t, a.Name))) {
					t.Errorf("%s: executable %q size %d", a.Name, a.Executable, a.Size)
				}
				// Only the linux/amd64 archive has a signature of its own.
				if a.OS == "linux" && a.Arch == "amd64" {
					if err := v.Verify(bytes.NewReader(dist(t, a.Name)), a.Signature); err != nil {
						t.Errorf("%s: its signature does not verify: %v", a.Name, err)
					}
				} else if a.Signature != nil {
					t.Errorf("%s: unexpected signature", a.Name)
				}
			}

			host := hostPlatform()
			if host == "" {
				t.Skipf("goreleaser built no archive for %s/%s", runtime.GOOS, runtime.GOARCH)
			}
			_, a := find(t, l, "v1.2.3", runtime.GOOS, runtime.GOARCH)
			if a.Name != host {
				t.Fatalf("asset for this machine is %s, want %s", a.Name, host)
			}
			got := readAll(t, s, a, 0)
			if err := verify.Reader(bytes.NewReader(got), a.Digest); err != nil {
				t.Fatalf("download does not match the verified digest: %v", err)
			}
		})
	}
}

// TestTrustRules checks where digests come from, for each verifier and
// option, as doc.go states them.
func TestTrustRules(t *testing.T) {
	t.Parallel()
	const asset = "hello_1.2.3_linux_amd64.tar.gz"
	trueDigest := sha256Digest(dist(t, asset))
	signed := distFile(t, "checksums.txt.sig", "checksums.txt.sig")
	unsigned := func(t *testing.T) []ghfake.File { return distFiles(t) }
	noAPIDigest := func(t *testing.T) []ghfake.File {
		fs := distFiles(t)
		for i := range fs {
			fs[i].Digest = "-"
		}
		return fs
	}
	for _, tc := range []struct {
		name   string
		files  func(t *testing.T) []ghfake.File
		verify bool
		trust  bool
		want   verify.Digest
	}{
		{"signed checksums", func(t *testing.T) []ghfake.File { return distFiles(t, signed) }, true, false, trueDigest},
		{"unsigned checksums are not trusted", unsigned, true, false, verify.Digest{}},
		{"GitHub digest when trusted", unsigned, true, true, trueDigest},
		{"no GitHub digest to trust", noAPIDigest, true, true, verify.Digest{}},
		{"without verification, GitHub's digest", unsigned, false, false, trueDigest},
		{"without verification, unsigned checksums", noAPIDigest, false, false, trueDigest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub(t, "acme", "hello")
			f.Add(ghfake.Release{Tag: "v1.2.3", Files: tc.files(t)})
			var v verify.Verifier
			if tc.verify {
				v = pinned(t, "cosign.pub")
			}
			l, err := newSource(t, f, Options{TrustGitHubDigest: tc.trust}).Releases(context.Background(), v)
			if err != nil {
				t.Fatal(err)
			}
			_, a := find(t, l, "v1.2.3", "linux", "amd64")
			if a.Digest.String() != tc.want.String() {
				t.Fatalf("digest = %q, want %q", a.Digest, tc.want)
			}
		})
	}
}

// TestDepth checks that only the newest releases are verified, and that
// files already fetched are not fetched again.
func TestDepth(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "acme", "hello")
	files := distFiles(t, distFile(t, "checksums.txt.sig", "checksums.txt.sig"))
	f.Add(ghfake.Release{Tag: "v1.2.1", Files: files}, ghfake.Release{Tag: "v1.2.2", Files: files},
		ghfake.Release{Tag: "v1.2.3-rc.1", Pre: true, Files: files}, ghfake.Release{Tag: "v1.2.3", Files: files})
	s := newSource(t, f, Options{Depth: 1})
	v := pinned(t, "cosign.pub")
	for range 2 {
		l, err := s.Releases(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.Releases {
			_, a := find(t, l, r.Version, "linux", "amd64")
			verified := r.Version == "v1.2.3" || r.Version == "v1.2.3-rc.1"
			if a.Digest.IsZero() == verified {
				t.Errorf("%s: digest %q, want one: %v", r.Version, a.Digest, verified)
			}
		}
	}
	f.Do(func(st *ghfake.State) {
		// Two releases verified, checksums and signature each, fetched once.
		if n := len(st.StoreAuth); n != 4 {
			t.Errorf("%d file downloads, want 4", n)
		}
	})
}

// TestAttacks serves releases that lie, each in one way, and checks that
// the listing fails with the error that says how.
func TestAttacks(t *testing.T) {
	t.Parallel()
	key := newTestKey(t)
	realSums := dist(t, "checksums.txt")
	const victim = "hello_1.2.3_linux_amd64.tar.gz"
	// withSums replaces checksums.txt with data, signed by the test key.
	withSums := func(t *testing.T, data []byte) []ghfake.File {
		fs := distFiles(t, ghfake.File{Name: "checksums.txt.sig", Data: key.sig(t, data)})
		for i := range fs {
			if fs[i].Name == "checksums.txt" {
				fs[i].Data = data
			}
		}
		return fs
	}
	// One hex digit of the victim's line changed, the signature kept.
	tampered := bytes.Clone(realSums)
	at := bytes.Index(tampered, []byte(victim)) - 3
	if at < 0 {
		t.Fatal("checksums.txt does not list " + victim)
	}
	if tampered[at] == '0' {
		tampered[at] = '1'
	} else {
		tampered[at] = '0'
	}
	if bytes.Equal(tampered, realSums) {
		t.Fatal("could not tamper with checksums.txt")
	}

	for _, tc := range []struct {
		name  string
		files func(t *testing.T) []ghfake.File
		pub   string // dist file of the pinned key; "" pins the test key
		want  error
	}{
		{"signature by another key", func(t *testing.T) []ghfake.File {
			return distFiles(t, distFile(t, "checksums.txt.sig", "checksums.txt.other.sig"))
		}, "cosign.pub", verify.ErrBadSignature},
		{"pinned key is not the signer", func(t *testing.T) []ghfake.File {
			return distFiles(t, distFile(t, "checksums.txt.sig", "checksums.txt.sig"))
		}, "other.pub", verify.ErrBadSignature},
		{"bundle for other bytes", func(t *testing.T) []ghfake.File {
			return distFiles(t, distFile(t, "checksums.txt.sigstore.json", "other.sigstore.json"))
		}, "cosign.pub", verify.ErrDigestMismatch},
		{"tampered checksums", func(t *testing.T) []ghfake.File {
			fs := distFiles(t, distFile(t, "checksums.txt.sig", "checksums.txt.sig"))
			for i := range fs {
				if fs[i].Name == "checksums.txt" {
					fs[i].Data = tampered
				}
			}
			return fs
		}, "cosign.pub", verify.ErrBadSignature},
		{"asset replaced after signing", func(t *testing.T) []ghfake.File {
			fs := distFiles(t, distFile(t, "checksums.txt.sig", "checksums.txt.sig"))
			for i := range fs {
				if fs[i].Name == victim {
					fs[i].Data = []byte("evil")
				}
			}
			return fs
		}, "cosign.pub", verify.ErrDigestMismatch},
		{"asset bundle for other bytes", func(t *testing.T) []ghfake.File {
			return distFiles(t, distFile(t, "checksums.txt.sig", "checksums.txt.sig"),
				distFile(t, victim+".sigstore.json", "other.sigstore.json"))
		}, "cosign.pub", verify.ErrDigestMismatch},
		{"two signed checksums files that disagree", func(t *testing.T) []ghfake.File {
			return append(withSums(t, realSums), ghfake.File{Name: "SHA256SUMS", Data: tampered},
				ghfake.File{Name: "SHA256SUMS.sig", Data: key.sig(t, tampered)})
		}, "", verify.ErrDigestMismatch},
		{"huge checksums file", func(t *testing.T) []ghfake.File {
			return withSums(t, bytes.Repeat([]byte("#"), verify.MaxChecksumsSize+1))
		}, "", source.ErrBadMetadata},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub(t, "acme", "hello")
			f.Add(ghfake.Release{Tag: "v1.2.3", Files: tc.files(t)})
			v := key.verifier(t)
			if tc.pub != "" {
				v = pinned(t, tc.pub)
			}
			l, err := newSource(t, f, Options{}).Releases(context.Background(), v)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Releases = %+v, %v; want %v", l, err, tc.want)
			}
		})
	}
}

// TestWhatASignedFileDoesNotSay: a signed checksums file that does not
// list an asset, or lists it twice, vouches for nothing about it, but is
// no forgery (a signature cannot be kept over a changed file): the listing
// stands, that asset has no digest, and the others keep theirs. Two signed
// files that agree are both read.
func TestWhatASignedFileDoesNotSay(t *testing.T) {
	t.Parallel()
	key := newTestKey(t)
	realSums := dist(t, "checksums.txt")
	const victim = "hello_1.2.3_linux_amd64.tar.gz"
	var dropped, doubled bytes.Buffer
	for _, line := range strings.SplitAfter(string(realSums), "\n") {
		if !strings.Contains(line, victim) {
			dropped.WriteString(line)
		}
		doubled.WriteString(line)
		if strings.Contains(line, victim) {
			doubled.WriteString(line)
		}
	}
	signed := func(name string, data []byte) []ghfake.File {
		return []ghfake.File{{Name: name, Data: data}, {Name: name + ".sig", Data: key.sig(t, data)}}
	}
	for _, tc := range []struct {
		name       string
		extra      []ghfake.File
		victimHash bool
	}{
		{"asset missing from checksums", signed("checksums.txt", dropped.Bytes()), false},
		{"asset listed twice", signed("checksums.txt", doubled.Bytes()), false},
		{"missing from one, listed in another", append(signed("checksums.txt", dropped.Bytes()), signed("hello_1.2.3_SHA256SUMS", realSums)...), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var fs []ghfake.File
			for _, f := range distFiles(t) {
				if f.Name != "checksums.txt" {
					fs = append(fs, f)
				}
			}
			f := newFakeGitHub(t, "acme", "hello")
			f.Add(ghfake.Release{Tag: "v1.2.3", Files: append(fs, tc.extra...)})
			l, err := newSource(t, f, Options{}).Releases(context.Background(), key.verifier(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range l.Releases[0].Assets {
				want := a.Name != victim || tc.victimHash
				if a.Digest.IsZero() == want {
					t.Errorf("%s: digest %q, want one: %v", a.Name, a.Digest, want)
				}
			}
		})
	}
}

// TestOnlyPrereleases lists a repository whose releases are all
// prereleases, on the stable channel: the latest-release endpoint says
// there is none, the list is read, and each is listed with a version that
// says so (which is how the updater keeps them off the stable channel),
// verified too.
func TestOnlyPrereleases(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "acme", "hello")
	files := distFiles(t, distFile(t, "checksums.txt.sig", "checksums.txt.sig"))
	f.Add(ghfake.Release{Tag: "v2.0.0-beta.2", Pre: true, Files: files},
		ghfake.Release{Tag: "v2.0.0-rc.1", Pre: true, Files: files})
	l, err := newSource(t, f, Options{}).Releases(context.Background(), pinned(t, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Releases) != 2 {
		t.Fatalf("got %d releases, want 2", len(l.Releases))
	}
	for _, r := range l.Releases {
		v, err := semver.NewVersion(r.Version)
		if err != nil || v.Prerelease() == "" {
			t.Errorf("%s is listed as stable (%v)", r.Version, err)
		}
		if _, a := find(t, l, r.Version, "linux", "amd64"); a.Digest.IsZero() {
			t.Errorf("%s: no digest", r.Version)
		}
	}
}
