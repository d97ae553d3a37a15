package platform

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// platforms are the machines every release in testdata/releases is
// checked on, in the order of the expectations below.
var platforms = []Want{
	{GOOS: "linux", GOARCH: "amd64"},
	{GOOS: "linux", GOARCH: "arm64"},
	{GOOS: "linux", GOARCH: "arm", GOARM: 6},
	{GOOS: "linux", GOARCH: "arm", GOARM: 7},
	{GOOS: "linux", GOARCH: "386"},
	{GOOS: "darwin", GOARCH: "amd64"},
	{GOOS: "darwin", GOARCH: "arm64"},
	{GOOS: "windows", GOARCH: "amd64"},
}

// none stands for ErrNoMatch in the table.
const none = "-"

// releases says, for each file of testdata/releases (named after the app),
// which asset a person would install on each of platforms, or none.
//
// Where the answer differs from what a person who knows the project would
// pick, the comment says why: a plain "arm" build names no ARM level and
// Choose takes it as v7 (see plainARMLevel), so age, restic and yq, which
// build it with GOARM=6, are refused on a v6 machine rather than risk
// installing a v7 build there; and a name with no architecture word is
// only taken on macOS.
var releases = map[string][8]string{
	"age": {
		"age-v1.0.0-linux-amd64.tar.gz", "age-v1.0.0-linux-arm64.tar.gz",
		none, // built with GOARM=6, named plain arm
		"age-v1.0.0-linux-arm.tar.gz", none,
		"age-v1.0.0-darwin-amd64.tar.gz", "age-v1.0.0-darwin-arm64.tar.gz", "age-v1.0.0-windows-amd64.zip",
	},
	"buf": {
		"buf-Linux-x86_64.tar.gz", "buf-Linux-aarch64.tar.gz", none, none, none,
		"buf-Darwin-x86_64.tar.gz", "buf-Darwin-arm64.tar.gz", "buf-Windows-x86_64.exe",
	},
	"caddy": {
		"caddy_2.0.0_Linux_x86_64.tar.gz", "caddy_2.0.0_Linux_arm64.tar.gz",
		"caddy_2.0.0_Linux_armv6.tar.gz", "caddy_2.0.0_Linux_armv7.tar.gz", "caddy_2.0.0_Linux_i386.tar.gz",
		"caddy_2.0.0_macOS_x86_64.tar.gz", none, "caddy_2.0.0_Windows_x86_64.zip",
	},
	"chezmoi": {
		"chezmoi_2.52.0_linux_amd64.tar.gz", "chezmoi_2.52.0_linux_arm64.tar.gz",
		none, // goarm '': plain arm
		"chezmoi_2.52.0_linux_arm.tar.gz", "chezmoi_2.52.0_linux_i386.tar.gz",
		"chezmoi_2.52.0_darwin_amd64.tar.gz", "chezmoi_2.52.0_darwin_arm64.tar.gz", "chezmoi_2.52.0_windows_amd64.zip",
	},
	"cosign": {
		"cosign-linux-amd64", "cosign-linux-arm64", none, "cosign-linux-arm", none,
		"cosign-darwin-amd64", "cosign-darwin-arm64", "cosign-windows-amd64.exe",
	},
	"croc": {
		"croc_9.1.0_Linux-64bit.tar.gz", "croc_9.1.0_Linux-ARM64.tar.gz", none, "croc_9.1.0_Linux-ARM.tar.gz",
		"croc_9.1.0_Linux-32bit.tar.gz", "croc_9.1.0_macOS-64bit.tar.gz", "croc_9.1.0_macOS-ARM64.tar.gz",
		"croc_9.1.0_Windows-64bit.zip",
	},
	"fzf": {
		"fzf-0.56.0-linux_amd64.tar.gz", "fzf-0.56.0-linux_arm64.tar.gz", "fzf-0.56.0-linux_armv6.tar.gz",
		"fzf-0.56.0-linux_armv7.tar.gz", none, "fzf-0.56.0-darwin_amd64.tar.gz", "fzf-0.56.0-darwin_arm64.tar.gz",
		"fzf-0.56.0-windows_amd64.zip",
	},
	"gh": {
		"gh_2.0.0_linux_amd64.tar.gz", "gh_2.0.0_linux_arm64.tar.gz", "gh_2.0.0_linux_armv6.tar.gz",
		"gh_2.0.0_linux_armv6.tar.gz", "gh_2.0.0_linux_386.tar.gz", "gh_2.0.0_macOS_amd64.tar.gz",
		none, // no arm64 build then; Choose does not fall back to Rosetta
		"gh_2.0.0_windows_amd64.zip",
	},
	"gitea": {
		"gitea-1.22.0-linux-amd64.xz", "gitea-1.22.0-linux-arm64.xz", "gitea-1.22.0-linux-arm-6.xz",
		"gitea-1.22.0-linux-arm-6.xz", "gitea-1.22.0-linux-386.xz", "gitea-1.22.0-darwin-10.12-amd64.xz",
		"gitea-1.22.0-darwin-10.12-arm64.xz", "gitea-1.22.0-windows-4.0-amd64.exe.xz",
	},
	"glow": {
		"glow_1.4.1_linux_x86_64.tar.gz", "glow_1.4.1_linux_arm64.tar.gz", "glow_1.4.1_linux_armv6.tar.gz",
		"glow_1.4.1_linux_armv7.tar.gz", "glow_1.4.1_linux_i386.tar.gz", "glow_1.4.1_Darwin_x86_64.tar.gz",
		"glow_1.4.1_Darwin_arm64.tar.gz", "glow_1.4.1_Windows_x86_64.zip",
	},
	"golangci-lint": {
		"golangci-lint-1.62.0-linux-amd64.tar.gz", "golangci-lint-1.62.0-linux-arm64.tar.gz",
		"golangci-lint-1.62.0-linux-armv6.tar.gz", "golangci-lint-1.62.0-linux-armv7.tar.gz",
		"golangci-lint-1.62.0-linux-386.tar.gz", "golangci-lint-1.62.0-darwin-amd64.tar.gz",
		"golangci-lint-1.62.0-darwin-arm64.tar.gz", "golangci-lint-1.62.0-windows-amd64.zip",
	},
	"goreleaser": {
		"goreleaser_Linux_x86_64.tar.gz", "goreleaser_Linux_arm64.tar.gz", none, "goreleaser_Linux_armv7.tar.gz",
		"goreleaser_Linux_i386.tar.gz", "goreleaser_Darwin_x86_64.tar.gz", "goreleaser_Darwin_arm64.tar.gz",
		"goreleaser_Windows_x86_64.zip",
	},
	"hugo": {
		"hugo_0.103.0_linux-64bit.tar.gz", "hugo_0.103.0_linux-ARM64.tar.gz", none, "hugo_0.103.0_linux-arm.tar.gz",
		none, "hugo_0.103.0_macOS-universal.tar.gz", "hugo_0.103.0_macOS-universal.tar.gz",
		"hugo_0.103.0_Windows-64bit.zip",
	},
	"k9s": {
		"k9s_Linux_amd64.tar.gz", "k9s_Linux_arm64.tar.gz", none, "k9s_Linux_armv7.tar.gz", none,
		"k9s_Darwin_amd64.tar.gz", "k9s_Darwin_arm64.tar.gz", "k9s_Windows_amd64.zip",
	},
	"lazygit": {
		"lazygit_0.31.4_Linux_x86_64.tar.gz", "lazygit_0.31.4_Linux_arm64.tar.gz", "lazygit_0.31.4_Linux_armv6.tar.gz",
		"lazygit_0.31.4_Linux_armv6.tar.gz", "lazygit_0.31.4_Linux_32-bit.tar.gz", "lazygit_0.31.4_Darwin_x86_64.tar.gz",
		"lazygit_0.31.4_Darwin_arm64.tar.gz", "lazygit_0.31.4_Windows_x86_64.zip",
	},
	"ollama": {
		"ollama-linux-amd64.tgz", "ollama-linux-arm64.tgz", none, none, none,
		"ollama-darwin.tgz", "ollama-darwin.tgz", // the CLI tarball, not the app's zip
		"ollama-windows-amd64.zip",
	},
	"prometheus": {
		"prometheus-2.15.2.linux-amd64.tar.gz", "prometheus-2.15.2.linux-arm64.tar.gz",
		"prometheus-2.15.2.linux-armv6.tar.gz", "prometheus-2.15.2.linux-armv7.tar.gz",
		"prometheus-2.15.2.linux-386.tar.gz", "prometheus-2.15.2.darwin-amd64.tar.gz", none,
		"prometheus-2.15.2.windows-amd64.tar.gz",
	},
	"rclone": {
		"rclone-v1.53.0-linux-amd64.zip", "rclone-v1.53.0-linux-arm64.zip",
		"rclone-v1.53.0-linux-arm.zip", // plain arm beside arm-v7 is taken as v6
		"rclone-v1.53.0-linux-arm-v7.zip", "rclone-v1.53.0-linux-386.zip", "rclone-v1.53.0-osx-amd64.zip", none,
		"rclone-v1.53.0-windows-amd64.zip",
	},
	"restic": {
		"restic_0.17.3_linux_amd64.bz2", "restic_0.17.3_linux_arm64.bz2",
		none, // built with GOARM=6, named plain arm
		"restic_0.17.3_linux_arm.bz2", "restic_0.17.3_linux_386.bz2", "restic_0.17.3_darwin_amd64.bz2",
		"restic_0.17.3_darwin_arm64.bz2", "restic_0.17.3_windows_amd64.zip",
	},
	"sops": {
		"sops-3.9.4.linux.amd64", "sops-3.9.4.linux.arm64", none, none, none,
		"sops-3.9.4.darwin.amd64", "sops-3.9.4.darwin.arm64", // exact over universal
		none, // "sops-3.9.4.exe" names neither OS nor architecture
	},
	"syncthing": {
		"syncthing-linux-amd64-v0.14.40.tar.gz", "syncthing-linux-arm64-v0.14.40.tar.gz", none,
		"syncthing-linux-arm-v0.14.40.tar.gz", "syncthing-linux-386-v0.14.40.tar.gz",
		"syncthing-macosx-amd64-v0.14.40.tar.gz", none, "syncthing-windows-amd64-v0.14.40.zip",
	},
	"traefik": {
		"traefik_v3.2.0_linux_amd64.tar.gz", "traefik_v3.2.0_linux_arm64.tar.gz", "traefik_v3.2.0_linux_armv6.tar.gz",
		"traefik_v3.2.0_linux_armv7.tar.gz", "traefik_v3.2.0_linux_386.tar.gz", "traefik_v3.2.0_darwin_amd64.tar.gz",
		"traefik_v3.2.0_darwin_arm64.tar.gz", "traefik_v3.2.0_windows_amd64.zip",
	},
	"trivy": {
		"trivy_0.20.0_Linux-64bit.tar.gz", "trivy_0.20.0_Linux-ARM64.tar.gz", none, "trivy_0.20.0_Linux-ARM.tar.gz",
		"trivy_0.20.0_Linux-32bit.tar.gz", "trivy_0.20.0_macOS-64bit.tar.gz", "trivy_0.20.0_macOS-ARM64.tar.gz",
		none, // no windows build
	},
	"yq": {
		"yq_linux_amd64.tar.gz", "yq_linux_arm64.tar.gz",
		none, // goreleaser's default GOARM 6, named plain arm
		"yq_linux_arm.tar.gz", "yq_linux_386.tar.gz", "yq_darwin_amd64.tar.gz", "yq_darwin_arm64.tar.gz",
		"yq_windows_amd64.zip", // the zip over the bare .exe: one build
	},
}

// readRelease reads a file of testdata/releases: a comment saying where
// the names came from, then one name a line.
func readRelease(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sourced := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		switch {
		case strings.HasPrefix(line, "#"):
			sourced = sourced || strings.Contains(line, " @ ")
		case line != "":
			names = append(names, line)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if !sourced || len(names) == 0 {
		t.Fatalf("%s: want a comment naming its source (repo path @ commit) and some names", path)
	}
	return names
}

func TestReleases(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/releases/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(releases) {
		t.Errorf("%d release files, %d in the table", len(files), len(releases))
	}
	for _, path := range files {
		app := strings.TrimSuffix(filepath.Base(path), ".txt")
		want, ok := releases[app]
		if !ok {
			t.Errorf("%s has no expectations", path)
			continue
		}
		names := readRelease(t, path)
		t.Run(app, func(t *testing.T) {
			t.Parallel()
			for i, w := range platforms {
				got, err := Choose(names, app, w)
				switch {
				case want[i] == none:
					if !errors.Is(err, ErrNoMatch) {
						t.Errorf("%s: Choose = %q, %v; want ErrNoMatch", w, got, err)
					}
				case err != nil || got != want[i]:
					t.Errorf("%s: Choose = %q, %v; want %q", w, got, err, want[i])
				}
			}
		})
	}
}

// TestReleaseNames checks every gathered name one by one: it is a program
// of its app, or a file that never is one, or another program; and what
// Parse says about it survives a round trip through its Label.
func TestReleaseNames(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/releases/*.txt")
	total := 0
	for _, path := range files {
		app := strings.TrimSuffix(filepath.Base(path), ".txt")
		for _, n := range readRelease(t, path) {
			total++
			a, ok := Parse(n, app)
			if !ok {
				continue
			}
			if a.Format == NotProgram || a.OS == "" || (a.Arch == "") != a.Universal {
				t.Errorf("Parse(%q) = %+v: inconsistent", n, a)
			}
			if !strings.HasPrefix(a.Label(), a.OS+"/") {
				t.Errorf("Parse(%q).Label() = %q", n, a.Label())
			}
		}
	}
	if total < 500 {
		t.Errorf("only %d names gathered", total)
	}
}
