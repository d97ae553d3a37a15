package platform

import (
	"slices"
	"strings"
	"testing"
)

// TestParseConventions has one case per naming convention Parse knows.
func TestParseConventions(t *testing.T) {
	t.Parallel()
	type p struct {
		os, arch  string
		arm, amd  int
		universal bool
		flavour   []string
	}
	for _, tc := range []struct {
		name string
		want p
		ok   bool
	}{
		// separators
		{"app_1.0.0_linux_amd64.tar.gz", p{os: "linux", arch: "amd64"}, true},
		{"app-1.0.0-linux-amd64.tar.gz", p{os: "linux", arch: "amd64"}, true},
		{"app-1.0.0.linux.amd64", p{os: "linux", arch: "amd64"}, true},
		{"app-1.0.0.linux-amd64.tar.gz", p{os: "linux", arch: "amd64"}, true},
		{"app_linux-amd64.zip", p{os: "linux", arch: "amd64"}, true},
		// case
		{"APP_1.0.0_LINUX_AMD64.TAR.GZ", p{os: "linux", arch: "amd64"}, true},
		{"App_Linux_X86_64.tar.gz", p{os: "linux", arch: "amd64"}, true},
		// OS spellings
		{"app_darwin_arm64.tar.gz", p{os: "darwin", arch: "arm64"}, true},
		{"app_macos_arm64.tar.gz", p{os: "darwin", arch: "arm64"}, true},
		{"app_macOS_arm64.tar.gz", p{os: "darwin", arch: "arm64"}, true},
		{"app_osx_amd64.zip", p{os: "darwin", arch: "amd64"}, true},
		{"app_mac_arm64.tar.gz", p{os: "darwin", arch: "arm64"}, true},
		{"app-macosx-amd64-v1.0.0.tar.gz", p{os: "darwin", arch: "amd64"}, true},
		{"app-x86_64-apple-darwin.tar.gz", p{os: "darwin", arch: "amd64"}, true},
		{"app-aarch64-apple-darwin.tar.gz", p{os: "darwin", arch: "arm64"}, true},
		{"app_windows_amd64.zip", p{os: "windows", arch: "amd64"}, true},
		{"app_win_x64.zip", p{os: "windows", arch: "amd64"}, true},
		{"app-win64.zip", p{os: "windows", arch: "amd64"}, true},
		{"app-win32.zip", p{os: "windows", arch: "386"}, true},
		{"app-win32-x64.zip", p{os: "windows", arch: "amd64"}, true},
		{"app-x86_64-pc-windows-msvc.zip", p{os: "windows", arch: "amd64", flavour: []string{"msvc"}}, true},
		{"app_freebsd_amd64.tar.gz", p{os: "freebsd", arch: "amd64"}, true},
		{"app_OpenBSD-64bit.tar.gz", p{os: "openbsd", arch: "amd64"}, true},
		{"app_DragonFlyBSD-64bit.tar.gz", p{os: "dragonfly", arch: "amd64"}, true},
		{"app_illumos_amd64.tar.gz", p{os: "illumos", arch: "amd64"}, true},
		{"app_android_arm64.tar.gz", p{os: "android", arch: "arm64"}, true},
		// amd64 spellings
		{"app_linux_x86_64.tar.gz", p{os: "linux", arch: "amd64"}, true},
		{"app-linux-x86-64.tar.gz", p{os: "linux", arch: "amd64"}, true},
		{"app_linux_x64.tar.gz", p{os: "linux", arch: "amd64"}, true},
		{"app_Linux-64bit.tar.gz", p{os: "linux", arch: "amd64"}, true},
		{"app_Linux_64-bit.tar.gz", p{os: "linux", arch: "amd64"}, true},
		{"app_linux_amd64v3.tar.gz", p{os: "linux", arch: "amd64", amd: 3}, true},
		{"app_linux_amd64_v2.tar.gz", p{os: "linux", arch: "amd64", amd: 2}, true},
		// 386 spellings
		{"app_linux_386.tar.gz", p{os: "linux", arch: "386"}, true},
		{"app_linux_i386.tar.gz", p{os: "linux", arch: "386"}, true},
		{"app_linux_i686.tar.gz", p{os: "linux", arch: "386"}, true},
		{"app_linux_x86.tar.gz", p{os: "linux", arch: "386"}, true},
		{"app_Linux-32bit.tar.gz", p{os: "linux", arch: "386"}, true},
		{"app_Linux_32-bit.tar.gz", p{os: "linux", arch: "386"}, true},
		// arm64 spellings
		{"app_linux_arm64.tar.gz", p{os: "linux", arch: "arm64"}, true},
		{"app_linux_aarch64.tar.gz", p{os: "linux", arch: "arm64"}, true},
		{"app_linux_armv8.tar.gz", p{os: "linux", arch: "arm64"}, true},
		{"app_Linux-ARM64.tar.gz", p{os: "linux", arch: "arm64"}, true},
		// arm variants
		{"app_linux_armv5.tar.gz", p{os: "linux", arch: "arm", arm: 5}, true},
		{"app_linux_ARMv5.tar.gz", p{os: "linux", arch: "arm", arm: 5}, true},
		{"app_linux_armv6.tar.gz", p{os: "linux", arch: "arm", arm: 6}, true},
		{"app_linux_armv7.tar.gz", p{os: "linux", arch: "arm", arm: 7}, true},
		{"app-linux-arm-v7.zip", p{os: "linux", arch: "arm", arm: 7}, true},
		{"app_linux_arm_6.tar.gz", p{os: "linux", arch: "arm", arm: 6}, true},
		{"app-linux-arm-5", p{os: "linux", arch: "arm", arm: 5}, true},
		{"app_linux_arm7.tar.gz", p{os: "linux", arch: "arm", arm: 7}, true},
		{"app_linux_armhf.tar.gz", p{os: "linux", arch: "arm", arm: 7}, true},
		{"app_linux_armel.tar.gz", p{os: "linux", arch: "arm", arm: 5}, true},
		{"app_linux_armv7l.tar.gz", p{os: "linux", arch: "arm", arm: 7}, true},
		{"app_linux_arm.tar.gz", p{os: "linux", arch: "arm"}, true},
		{"app_Linux-ARM.tar.gz", p{os: "linux", arch: "arm"}, true},
		// universal mac builds
		{"app_darwin_universal.tar.gz", p{os: "darwin", universal: true}, true},
		{"app_macOS-universal.tar.gz", p{os: "darwin", universal: true}, true},
		{"app_Darwin_all.tar.gz", p{os: "darwin", universal: true}, true},
		{"app-darwin.tgz", p{os: "darwin", universal: true}, true},
		{"app-1.0.0.darwin", p{os: "darwin", universal: true}, true},
		{"app_linux_all.tar.gz", p{}, false},
		{"app_all_linux_amd64.tar.gz", p{os: "linux", arch: "amd64", flavour: []string{"all"}}, true},
		{"app_linux_arm64_v8.tar.gz", p{os: "linux", arch: "arm64"}, true},
		{"app_linux.tar.gz", p{}, false},
		{"app_amd64.tar.gz", p{}, false},
		// flavours
		{"app_1.0_linux_amd64_musl.tar.gz", p{os: "linux", arch: "amd64", flavour: []string{"musl"}}, true},
		{"app_1.0_linux-glibc_amd64.tar.gz", p{os: "linux", arch: "amd64", flavour: []string{"glibc"}}, true},
		{"app-x86_64-unknown-linux-gnu.tar.gz", p{os: "linux", arch: "amd64", flavour: []string{"gnu"}}, true},
		{"app_extended_1.0_linux-amd64.tar.gz", p{os: "linux", arch: "amd64", flavour: []string{"extended"}}, true},
		{"app-linux-pivkey-pkcs11key-amd64", p{os: "linux", arch: "amd64", flavour: []string{"pivkey", "pkcs11key"}}, true},
		{"app-linux-amd64-rocm.tgz", p{os: "linux", arch: "amd64", flavour: []string{"rocm"}}, true},
		{"app_1.0_linux_amd64_static.tar.gz", p{os: "linux", arch: "amd64", flavour: []string{"static"}}, true},
		{"app-server_1.0_linux_amd64.tar.gz", p{os: "linux", arch: "amd64", flavour: []string{"server"}}, true},
		// versions are not flavours
		{"app_v1.2.3_linux_amd64.tar.gz", p{os: "linux", arch: "amd64"}, true},
		{"app-1.2.0-rc.1-linux-amd64", p{os: "linux", arch: "amd64"}, true},
		{"app-1.2.0-beta2-linux-amd64", p{os: "linux", arch: "amd64"}, true},
		{"app-linux-amd64-v1.2.3-rc.1.tar.gz", p{os: "linux", arch: "amd64"}, true},
		{"app-1.0.0-darwin-10.12-amd64.xz", p{os: "darwin", arch: "amd64"}, true},
		{"app_20260102_linux_amd64", p{os: "linux", arch: "amd64"}, true},
		// .exe
		{"app_windows_amd64.exe", p{os: "windows", arch: "amd64"}, true},
		{"app_windows_amd64.EXE", p{os: "windows", arch: "amd64"}, true},
		{"app_windows_amd64.exe.zip", p{os: "windows", arch: "amd64"}, true},
		// not programs of app
		{"app_1.0_checksums.txt", p{}, false},
		{"checksums.txt", p{}, false},
		{"SHA256SUMS", p{}, false},
		{"app_1.0_linux_amd64.tar.gz.sig", p{}, false},
		{"app_1.0_linux_amd64.tar.gz.sbom.json", p{}, false},
		{"app_1.0_linux_amd64.deb", p{}, false},
		{"app-1.0-1-x86_64.pkg.tar.zst", p{}, false},
		{"apple_linux_amd64.tar.gz", p{}, false},
		{"other_linux_amd64.tar.gz", p{}, false},
		{"app", p{}, false},
		{"app_", p{}, false},
	} {
		a, ok := Parse(tc.name, "app")
		got := p{a.OS, a.Arch, a.GOARM, a.GOAMD64, a.Universal, a.Flavour}
		if ok != tc.ok || (ok && (got.os != tc.want.os || got.arch != tc.want.arch || got.arm != tc.want.arm ||
			got.amd != tc.want.amd || got.universal != tc.want.universal || !slices.Equal(got.flavour, tc.want.flavour))) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseFields(t *testing.T) {
	t.Parallel()
	a, ok := Parse("Hello_1.2.0-rc.1_Linux_armv7.TAR.GZ", "hello")
	want := Asset{
		Name: "Hello_1.2.0-rc.1_Linux_armv7.TAR.GZ", App: "Hello", Version: "1.2.0-rc.1",
		OS: "linux", Arch: "arm", GOARM: 7, Format: TarGz, Ext: ".TAR.GZ", Stem: "Hello_1.2.0-rc.1_Linux_armv7",
	}
	if !ok || a.Name != want.Name || a.App != want.App || a.Version != want.Version || a.OS != want.OS ||
		a.Arch != want.Arch || a.GOARM != want.GOARM || a.Format != want.Format || a.Ext != want.Ext ||
		a.Stem != want.Stem || a.Exe || len(a.Flavour) != 0 {
		t.Fatalf("Parse = %+v, %v\nwant %+v", a, ok, want)
	}
	if a.Platform() != "linux/armv7" || a.Label() != "linux/armv7" {
		t.Errorf("Platform, Label = %q, %q", a.Platform(), a.Label())
	}
	b, ok := Parse("restic_0.19.1_windows_amd64.exe", "restic")
	if !ok || !b.Exe || b.Stem != "restic_0.19.1_windows_amd64" || b.Version != "0.19.1" || b.Format != Bare {
		t.Errorf("Parse(restic exe) = %+v, %v", b, ok)
	}
	c, ok := Parse("app-linux-amd64-musl.7z", "app")
	if !ok || c.Format != Unsupported || c.Label() != "linux/amd64 (musl, .7z: unsupported)" {
		t.Errorf("Parse(.7z) = %+v, %v, label %q", c, ok, c.Label())
	}
	for name, version := range map[string]string{
		"syncthing-linux-amd64-v1.29.2.tar.gz": "v1.29.2",
		"sops-3.9.4.linux.amd64":               "3.9.4",
		"hello-1.2.0-rc.1-linux-armv7":         "1.2.0-rc.1",
		"gitea-1.22.0-darwin-10.12-amd64.xz":   "1.22.0",
		"buf-Linux-x86_64":                     "",
	} {
		app, _, _ := strings.Cut(name, "-")
		if a, ok := Parse(name, app); !ok || a.Version != version {
			t.Errorf("Parse(%q).Version = %q, %v; want %q", name, a.Version, ok, version)
		}
	}
	for _, tc := range []struct{ name, app, want string }{
		{"golangci-lint-1.62.0-linux-amd64.tar.gz", "", "golangci-lint"},
		{"hugo_extended_0.140.0_linux-amd64.tar.gz", "", "hugo_extended"},
		{"linux-amd64", "", ""},
	} {
		if a, ok := Parse(tc.name, tc.app); !ok || a.App != tc.want {
			t.Errorf("Parse(%q, %q).App = %q, %v; want %q", tc.name, tc.app, a.App, ok, tc.want)
		}
	}
}
