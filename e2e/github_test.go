//go:build unix

package e2e

//go:generate sh testdata/goreleaser/gen.sh

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	update "github.com/molt-go/update"
	"github.com/molt-go/update/internal/archive"
	"github.com/molt-go/update/internal/ghfake"
	"github.com/molt-go/update/source/feed"
	"github.com/molt-go/update/source/github"
	"github.com/molt-go/update/verify"
)

// ghDist holds the release of hello 1.1.0 that gen.sh made with the real
// goreleaser and cosign.
const ghDist = "testdata/goreleaser/dist"

// hostArchive is the name goreleaser gave the archive for this machine.
func hostArchive(version string) string {
	return fmt.Sprintf("hello_%s_%s_%s.tar.gz", version, runtime.GOOS, runtime.GOARCH)
}

// newGitHub starts a fake GitHub API for the repository molt-go/hello, its
// JSON shaped like the API's documented example.
func newGitHub(t testing.TB) *ghfake.Server {
	t.Helper()
	return ghfake.New(t, "molt-go", "hello", readFile(t, "../source/github/testdata/api/releases.json"))
}

// goreleaserArchives returns the archives of the checked-in release.
func goreleaserArchives(t testing.TB) []ghfake.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(ghDist, "hello_1.1.0_*"))
	if err != nil || len(names) < 4 {
		t.Fatalf("%s holds %d archives (%v): run go generate ./e2e", ghDist, len(names), err)
	}
	var fs []ghfake.File
	for _, n := range names {
		fs = append(fs, ghfake.File{Name: filepath.Base(n), Data: readFile(t, n)})
	}
	return fs
}

// goreleaserFiles returns the archives and checksums.txt of the checked-in
// release, and the signature files in sigs (name served -> file in ghDist).
func goreleaserFiles(t testing.TB, sigs map[string]string) []ghfake.File {
	t.Helper()
	fs := append(goreleaserArchives(t), ghfake.File{Name: "checksums.txt", Data: readFile(t, filepath.Join(ghDist, "checksums.txt"))})
	for name, from := range sigs {
		fs = append(fs, ghfake.File{Name: name, Data: readFile(t, filepath.Join(ghDist, from))})
	}
	return fs
}

// withFile returns fs with the file called name given data.
func withFile(t testing.TB, fs []ghfake.File, name string, data []byte) []ghfake.File {
	t.Helper()
	out := append([]ghfake.File(nil), fs...)
	for i := range out {
		if out[i].Name == name {
			out[i].Data = data
			return out
		}
	}
	t.Fatalf("no file %s in the release", name)
	return nil
}

// executableIn returns the bytes of the entry called hello in a tar.gz.
func executableIn(t testing.TB, tgz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no hello in the archive: %v", err)
		}
		if filepath.Base(hdr.Name) == "hello" {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// runEnv runs exe with extra environment variables and returns its stdout
// and stderr.
func runEnv(t testing.TB, env []string, exe string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstdout: %s\nstderr: %s", exe, args, err, out.Bytes(), errb.Bytes())
	}
	return out.String(), errb.String()
}

// TestGitHubSelfUpdate runs hello 1.0.0 against a GitHub release of hello
// 1.1.0 made by goreleaser and signed by cosign: it downloads the archive
// for this machine, checks it against the signed checksums.txt, extracts
// it, probes it, installs it and re-executes into it.
func TestGitHubSelfUpdate(t *testing.T) {
	t.Parallel()
	want := executableIn(t, readFile(t, filepath.Join(ghDist, hostArchive("1.1.0"))))
	for _, tc := range []struct {
		name  string
		sig   string // how checksums.txt is signed: the file in ghDist, served under that name
		token string // set, the repository is private
	}{
		{"cosign signature", "checksums.txt.sig", ""},
		{"sigstore bundle", "checksums.txt.sigstore.json", ""},
		{"private repository with GITHUB_TOKEN", "checksums.txt.sig", "s3cr3t-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gh := newGitHub(t)
			gh.Add(ghfake.Release{Tag: "v1.1.0", Files: goreleaserFiles(t, map[string]string{tc.sig: tc.sig})})
			dir := t.TempDir()
			target := filepath.Join(dir, "bin", "hello")
			if err := os.Mkdir(filepath.Dir(target), 0o755); err != nil {
				t.Fatal(err)
			}
			copyFile(t, program(t, helloPkg, "1.0.0"), target, 0o755)
			args := []string{"-github", "molt-go/hello", "-github-api", gh.APIURL(),
				"-key", filepath.Join(ghDist, "cosign.pub"), "-state", filepath.Join(dir, "state")}

			if tc.token != "" {
				gh.Do(func(st *ghfake.State) { st.Token = tc.token })
				// Without the token the repository is not found: hello
				// says so and goes on as 1.0.0.
				before := snap(t, target)
				out, _ := runEnv(t, []string{"GITHUB_TOKEN="}, target, args...)
				if out != "hello 1.0.0\n" {
					t.Fatalf("without a token hello printed %q, want hello 1.0.0", out)
				}
				unchanged(t, target, before)
			}

			out, errOut := runEnv(t, []string{"GITHUB_TOKEN=" + tc.token}, target, args...)
			if out != "hello 1.1.0\n" {
				t.Fatalf("hello printed %q, want only hello 1.1.0 (from the new version)\nstderr:\n%s", out, errOut)
			}
			t.Logf("hello's steps:\n%s", errOut)
			if v := versionOf(t, target); v != "1.1.0" {
				t.Fatalf("the installed hello is %s, want 1.1.0", v)
			}
			if got := readFile(t, target); !bytes.Equal(got, want) {
				t.Fatalf("the installed hello (%d bytes) is not the one in %s (%d bytes)", len(got), hostArchive("1.1.0"), len(want))
			}
			if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o755 {
				t.Fatalf("installed hello: %v, %v; want mode 0755", fi, err)
			}

			gh.Do(func(st *ghfake.State) {
				if tc.token == "" {
					if st.APIAsset != 0 {
						t.Errorf("%d downloads through the API without a token, want 0 (public URLs)", st.APIAsset)
					}
					return
				}
				// checksums.txt, its signature and the archive, at least.
				if st.APIAsset < 3 {
					t.Errorf("%d downloads through the API, want at least 3", st.APIAsset)
				}
				for _, acc := range st.APIAccept {
					if acc != "application/octet-stream" {
						t.Errorf("an asset was asked for with Accept %q", acc)
					}
				}
				for _, auth := range st.StoreAuth {
					if auth != "" {
						t.Errorf("the storage host got Authorization %q", auth)
					}
				}
			})
		})
	}
}

// cosignKey is a signing key made in the test. It signs as
// "cosign sign-blob --key" does (ECDSA P-256 over SHA-256, base64), for
// releases the checked-in one does not cover.
type cosignKey struct {
	signer signature.Signer
	pub    []byte
}

func newCosignKey(t testing.TB) *cosignKey {
	t.Helper()
	privPEM, pub, err := feed.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(privPEM, cryptoutils.SkipPassword)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &cosignKey{signer: s, pub: pub}
}

func (k *cosignKey) sign(t testing.TB, data []byte) []byte {
	t.Helper()
	sig, err := k.signer.SignMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(base64.StdEncoding.EncodeToString(sig))
}

// signed returns files with a checksums.txt and its signature by k. The
// checksums file is sums, or if sums is empty one that lists the files as
// goreleaser does.
func (k *cosignKey) signed(t testing.TB, files []ghfake.File, sums string) []ghfake.File {
	t.Helper()
	text := sums
	if text == "" {
		var b strings.Builder
		for _, f := range files {
			sum := sha256.Sum256(f.Data)
			fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), f.Name)
		}
		text = b.String()
	}
	return append(files,
		ghfake.File{Name: "checksums.txt", Data: []byte(text)},
		ghfake.File{Name: "checksums.txt.sig", Data: k.sign(t, []byte(text))})
}

// tarEntry is one entry of an archive made in the test.
type tarEntry struct {
	name, link string // link set: a symbolic link
	data       []byte
}

func tarGz(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o755, Size: int64(len(e.data)), Typeflag: tar.TypeReg}
		if e.link != "" {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeSymlink, e.link, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGitHubRefusedUpdates serves releases of hello 1.1.0 that are wrong
// in one way each, to the updater with the GitHub source, and checks the
// error it returns and that the installed hello 1.0.0 did not change.
func TestGitHubRefusedUpdates(t *testing.T) {
	t.Parallel()
	hostTgz := hostArchive("1.1.0")
	real := readFile(t, filepath.Join(ghDist, hostTgz))
	realSums := string(readFile(t, filepath.Join(ghDist, "checksums.txt")))
	hostZip := strings.TrimSuffix(hostTgz, ".tar.gz") + ".zip"
	key := newCosignKey(t) // a key the updater pins in the cases that say so
	sig := map[string]string{"checksums.txt.sig": "checksums.txt.sig"}
	release := func(files []ghfake.File) []ghfake.Release {
		return []ghfake.Release{{Tag: "v1.1.0", Files: files}}
	}
	for _, tc := range []struct {
		name string
		rels func(t *testing.T) []ghfake.Release
		pub  []byte // the key pinned; nil is the checked-in cosign.pub
		edit func(*update.Options)
		// control, if not nil, edits the options so that the same release
		// is found: what refused it is what the case says, nothing else.
		control func(*update.Options)
		want    error
		step    update.Step
		limit   bool // the API answers that the rate limit is spent
	}{
		// A signed checksums file that does not list the asset (or lists
		// it twice) vouches for nothing about it: the release is found,
		// and its asset refused for want of a trusted digest.
		{name: "asset missing from checksums.txt", pub: key.pub, want: update.ErrNotVerified, step: update.StepVerify,
			rels: func(t *testing.T) []ghfake.Release {
				var kept strings.Builder
				for _, l := range strings.SplitAfter(realSums, "\n") {
					if !strings.Contains(l, hostTgz) {
						kept.WriteString(l)
					}
				}
				return release(key.signed(t, goreleaserArchives(t), kept.String()))
			}},
		{name: "asset listed twice in checksums.txt", pub: key.pub, want: update.ErrNotVerified, step: update.StepVerify,
			rels: func(t *testing.T) []ghfake.Release {
				var doubled strings.Builder
				for _, l := range strings.SplitAfter(realSums, "\n") {
					doubled.WriteString(l)
					if strings.Contains(l, hostTgz) {
						doubled.WriteString(l)
					}
				}
				return release(key.signed(t, goreleaserArchives(t), doubled.String()))
			}},
		// Keyless signatures are no forgery of the pinned key's: not
		// evidence, and not a listing that fails either.
		{name: "only keyless signatures, a key pinned", want: update.ErrNotVerified, step: update.StepVerify,
			rels: func(t *testing.T) []ghfake.Release {
				return release(append(goreleaserFiles(t, nil),
					ghfake.File{Name: "checksums.txt.sig", Data: []byte("MEUCIQDkeyless")},
					ghfake.File{Name: "checksums.txt.pem", Data: []byte("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t")}))
			}},
		{name: "checksums signed by another key", want: verify.ErrBadSignature, step: update.StepFind,
			rels: func(t *testing.T) []ghfake.Release {
				return release(goreleaserFiles(t, map[string]string{"checksums.txt.sig": "checksums.txt.other.sig"}))
			}},
		{name: "bundle for other bytes", want: verify.ErrDigestMismatch, step: update.StepFind,
			rels: func(t *testing.T) []ghfake.Release {
				return release(goreleaserFiles(t, map[string]string{"checksums.txt.sigstore.json": "other.sigstore.json"}))
			}},
		{name: "archive tampered on the way", want: verify.ErrDigestMismatch, step: update.StepVerify,
			rels: func(t *testing.T) []ghfake.Release {
				// GitHub's digest is the true one; the bytes served are not.
				fs := withFile(t, goreleaserFiles(t, sig), hostTgz, flipByte(real))
				for i := range fs {
					if fs[i].Name == hostTgz {
						fs[i].Digest = sha256Of(real)
					}
				}
				return release(fs)
			}},
		{name: "archive replaced after signing", want: verify.ErrDigestMismatch, step: update.StepFind,
			rels: func(t *testing.T) []ghfake.Release {
				return release(withFile(t, goreleaserFiles(t, sig), hostTgz, flipByte(real)))
			}},
		{name: "zip with ../ entries", pub: key.pub, want: archive.ErrUnsafe, step: update.StepExtract,
			rels: func(t *testing.T) []ghfake.Release {
				return release(key.signed(t, []ghfake.File{{Name: hostZip, Data: zipOf(t,
					tarEntry{name: "../../hello", data: []byte("#!/bin/sh\necho pwned\n")},
					tarEntry{name: "hello", data: executableIn(t, real)})}}, ""))
			}},
		{name: "tar with a symlink named hello", pub: key.pub, want: archive.ErrUnsafe, step: update.StepExtract,
			rels: func(t *testing.T) []ghfake.Release {
				return release(key.signed(t, []ghfake.File{{Name: hostTgz, Data: tarGz(t,
					tarEntry{name: "hello", link: "/bin/sh"})}}, ""))
			}},
		{name: "gzip bomb", pub: key.pub, want: archive.ErrTooLarge, step: update.StepExtract,
			edit: func(o *update.Options) { o.MaxAssetSize = 1 << 20 },
			rels: func(t *testing.T) []ghfake.Release {
				// 32 MiB of zeros, about 32 KiB compressed.
				return release(key.signed(t, []ghfake.File{{Name: hostTgz, Data: tarGz(t,
					tarEntry{name: "hello", data: make([]byte, 32<<20)})}}, ""))
			}},
		{name: "only an arm build for an arm64 machine", pub: key.pub, want: update.ErrNoAsset, step: update.StepFind,
			edit:    func(o *update.Options) { o.OS, o.Arch = "linux", "arm64" },
			control: func(o *update.Options) { o.OS, o.Arch = "linux", "arm" },
			rels: func(t *testing.T) []ghfake.Release {
				return release(key.signed(t, []ghfake.File{
					{Name: "hello_1.1.0_linux_armv7.tar.gz", Data: real},
					{Name: "hello_1.1.0_linux_armv6.tar.gz", Data: real}}, ""))
			}},
		{name: "rate limited", want: github.ErrRateLimited, step: update.StepFind, limit: true,
			rels: func(t *testing.T) []ghfake.Release { return release(goreleaserFiles(t, sig)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gh := newGitHub(t)
			gh.Add(tc.rels(t)...)
			reset := time.Now().Add(37 * time.Minute).Truncate(time.Second)
			if tc.limit {
				gh.Do(func(st *ghfake.State) { st.Limit, st.ResetAt = "primary", reset })
			}
			w := newWorld(t)
			err := w.refused(tc.want, ghOptions(t, gh, tc.pub, tc.edit))
			if ue, _ := errors.AsType[*update.Error](err); ue == nil || ue.Step != tc.step {
				t.Errorf("failed at step %v, want %s: %v", ue, tc.step, err)
			}
			if tc.control != nil {
				before := snap(t, w.target)
				res, err := w.updater(ghOptions(t, gh, tc.pub, tc.control)).Find(context.Background())
				if err != nil || res.To != "v1.1.0" {
					t.Errorf("control: Find = %+v, %v; want v1.1.0", res, err)
				}
				unchanged(t, w.target, before)
			}
			if tc.limit {
				rl, ok := errors.AsType[*github.RateLimitError](err)
				if !ok || !rl.Reset.Equal(reset) {
					t.Fatalf("error %v: want a *github.RateLimitError resetting at %v", err, reset)
				}
				if !errors.Is(err, update.ErrUnavailable) {
					t.Errorf("a spent rate limit should be ErrUnavailable (try later): %v", err)
				}
			}
		})
	}
}

// ghOptions points the world's updater at the fake repository, pinning pub
// (the checked-in cosign.pub if nil), then applies edit.
func ghOptions(t testing.TB, gh *ghfake.Server, pub []byte, edit func(*update.Options)) func(*update.Options) {
	t.Helper()
	if pub == nil {
		pub = readFile(t, filepath.Join(ghDist, "cosign.pub"))
	}
	keys, err := verify.Signature(pub)
	if err != nil {
		t.Fatal(err)
	}
	src, err := github.New(github.Options{Owner: gh.Owner, Repo: gh.Repo, BaseURL: gh.APIURL(), App: "hello", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return func(o *update.Options) {
		o.Source, o.Verifier = src, keys
		if edit != nil {
			edit(o)
		}
	}
}

func flipByte(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)/2] ^= 0x40
	return b
}

func sha256Of(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestGitHubPrereleasesOnly: a repository whose only newer release is a
// prerelease is up to date on the stable channel, and nothing is
// installed; on the rc channel the same release is found and verified.
func TestGitHubPrereleasesOnly(t *testing.T) {
	t.Parallel()
	gh := newGitHub(t)
	gh.Add(ghfake.Release{Tag: "v1.1.0-rc.1", Pre: true,
		Files: goreleaserFiles(t, map[string]string{"checksums.txt.sig": "checksums.txt.sig"})})
	w := newWorld(t)
	before := snap(t, w.target)
	u := w.updater(ghOptions(t, gh, nil, nil))
	res, err := u.Check(context.Background())
	if err != nil || res.Updated {
		t.Fatalf("Check on the stable channel: %+v, %v; want up to date and no error", res, err)
	}
	if _, err := u.Find(context.Background()); !errors.Is(err, update.ErrUpToDate) {
		t.Fatalf("Find on the stable channel: %v, want ErrUpToDate", err)
	}
	unchanged(t, w.target, before)
	// On the rc channel the same release is found, with its verified digest.
	res, err = w.updater(ghOptions(t, gh, nil, func(o *update.Options) { o.Channel = "rc" })).Find(context.Background())
	if err != nil || res.To != "v1.1.0-rc.1" || res.Asset == nil || res.Asset.Digest.IsZero() {
		t.Fatalf("Find on the rc channel: %+v, %v; want v1.1.0-rc.1 with a digest", res, err)
	}
	unchanged(t, w.target, before)
}
