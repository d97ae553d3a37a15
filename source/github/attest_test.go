package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"testing"

	"github.com/molt-go/update/internal/ghfake"
)

func hexSum(data []byte) string { s := sha256.Sum256(data); return hex.EncodeToString(s[:]) }

// hostProgram is the program of programs() built for this machine, if any.
func hostProgram(t *testing.T, progs []ghfake.File) ghfake.File {
	t.Helper()
	for _, p := range progs {
		if (runtime.GOOS == "linux" && runtime.GOARCH == "amd64" && p.Name == "hello_1.2.3_linux_amd64.tar.gz") ||
			(runtime.GOOS == "darwin" && runtime.GOARCH == "arm64" && p.Name == "hello_1.2.3_darwin_arm64.tar.gz") ||
			(runtime.GOOS == "windows" && runtime.GOARCH == "amd64" && p.Name == "hello_1.2.3_windows_amd64.zip") {
			return p
		}
	}
	t.Skipf("no test program for %s/%s", runtime.GOOS, runtime.GOARCH)
	return ghfake.File{}
}

// TestAttestations serves releases whose digests only an attestation
// vouches for, as the attestations API gives them (by reference, snappy
// on the storage host, or inline as it used to), and checks that the
// digests of an accepted attestation's subjects are trusted, and nothing
// else; and that a second look asks the API nothing more.
func TestAttestations(t *testing.T) {
	t.Parallel()
	progs := programs("1.2.3")
	sums := sumsOf(progs...)
	all := map[string][]byte{}
	for _, p := range progs {
		all[p.Name] = p.Data
	}
	for _, tc := range []struct {
		name    string
		inline  bool
		attest  func(f *ghfake.Server, host ghfake.File)
		files   []ghfake.File
		trusted int // how many programs get a digest
	}{
		{"the asset's attestation names every asset", false, func(f *ghfake.Server, host ghfake.File) {
			f.Attest(fakeAttestation(all), hexSum(host.Data))
		}, progs, 3},
		{"inline, as the API used to", true, func(f *ghfake.Server, host ghfake.File) {
			f.Attest(fakeAttestation(all), hexSum(host.Data))
		}, progs, 3},
		{"only the asset itself", false, func(f *ghfake.Server, host ghfake.File) {
			f.Attest(fakeAttestation(map[string][]byte{host.Name: host.Data}), hexSum(host.Data))
		}, progs, 1},
		{"the checksums file is attested", false, func(f *ghfake.Server, host ghfake.File) {
			f.Attest(fakeAttestation(map[string][]byte{"checksums.txt": sums}), hexSum(sums))
		}, append(append([]ghfake.File(nil), progs...), ghfake.File{Name: "checksums.txt", Data: sums}), 3},
		{"an attestation the verifier refuses", false, func(f *ghfake.Server, host ghfake.File) {
			f.Attest([]byte(`{"not":"ours"}`), hexSum(host.Data))
		}, progs, 0},
		{"none at all", false, func(*ghfake.Server, ghfake.File) {}, progs, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			host := hostProgram(t, progs)
			f := newFakeGitHub(t, "acme", "hello")
			f.Add(ghfake.Release{Tag: "v1.2.3", Files: tc.files})
			tc.attest(f, host)
			f.Do(func(st *ghfake.State) { st.InlineBundles = tc.inline })
			v := fakeAttest{}
			s := newSource(t, f, Options{})
			got := digests(t, s, v)
			n := 0
			for _, p := range progs {
				switch got[p.Name] {
				case "":
				case sha256Digest(p.Data).String():
					n++
				default:
					t.Errorf("%s: digest %s is not its own", p.Name, got[p.Name])
				}
			}
			if n != tc.trusted {
				t.Errorf("%d programs trusted, want %d: %v", n, tc.trusted, got)
			}
			var before int
			f.Do(func(st *ghfake.State) { before = st.Attestations })
			digests(t, s, v)
			f.Do(func(st *ghfake.State) {
				if st.Attestations != before {
					t.Errorf("a second look asked for attestations again (%d, then %d)", before, st.Attestations)
				}
				if !tc.inline && tc.trusted > 0 && st.BundleDownloads != 1 {
					t.Errorf("%d bundle downloads, want 1", st.BundleDownloads)
				}
			})
		})
	}
}

// TestAttestationsAreForThisMachinesAsset: no request is made for a
// release without an asset for this machine.
func TestAttestationsAreForThisMachinesAsset(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t, "acme", "hello")
	f.Add(ghfake.Release{Tag: "v1.2.3", Files: []ghfake.File{{Name: "hello_1.2.3_plan9_386.tar.gz", Data: []byte("x")}}})
	if _, err := newSource(t, f, Options{}).Releases(context.Background(), fakeAttest{}); err != nil {
		t.Fatal(err)
	}
	f.Do(func(st *ghfake.State) {
		if st.Attestations != 0 {
			t.Errorf("%d requests for attestations, want 0", st.Attestations)
		}
	})
}
