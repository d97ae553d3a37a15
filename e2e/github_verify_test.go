//go:build unix

package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"aead.dev/minisign"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/molt-go/update/internal/ghfake"
	"github.com/molt-go/update/internal/testtool"
	"github.com/molt-go/update/verify/sigstore"
	"github.com/molt-go/update/verify/sigstore/sigstoretest"
)

// releaseWorkflow is the identity a release of molt-go/hello is signed
// under by its (test) Sigstore: the release workflow on the release tag.
const releaseWorkflow = "https://github.com/molt-go/hello/.github/workflows/release.yml@refs/tags/v1.1.0"

// built is hello 1.1.0 as the tests build it (with every verifier), and
// its archive for this machine, made once.
var built struct {
	once     sync.Once
	exe, tgz []byte
}

// builtRelease returns hello 1.1.0's executable and a goreleaser-style
// tar.gz of it for this machine.
func builtRelease(t testing.TB) (exe, tgz []byte) {
	t.Helper()
	path := program(t, helloPkg, "1.1.0")
	built.once.Do(func() {
		built.exe = readFile(t, path)
		built.tgz = tarGz(t, tarEntry{name: "hello", data: built.exe})
	})
	return built.exe, built.tgz
}

// checksumsOf writes a goreleaser checksums file for files.
func checksumsOf(files ...ghfake.File) []byte {
	var b strings.Builder
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		b.WriteString(hex.EncodeToString(sum[:]) + "  " + f.Name + "\n")
	}
	return []byte(b.String())
}

// helloInstall is hello 1.0.0 installed in a folder of its own, with a
// state directory, updating from a fake GitHub.
type helloInstall struct {
	t      testing.TB
	gh     *ghfake.Server
	target string
	state  string
	dir    string
}

func installHello(t testing.TB, gh *ghfake.Server) *helloInstall {
	t.Helper()
	dir := t.TempDir()
	h := &helloInstall{t: t, gh: gh, dir: dir, target: filepath.Join(dir, "bin", "hello"), state: filepath.Join(dir, "state")}
	if err := os.Mkdir(filepath.Dir(h.target), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, program(t, helloPkg, "1.0.0"), h.target, 0o755)
	return h
}

// file writes data to a file of the install's folder and returns its path.
func (h *helloInstall) file(name string, data []byte) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// run runs the installed hello against the fake GitHub with extra flags.
// hello's main always reads -key (the PEM key its updater is given); the
// GitHub verification flags replace it for the listing.
func (h *helloInstall) run(args ...string) (string, string) {
	h.t.Helper()
	base := []string{"-github", h.gh.Owner + "/" + h.gh.Repo, "-github-api", h.gh.APIURL(), "-state", h.state}
	if !containsFlag(args, "-key") {
		base = append(base, "-key", filepath.Join(ghDist, "cosign.pub"))
	}
	return runEnv(h.t, []string{"GITHUB_TOKEN="}, h.target, append(base, args...)...)
}

func containsFlag(args []string, f string) bool {
	for _, a := range args {
		if a == f {
			return true
		}
	}
	return false
}

// updated checks that hello said it is 1.1.0 and that the installed file is
// want; refused checks that it is still 1.0.0, unchanged.
func (h *helloInstall) updated(out, errOut string, want []byte) {
	h.t.Helper()
	if out != "hello 1.1.0\n" {
		h.t.Fatalf("hello printed %q, want only hello 1.1.0\nstderr:\n%s", out, errOut)
	}
	if got := readFile(h.t, h.target); !bytes.Equal(got, want) {
		h.t.Fatalf("the installed hello (%d bytes) is not the released one (%d bytes)", len(got), len(want))
	}
}

func (h *helloInstall) refused(before snapshot, out, errOut, why string) {
	h.t.Helper()
	if out != "hello 1.0.0\n" || !strings.Contains(errOut, why) {
		h.t.Fatalf("hello printed %q, want hello 1.0.0 after an update that failed with %q\nstderr:\n%s", out, why, errOut)
	}
	unchanged(h.t, h.target, before)
}

// TestGitHubKeylessSigstore: hello updates from a release whose
// checksums.txt is signed keylessly by the repository's release workflow
// (a Sigstore bundle, new and old form, checked offline against the test
// Sigstore's trusted root, its transparency-log entry included), and
// refuses the same kind of bundle made under another workflow, another
// issuer or another Sigstore.
func TestGitHubKeylessSigstore(t *testing.T) {
	t.Parallel()
	exe, tgz := builtRelease(t)
	ss := sigstoretest.New(t)
	archive := ghfake.File{Name: hostArchive("1.1.0"), Data: tgz}
	sums := checksumsOf(archive)
	for _, tc := range []struct {
		name    string
		sigFile string
		bundle  []byte
		refused string // "" if hello must update
	}{
		{"bundle by the release workflow", "checksums.txt.sigstore.json", ss.SignBlob(releaseWorkflow, sigstore.GitHubActionsIssuer, sums), ""},
		{"cosign's older bundle", "checksums.txt.bundle", ss.LegacyBundle(releaseWorkflow, sigstore.GitHubActionsIssuer, sums), ""},
		{"another workflow", "checksums.txt.sigstore.json",
			ss.SignBlob("https://github.com/molt-go/hello/.github/workflows/ci.yml@refs/tags/v1.1.0", sigstore.GitHubActionsIssuer, sums), "not verified"},
		{"another issuer", "checksums.txt.sigstore.json", ss.SignBlob(releaseWorkflow, "https://accounts.example.com", sums), "not verified"},
		{"another Sigstore", "checksums.txt.sigstore.json", sigstoretest.New(t).SignBlob(releaseWorkflow, sigstore.GitHubActionsIssuer, sums), "not verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gh := newGitHub(t)
			gh.Add(ghfake.Release{Tag: "v1.1.0", Files: []ghfake.File{archive,
				{Name: "checksums.txt", Data: sums}, {Name: tc.sigFile, Data: tc.bundle}}})
			h := installHello(t, gh)
			before := snap(t, h.target)
			out, errOut := h.run("-sigstore-workflow", ".github/workflows/release.yml", "-sigstore-root", h.file("trusted_root.json", ss.TrustedRoot()))
			if tc.refused != "" {
				h.refused(before, out, errOut, tc.refused)
				return
			}
			h.updated(out, errOut, exe)
		})
	}
}

// TestGitHubKeylessSigstoreWithoutBundle: hello updates from a release
// whose checksums.txt is signed keylessly with no bundle, a .sig and a
// .pem as goreleaser publishes them by default, by looking the signature
// up in the (test) Sigstore's Rekor log on 127.0.0.1; and refuses the
// same files made under another workflow, a signature the log does not
// have, and, with no verdict, an update while the log is down.
func TestGitHubKeylessSigstoreWithoutBundle(t *testing.T) {
	t.Parallel()
	exe, tgz := builtRelease(t)
	ss := sigstoretest.New(t)
	archive := ghfake.File{Name: hostArchive("1.1.0"), Data: tgz}
	sums := checksumsOf(archive)
	good := ss.SignDetached(releaseWorkflow, sigstore.GitHubActionsIssuer, sums)
	ci := ss.SignDetached("https://github.com/molt-go/hello/.github/workflows/ci.yml@refs/tags/v1.1.0", sigstore.GitHubActionsIssuer, sums)
	other := sigstoretest.New(t) // a log that has nothing of this release
	down := func() *sigstoretest.Rekor { r := ss.ServeRekor(); r.Close(); return r }
	for _, tc := range []struct {
		name    string
		d       sigstoretest.Detached
		log     func() *sigstoretest.Rekor
		refused string // "" if hello must update
	}{
		{"by the release workflow", good, ss.ServeRekor, ""},
		{"by another workflow", ci, ss.ServeRekor, "not verified"},
		{"not in the log", good, other.ServeRekor, "not in the transparency log"},
		{"the log is down", good, down, "transparency log unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gh := newGitHub(t)
			gh.Add(ghfake.Release{Tag: "v1.1.0", Files: []ghfake.File{archive, {Name: "checksums.txt", Data: sums},
				{Name: "checksums.txt.sig", Data: tc.d.Sig}, {Name: "checksums.txt.pem", Data: tc.d.Cert}}})
			h := installHello(t, gh)
			before := snap(t, h.target)
			log := tc.log()
			out, errOut := h.run("-sigstore-workflow", ".github/workflows/release.yml",
				"-sigstore-root", h.file("trusted_root.json", ss.TrustedRoot()), "-sigstore-rekor", log.URL)
			if n, _ := log.Requests(); tc.refused != "transparency log unreachable" && n == 0 {
				t.Errorf("hello did not ask the log")
			}
			if tc.refused != "" {
				h.refused(before, out, errOut, tc.refused)
				return
			}
			h.updated(out, errOut, exe)
		})
	}
}

// TestGitHubAttestation: hello updates from a release that only a GitHub
// artifact attestation of its release workflow vouches for (fetched from
// the attestations API, by reference, snappy-compressed, as GitHub serves
// them), and refuses one made by another workflow.
func TestGitHubAttestation(t *testing.T) {
	t.Parallel()
	exe, tgz := builtRelease(t)
	ss := sigstoretest.New(t)
	archive := ghfake.File{Name: hostArchive("1.1.0"), Data: tgz}
	sum := sha256.Sum256(tgz)
	provenance := sigstoretest.Provenance("molt-go/hello", ".github/workflows/release.yml", "refs/tags/v1.1.0",
		sigstoretest.Subject{Name: archive.Name, Data: tgz})
	for _, tc := range []struct {
		name, identity string
		refused        string
	}{
		{"by the release workflow", releaseWorkflow, ""},
		{"by another workflow", "https://github.com/molt-go/hello/.github/workflows/ci.yml@refs/tags/v1.1.0", "no trusted digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gh := newGitHub(t)
			gh.Add(ghfake.Release{Tag: "v1.1.0", Files: []ghfake.File{archive, {Name: "checksums.txt", Data: checksumsOf(archive)}}})
			gh.Attest(ss.Attest(tc.identity, sigstore.GitHubActionsIssuer, provenance), hex.EncodeToString(sum[:]))
			h := installHello(t, gh)
			before := snap(t, h.target)
			out, errOut := h.run("-attest-workflow", ".github/workflows/release.yml", "-sigstore-root", h.file("trusted_root.json", ss.TrustedRoot()))
			gh.Do(func(st *ghfake.State) {
				if st.Attestations == 0 || st.BundleDownloads == 0 {
					t.Errorf("%d attestation requests, %d bundle downloads; want some", st.Attestations, st.BundleDownloads)
				}
			})
			if tc.refused != "" {
				h.refused(before, out, errOut, tc.refused)
				return
			}
			h.updated(out, errOut, exe)
		})
	}
}

// TestGitHubSignedSHA256SUMS: hello updates from releases whose SHA256SUMS
// is signed with minisign, or cleartext-signed with OpenPGP, by keys it
// pins, and refuses one signed by another minisign key.
func TestGitHubSignedSHA256SUMS(t *testing.T) {
	t.Parallel()
	exe, tgz := builtRelease(t)
	archive := ghfake.File{Name: hostArchive("1.1.0"), Data: tgz}
	sums := checksumsOf(archive)
	pub, priv := minisignKey(t)
	_, otherPriv := minisignKey(t)
	pgpPub, pgpPriv := pgpKey(t)
	for _, tc := range []struct {
		name    string
		files   []ghfake.File
		flag    func(h *helloInstall) []string
		refused string
	}{
		{"minisign", []ghfake.File{{Name: "SHA256SUMS", Data: sums}, {Name: "SHA256SUMS.minisig", Data: minisignSign(t, priv, sums)}},
			func(*helloInstall) []string { return []string{"-minisign-key", pub} }, ""},
		{"minisign by another key", []ghfake.File{{Name: "SHA256SUMS", Data: sums}, {Name: "SHA256SUMS.minisig", Data: minisignSign(t, otherPriv, sums)}},
			func(*helloInstall) []string { return []string{"-minisign-key", pub} }, "bad signature"},
		{"OpenPGP, cleartext-signed", []ghfake.File{{Name: "SHA256SUMS", Data: clearsigned(t, pgpPriv, sums)}},
			func(h *helloInstall) []string { return []string{"-pgp-key", h.file("release.asc", pgpPub)} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gh := newGitHub(t)
			gh.Add(ghfake.Release{Tag: "v1.1.0", Files: append([]ghfake.File{archive}, tc.files...)})
			h := installHello(t, gh)
			before := snap(t, h.target)
			out, errOut := h.run(tc.flag(h)...)
			if tc.refused != "" {
				h.refused(before, out, errOut, tc.refused)
				return
			}
			h.updated(out, errOut, exe)
		})
	}
}

func minisignKey(t testing.TB) (string, minisign.PrivateKey) {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub.String(), priv
}

// minisignSign signs data as minisign -S does (prehashed).
func minisignSign(t testing.TB, priv minisign.PrivateKey, data []byte) []byte {
	t.Helper()
	r := minisign.NewReader(bytes.NewReader(data))
	if _, err := r.Read(make([]byte, len(data)+1)); err != nil {
		t.Fatal(err)
	}
	return r.Sign(priv)
}

func pgpKey(t testing.TB) ([]byte, *openpgp.Entity) {
	t.Helper()
	e, err := openpgp.NewEntity("hello release", "", "release@example.invalid", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes(), e
}

// clearsigned is data cleartext-signed as gpg --clearsign writes it.
func clearsigned(t testing.TB, e *openpgp.Entity, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := clearsign.Encode(&buf, e.PrivateKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

// TestGitHubReleaseLayouts: hello updates from a release of a single
// bzip2-compressed binary (restic's layout), and from one whose archive
// holds the program under the archive's name beside a man page, with the
// bare binary published too (yq's layout); both signed with a pinned
// cosign key.
func TestGitHubReleaseLayouts(t *testing.T) {
	t.Parallel()
	exe, _ := builtRelease(t)
	key := newCosignKey(t)
	plat := runtime.GOOS + "_" + runtime.GOARCH
	for _, tc := range []struct {
		name  string
		files func(t *testing.T) []ghfake.File
	}{
		{"bzip2", func(t *testing.T) []ghfake.File {
			bz := testtool.Find(t, "apt-get install bzip2", "bzip2")
			cmd := exec.Command(bz, "-c")
			cmd.Stdin = bytes.NewReader(exe)
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			return []ghfake.File{{Name: "hello_1.1.0_" + plat + ".bz2", Data: out}}
		}},
		{"yq", func(t *testing.T) []ghfake.File {
			return []ghfake.File{
				{Name: "hello_" + plat, Data: exe},
				{Name: "hello_" + plat + ".tar.gz", Data: tarGz(t,
					tarEntry{name: "./hello_" + plat, data: exe}, tarEntry{name: "./hello.1", data: []byte(".TH HELLO 1\n")})},
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gh := newGitHub(t)
			gh.Add(ghfake.Release{Tag: "v1.1.0", Files: key.signed(t, tc.files(t), "")})
			h := installHello(t, gh)
			out, errOut := h.run("-key", h.file("cosign.pub", key.pub))
			h.updated(out, errOut, exe)
			// Of yq's two files of one build, the archive is taken.
			if tc.name == "yq" && !strings.Contains(errOut, "download hello_"+plat+".tar.gz") {
				t.Errorf("hello did not download the archive:\n%s", errOut)
			}
		})
	}
}

// TestGitHubUnchangedReleaseCostsOneRequest: once hello has updated, a
// run against the same, unchanged repository asks GitHub one question, a
// conditional one that GitHub answers 304, and downloads nothing: the
// answers and files of the last run are in its state directory.
func TestGitHubUnchangedReleaseCostsOneRequest(t *testing.T) {
	t.Parallel()
	exe, tgz := builtRelease(t)
	archive := ghfake.File{Name: hostArchive("1.1.0"), Data: tgz}
	sums := checksumsOf(archive)
	pub, priv := minisignKey(t)
	gh := newGitHub(t)
	gh.Add(ghfake.Release{Tag: "v1.0.0", Files: []ghfake.File{{Name: hostArchive("1.0.0"), Data: []byte("old")}}},
		ghfake.Release{Tag: "v1.1.0", Files: []ghfake.File{archive, {Name: "SHA256SUMS", Data: sums},
			{Name: "SHA256SUMS.minisig", Data: minisignSign(t, priv, sums)}}})
	h := installHello(t, gh)
	out, errOut := h.run("-minisign-key", pub)
	h.updated(out, errOut, exe)

	type counts struct{ api, conditional, notModified, full, downloads int }
	get := func() (c counts) {
		gh.Do(func(st *ghfake.State) {
			c = counts{st.API, st.Conditional, st.NotModified + st.LatestNotModified, st.FullPages + st.Latest, len(st.StoreAuth)}
		})
		return c
	}
	before := get()
	out, errOut = h.run("-minisign-key", pub)
	if out != "hello 1.1.0\n" {
		t.Fatalf("second run printed %q\n%s", out, errOut)
	}
	after := get()
	d := counts{after.api - before.api, after.conditional - before.conditional, after.notModified - before.notModified,
		after.full - before.full, after.downloads - before.downloads}
	t.Logf("first run (update and re-exec): %+v; second run: %+v", before, d)
	if d != (counts{api: 1, conditional: 1, notModified: 1}) {
		t.Fatalf("second run: %+v; want one conditional API request answered 304, nothing else", d)
	}
}
