package github

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/molt-go/update/internal/ghfake"
	"github.com/molt-go/update/source"
)

// listedPlatforms are the platforms TestRealReleases checks, in the order
// of its table.
var listedPlatforms = []string{"linux/amd64", "linux/arm64", "linux/386", "darwin/amd64", "darwin/arm64", "windows/amd64"}

// realReleases says, for the release names of 24 projects gathered in
// internal/platform/testdata/releases (from their release configurations),
// which file the listing offers each platform of listedPlatforms, "" for
// none. It agrees with internal/platform's own table (release_test.go) by
// construction, since the source chooses through it; what it checks is
// that a release served as the API serves it comes out so.
var realReleases = map[string][6]string{
	"age":     {"age-v1.0.0-linux-amd64.tar.gz", "age-v1.0.0-linux-arm64.tar.gz", "", "age-v1.0.0-darwin-amd64.tar.gz", "age-v1.0.0-darwin-arm64.tar.gz", "age-v1.0.0-windows-amd64.zip"},
	"buf":     {"buf-Linux-x86_64.tar.gz", "buf-Linux-aarch64.tar.gz", "", "buf-Darwin-x86_64.tar.gz", "buf-Darwin-arm64.tar.gz", "buf-Windows-x86_64.exe"},
	"caddy":   {"caddy_2.0.0_Linux_x86_64.tar.gz", "caddy_2.0.0_Linux_arm64.tar.gz", "caddy_2.0.0_Linux_i386.tar.gz", "caddy_2.0.0_macOS_x86_64.tar.gz", "", "caddy_2.0.0_Windows_x86_64.zip"},
	"chezmoi": {"chezmoi_2.52.0_linux_amd64.tar.gz", "chezmoi_2.52.0_linux_arm64.tar.gz", "chezmoi_2.52.0_linux_i386.tar.gz", "chezmoi_2.52.0_darwin_amd64.tar.gz", "chezmoi_2.52.0_darwin_arm64.tar.gz", "chezmoi_2.52.0_windows_amd64.zip"},
	"cosign":  {"cosign-linux-amd64", "cosign-linux-arm64", "", "cosign-darwin-amd64", "cosign-darwin-arm64", "cosign-windows-amd64.exe"},
	"croc":    {"croc_9.1.0_Linux-64bit.tar.gz", "croc_9.1.0_Linux-ARM64.tar.gz", "croc_9.1.0_Linux-32bit.tar.gz", "croc_9.1.0_macOS-64bit.tar.gz", "croc_9.1.0_macOS-ARM64.tar.gz", "croc_9.1.0_Windows-64bit.zip"},
	"fzf":     {"fzf-0.56.0-linux_amd64.tar.gz", "fzf-0.56.0-linux_arm64.tar.gz", "", "fzf-0.56.0-darwin_amd64.tar.gz", "fzf-0.56.0-darwin_arm64.tar.gz", "fzf-0.56.0-windows_amd64.zip"},
	"gh":      {"gh_2.0.0_linux_amd64.tar.gz", "gh_2.0.0_linux_arm64.tar.gz", "gh_2.0.0_linux_386.tar.gz", "gh_2.0.0_macOS_amd64.tar.gz", "", "gh_2.0.0_windows_amd64.zip"},
	// gitea publishes each binary bare and as .xz; this test does not link
	// the xz decompressor (compress/xz), so the bare one is offered.
	"gitea":         {"gitea-1.22.0-linux-amd64", "gitea-1.22.0-linux-arm64", "gitea-1.22.0-linux-386", "gitea-1.22.0-darwin-10.12-amd64", "gitea-1.22.0-darwin-10.12-arm64", "gitea-1.22.0-windows-4.0-amd64.exe"},
	"glow":          {"glow_1.4.1_linux_x86_64.tar.gz", "glow_1.4.1_linux_arm64.tar.gz", "glow_1.4.1_linux_i386.tar.gz", "glow_1.4.1_Darwin_x86_64.tar.gz", "glow_1.4.1_Darwin_arm64.tar.gz", "glow_1.4.1_Windows_x86_64.zip"},
	"golangci-lint": {"golangci-lint-1.62.0-linux-amd64.tar.gz", "golangci-lint-1.62.0-linux-arm64.tar.gz", "golangci-lint-1.62.0-linux-386.tar.gz", "golangci-lint-1.62.0-darwin-amd64.tar.gz", "golangci-lint-1.62.0-darwin-arm64.tar.gz", "golangci-lint-1.62.0-windows-amd64.zip"},
	"goreleaser":    {"goreleaser_Linux_x86_64.tar.gz", "goreleaser_Linux_arm64.tar.gz", "goreleaser_Linux_i386.tar.gz", "goreleaser_Darwin_x86_64.tar.gz", "goreleaser_Darwin_arm64.tar.gz", "goreleaser_Windows_x86_64.zip"},
	"hugo":          {"hugo_0.103.0_linux-64bit.tar.gz", "hugo_0.103.0_linux-ARM64.tar.gz", "", "hugo_0.103.0_macOS-universal.tar.gz", "hugo_0.103.0_macOS-universal.tar.gz", "hugo_0.103.0_Windows-64bit.zip"},
	"k9s":           {"k9s_Linux_amd64.tar.gz", "k9s_Linux_arm64.tar.gz", "", "k9s_Darwin_amd64.tar.gz", "k9s_Darwin_arm64.tar.gz", "k9s_Windows_amd64.zip"},
	"lazygit":       {"lazygit_0.31.4_Linux_x86_64.tar.gz", "lazygit_0.31.4_Linux_arm64.tar.gz", "lazygit_0.31.4_Linux_32-bit.tar.gz", "lazygit_0.31.4_Darwin_x86_64.tar.gz", "lazygit_0.31.4_Darwin_arm64.tar.gz", "lazygit_0.31.4_Windows_x86_64.zip"},
	"ollama":        {"ollama-linux-amd64.tgz", "ollama-linux-arm64.tgz", "", "ollama-darwin.tgz", "ollama-darwin.tgz", "ollama-windows-amd64.zip"},
	"prometheus":    {"prometheus-2.15.2.linux-amd64.tar.gz", "prometheus-2.15.2.linux-arm64.tar.gz", "prometheus-2.15.2.linux-386.tar.gz", "prometheus-2.15.2.darwin-amd64.tar.gz", "", "prometheus-2.15.2.windows-amd64.tar.gz"},
	"rclone":        {"rclone-v1.53.0-linux-amd64.zip", "rclone-v1.53.0-linux-arm64.zip", "rclone-v1.53.0-linux-386.zip", "rclone-v1.53.0-osx-amd64.zip", "", "rclone-v1.53.0-windows-amd64.zip"},
	"restic":        {"restic_0.17.3_linux_amd64.bz2", "restic_0.17.3_linux_arm64.bz2", "restic_0.17.3_linux_386.bz2", "restic_0.17.3_darwin_amd64.bz2", "restic_0.17.3_darwin_arm64.bz2", "restic_0.17.3_windows_amd64.zip"},
	"sops":          {"sops-3.9.4.linux.amd64", "sops-3.9.4.linux.arm64", "", "sops-3.9.4.darwin.amd64", "sops-3.9.4.darwin.arm64", ""},
	"syncthing":     {"syncthing-linux-amd64-v0.14.40.tar.gz", "syncthing-linux-arm64-v0.14.40.tar.gz", "syncthing-linux-386-v0.14.40.tar.gz", "syncthing-macosx-amd64-v0.14.40.tar.gz", "", "syncthing-windows-amd64-v0.14.40.zip"},
	"traefik":       {"traefik_v3.2.0_linux_amd64.tar.gz", "traefik_v3.2.0_linux_arm64.tar.gz", "traefik_v3.2.0_linux_386.tar.gz", "traefik_v3.2.0_darwin_amd64.tar.gz", "traefik_v3.2.0_darwin_arm64.tar.gz", "traefik_v3.2.0_windows_amd64.zip"},
	"trivy":         {"trivy_0.20.0_Linux-64bit.tar.gz", "trivy_0.20.0_Linux-ARM64.tar.gz", "trivy_0.20.0_Linux-32bit.tar.gz", "trivy_0.20.0_macOS-64bit.tar.gz", "trivy_0.20.0_macOS-ARM64.tar.gz", ""},
	"yq":            {"yq_linux_amd64.tar.gz", "yq_linux_arm64.tar.gz", "yq_linux_386.tar.gz", "yq_darwin_amd64.tar.gz", "yq_darwin_arm64.tar.gz", "yq_windows_amd64.zip"},
}

// releaseNames reads a file of internal/platform/testdata/releases: a
// comment saying where the names came from, then one name a line.
func releaseNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			names = append(names, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// servedListing serves one release of files named names (their contents
// their names) and lists it with o.
func servedListing(t *testing.T, tag string, names []string, o Options) *source.Listing {
	t.Helper()
	f := newFakeGitHub(t, "acme", "x")
	var files []ghfake.File
	for _, n := range names {
		files = append(files, ghfake.File{Name: n, Data: []byte(n)})
	}
	f.Add(ghfake.Release{Tag: tag, Files: files})
	l, err := newSource(t, f, o).Releases(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Releases) != 1 {
		t.Fatalf("listing has %d releases, want 1", len(l.Releases))
	}
	return l
}

// offered maps os/arch to the asset the listing's only release offers.
func offered(l *source.Listing) map[string]source.Asset {
	m := map[string]source.Asset{}
	for _, a := range l.Releases[0].Assets {
		m[a.OS+"/"+a.Arch] = a
	}
	return m
}

// TestRealReleases serves the real release names of 24 projects and checks
// the asset the listing offers each platform.
func TestRealReleases(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../internal/platform/testdata/releases/*.txt")
	if err != nil || len(files) != len(realReleases) {
		t.Fatalf("%d release files (%v), %d in the table", len(files), err, len(realReleases))
	}
	for _, path := range files {
		app := strings.TrimSuffix(filepath.Base(path), ".txt")
		want, ok := realReleases[app]
		if !ok {
			t.Errorf("%s has no expectations", path)
			continue
		}
		t.Run(app, func(t *testing.T) {
			t.Parallel()
			got := offered(servedListing(t, "v1.0.0", releaseNames(t, path), Options{App: app}))
			for i, p := range listedPlatforms {
				if got[p].Name != want[i] {
					t.Errorf("%s: offered %q, want %q", p, got[p].Name, want[i])
				}
			}
		})
	}
}

// TestNamingConventions serves one release per naming habit the issue
// named, and checks what is offered.
func TestNamingConventions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files []string
		o     Options
		want  map[string]string // os/arch -> asset; only these are offered
	}{
		{"dots as separators", []string{"sops-3.9.4.linux.amd64", "sops-3.9.4.darwin", "sops-3.9.4.exe"},
			Options{App: "sops"}, map[string]string{"linux/amd64": "sops-3.9.4.linux.amd64",
				"darwin/amd64": "sops-3.9.4.darwin", "darwin/arm64": "sops-3.9.4.darwin"}},
		{"64bit as an arch", []string{"croc_9.1.0_Linux-64bit.tar.gz", "croc_9.1.0_Linux-32bit.tar.gz"},
			Options{App: "croc"}, map[string]string{"linux/amd64": "croc_9.1.0_Linux-64bit.tar.gz", "linux/386": "croc_9.1.0_Linux-32bit.tar.gz"}},
		{"arm spelled many ways", []string{"a_linux_aarch64.tar.gz", "a_linux_armhf.tar.gz", "a_linux_armel.tar.gz"},
			Options{App: "a"}, map[string]string{"linux/arm64": "a_linux_aarch64.tar.gz", "linux/arm": "a_linux_armhf.tar.gz"}},
		{"arm_7 and arm_6", []string{"a_linux_arm_6.tar.gz", "a_linux_arm_7.tar.gz"},
			Options{App: "a"}, map[string]string{"linux/arm": "a_linux_arm_7.tar.gz"}},
		{"flavours: the plain build", []string{"hugo_0.1.0_linux-amd64.tar.gz", "hugo_extended_0.1.0_linux-amd64.tar.gz"},
			Options{App: "hugo"}, map[string]string{"linux/amd64": "hugo_0.1.0_linux-amd64.tar.gz"}},
		{"flavours: the one asked for", []string{"hugo_0.1.0_linux-amd64.tar.gz", "hugo_extended_0.1.0_linux-amd64.tar.gz"},
			Options{App: "hugo", Flavour: "extended"}, map[string]string{"linux/amd64": "hugo_extended_0.1.0_linux-amd64.tar.gz"}},
		{"flavours: static musl over nothing", []string{"a_linux_amd64_musl.tar.gz", "a_windows_amd64_msvc.zip"},
			Options{App: "a"}, map[string]string{"linux/amd64": "a_linux_amd64_musl.tar.gz", "windows/amd64": "a_windows_amd64_msvc.zip"}},
		{"flavours that tie: none, with a warning", []string{"a_linux_amd64_rocm.tgz", "a_linux_amd64_cuda.tgz"},
			Options{App: "a"}, map[string]string{}},
		{"a bare binary beside its archive is one build", []string{"yq_linux_amd64", "yq_linux_amd64.tar.gz"},
			Options{App: "yq"}, map[string]string{"linux/amd64": "yq_linux_amd64.tar.gz"}},
		{"universal macOS beside a specific build", []string{"a_darwin_all.tar.gz", "a_darwin_arm64.tar.gz"},
			Options{App: "a"}, map[string]string{"darwin/amd64": "a_darwin_all.tar.gz", "darwin/arm64": "a_darwin_arm64.tar.gz"}},
		{".bz2 and .gzip are compressed programs", []string{"r_linux_amd64.bz2", "r_darwin_arm64.gzip"},
			Options{App: "r"}, map[string]string{"linux/amd64": "r_linux_amd64.bz2", "darwin/arm64": "r_darwin_arm64.gzip"}},
		{"packages and metadata are never programs", []string{"a_linux_amd64.deb", "a_linux_amd64.rpm", "a_linux_amd64.sbom.json",
			"a_linux_amd64.tar.gz.sig", "a_linux_amd64.pem", "a_checksums.txt", "a_linux_amd64.apk", "a_linux_amd64.tar.gz.sha256"},
			Options{App: "a"}, map[string]string{}},
		{"other programs of the repository", []string{"a_linux_amd64.tar.gz", "a-server_linux_amd64.tar.gz"},
			Options{App: "a"}, map[string]string{"linux/amd64": "a_linux_amd64.tar.gz"}},
		{"app defaults to the repository's name", []string{"x_linux_amd64.tar.gz", "y_linux_amd64.tar.gz"},
			Options{}, map[string]string{"linux/amd64": "x_linux_amd64.tar.gz"}},
		{"naming rules of the caller's", []string{"tool-penguin.tgz", "tool-fruit.zip", "tool-penguin.tgz.sig"},
			Options{App: "tool", Platform: func(name string) (Platform, bool) {
				switch {
				case strings.Contains(name, "penguin"):
					return Platform{OS: "linux", Arch: "x86_64"}, true
				case strings.Contains(name, "fruit"):
					return Platform{OS: "macOS", Arch: "universal"}, true
				}
				return Platform{}, false
			}}, map[string]string{"linux/amd64": "tool-penguin.tgz", "darwin/amd64": "tool-fruit.zip", "darwin/arm64": "tool-fruit.zip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := offered(servedListing(t, "v1.0.0", tc.files, tc.o))
			if len(got) != len(tc.want) {
				t.Errorf("offered %v, want %v", got, tc.want)
			}
			for p, name := range tc.want {
				if got[p].Name != name {
					t.Errorf("%s: offered %q, want %q", p, got[p].Name, name)
				}
			}
		})
	}
}

// TestExecutableOption checks that Options.Executable names the program in
// every archive, with .exe for Windows, and in no bare file.
func TestExecutableOption(t *testing.T) {
	t.Parallel()
	l := servedListing(t, "v1.0.0", []string{"a_linux_amd64.tar.gz", "a_windows_amd64.zip", "a_darwin_arm64"},
		Options{App: "a", Executable: "bin/a-cli"})
	got := offered(l)
	for p, want := range map[string]string{"linux/amd64": "bin/a-cli", "windows/amd64": "bin/a-cli.exe", "darwin/arm64": ""} {
		if got[p].Executable != want {
			t.Errorf("%s: Executable %q, want %q", p, got[p].Executable, want)
		}
	}
	// Without the option the updater looks for the usual names.
	for _, a := range servedListing(t, "v1.0.0", []string{"a_linux_amd64.tar.gz"}, Options{App: "a"}).Releases[0].Assets {
		if a.Executable != "" {
			t.Errorf("%s: Executable %q without the option", a.Name, a.Executable)
		}
	}
}
