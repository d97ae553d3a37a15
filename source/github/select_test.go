package github

import (
	"errors"
	"testing"
)

func TestMatchAsset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want Platform
		ok   bool
	}{
		{"hello_1.2.3_linux_amd64.tar.gz", Platform{OS: "linux", Arch: "amd64"}, true},
		{"hello_1.2.3_Linux_x86_64.tar.gz", Platform{OS: "linux", Arch: "amd64"}, true},
		{"hello-1.2.3-linux-x86-64.tar.gz", Platform{OS: "linux", Arch: "amd64"}, true},
		{"HELLO_1.2.3_LINUX_AARCH64.TAR.GZ", Platform{OS: "linux", Arch: "arm64"}, true},
		{"hello_1.2.3_linux_arm64.tar.zst", Platform{OS: "linux", Arch: "arm64"}, true},
		{"hello_1.2.3_linux_armv6.tar.gz", Platform{OS: "linux", Arch: "arm", Variant: 6}, true},
		{"hello_1.2.3_linux_arm_7.tar.gz", Platform{OS: "linux", Arch: "arm", Variant: 7}, true},
		{"hello_1.2.3_linux_arm.tar.gz", Platform{OS: "linux", Arch: "arm"}, true},
		{"hello_1.2.3_linux_armhf.tar.gz", Platform{OS: "linux", Arch: "arm", Variant: 7}, true},
		{"hello_1.2.3_linux_i386.tar.gz", Platform{OS: "linux", Arch: "386"}, true},
		{"hello_1.2.3_linux_386.tar.gz", Platform{OS: "linux", Arch: "386"}, true},
		{"hello_1.2.3_linux_amd64v3.tar.gz", Platform{OS: "linux", Arch: "amd64", Variant: 3}, true},
		{"hello_1.2.3_darwin_all.tar.gz", Platform{OS: "darwin", Arch: "all"}, true},
		{"hello_1.2.3_macOS_universal.zip", Platform{OS: "darwin", Arch: "all"}, true},
		{"hello_1.2.3_windows_amd64.zip", Platform{OS: "windows", Arch: "amd64"}, true},
		{"hello_1.2.3_windows_amd64.exe", Platform{OS: "windows", Arch: "amd64"}, true},
		{"hello-windows-arm64.exe", Platform{OS: "windows", Arch: "arm64"}, true},
		{"hello_linux_amd64", Platform{OS: "linux", Arch: "amd64"}, true},
		{"hello_1.2.3_freebsd_riscv64.tar.xz", Platform{OS: "freebsd", Arch: "riscv64"}, true},
		// Not programs of hello.
		{"hello_1.2.3_checksums.txt", Platform{}, false},
		{"checksums.txt", Platform{}, false},
		{"hello_1.2.3_linux_amd64.tar.gz.sig", Platform{}, false},
		{"hello_1.2.3_linux_amd64.tar.gz.sigstore.json", Platform{}, false},
		{"hello_1.2.3_linux_amd64.tar.gz.bundle", Platform{}, false},
		{"hello_1.2.3_linux_amd64.sbom.json", Platform{}, false},
		{"hello_1.2.3_linux_amd64.deb", Platform{}, false},
		{"hello_1.2.3_linux_amd64.pkg.tar.zst", Platform{}, false},
		{"hello_1.2.3_linux_amd64.pem", Platform{}, false},
		{"hellothere_1.2.3_linux_amd64.tar.gz", Platform{}, false},
		{"hello-server_1.2.3_linux_amd64.tar.gz", Platform{}, false},
		{"hello_v1.2.3_linux_amd64.tar.gz", Platform{OS: "linux", Arch: "amd64"}, true},
		{"hello-x86_64-unknown-linux-gnu.tar.gz", Platform{OS: "linux", Arch: "amd64"}, true},
		{"other_1.2.3_linux_amd64.tar.gz", Platform{}, false},
		{"hello_1.2.3_linux.tar.gz", Platform{}, false},
		{"hello_1.2.3_amd64.tar.gz", Platform{}, false},
		{"hello_1.2.3_linux_all.tar.gz", Platform{}, false},
		{"hello", Platform{}, false},
	} {
		got, ok := MatchAsset(tc.name, "hello")
		if got != tc.want || ok != tc.ok {
			t.Errorf("MatchAsset(%q) = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSelectAsset(t *testing.T) {
	t.Parallel()
	goreleaser := []string{
		"hello_1.2.3_darwin_amd64.tar.gz", "hello_1.2.3_darwin_arm64.tar.gz",
		"hello_1.2.3_linux_amd64.tar.gz", "hello_1.2.3_linux_arm64.tar.gz",
		"hello_1.2.3_windows_amd64.zip", "hello_1.2.3_windows_arm64.zip",
		"checksums.txt", "checksums.txt.sig",
	}
	for _, tc := range []struct {
		name  string
		names []string
		want  Platform
		pick  string
		err   error
	}{
		{"linux amd64", goreleaser, Platform{OS: "linux", Arch: "amd64"}, "hello_1.2.3_linux_amd64.tar.gz", nil},
		{"windows arm64", goreleaser, Platform{OS: "windows", Arch: "arm64"}, "hello_1.2.3_windows_arm64.zip", nil},
		{"arm is not arm64", goreleaser, Platform{OS: "linux", Arch: "arm"}, "", ErrNoAsset},
		{"arm64 is not arm", []string{"hello_linux_armv7.tar.gz", "hello_linux_arm.tar.gz"},
			Platform{OS: "linux", Arch: "arm64"}, "", ErrNoAsset},
		{"no 386", goreleaser, Platform{OS: "linux", Arch: "386"}, "", ErrNoAsset},
		{"no such OS", goreleaser, Platform{OS: "plan9", Arch: "amd64"}, "", ErrNoAsset},
		{"nothing at all", nil, Platform{OS: "linux", Arch: "amd64"}, "", ErrNoAsset},
		{"highest arm variant that runs", []string{"hello_linux_armv5.tgz", "hello_linux_armv6.tgz", "hello_linux_armv7.tgz"},
			Platform{OS: "linux", Arch: "arm", Variant: 6}, "hello_linux_armv6.tgz", nil},
		{"arm variant unknown takes the highest", []string{"hello_linux_armv6.tgz", "hello_linux_arm_7.tgz"},
			Platform{OS: "linux", Arch: "arm"}, "hello_linux_arm_7.tgz", nil},
		{"arm variant too new", []string{"hello_linux_armv7.tgz"},
			Platform{OS: "linux", Arch: "arm", Variant: 6}, "", ErrNoAsset},
		{"plain arm runs anywhere", []string{"hello_linux_arm.tgz", "hello_linux_armv7.tgz"},
			Platform{OS: "linux", Arch: "arm", Variant: 5}, "hello_linux_arm.tgz", nil},
		{"amd64 baseline", []string{"hello_linux_amd64.tgz", "hello_linux_amd64v3.tgz"},
			Platform{OS: "linux", Arch: "amd64", Variant: 1}, "hello_linux_amd64.tgz", nil},
		{"amd64 v3 machine", []string{"hello_linux_amd64.tgz", "hello_linux_amd64v3.tgz"},
			Platform{OS: "linux", Arch: "amd64", Variant: 3}, "hello_linux_amd64v3.tgz", nil},
		{"universal for arm64", []string{"hello_darwin_all.tar.gz"},
			Platform{OS: "darwin", Arch: "arm64"}, "hello_darwin_all.tar.gz", nil},
		{"exact beats universal", []string{"hello_darwin_all.tar.gz", "hello_darwin_amd64.tar.gz"},
			Platform{OS: "darwin", Arch: "amd64"}, "hello_darwin_amd64.tar.gz", nil},
		{"universal is only for mac arches", []string{"hello_darwin_all.tar.gz"},
			Platform{OS: "darwin", Arch: "386"}, "", ErrNoAsset},
		{"one build in two formats", []string{"hello_1.0_windows_amd64.zip", "hello_1.0_windows_amd64.tar.gz"},
			Platform{OS: "windows", Arch: "amd64"}, "hello_1.0_windows_amd64.tar.gz", nil},
		{"bare exe", []string{"hello_windows_amd64.exe", "hello_windows_amd64.exe.sig"},
			Platform{OS: "windows", Arch: "amd64"}, "hello_windows_amd64.exe", nil},
		{"two different builds", []string{"hello_1.0_linux_amd64.tar.gz", "hello_1.0_Linux_x86_64.tar.gz"},
			Platform{OS: "linux", Arch: "amd64"}, "", ErrAmbiguousAsset},
		{"another program is not a candidate", []string{"hello_linux_amd64.tar.gz", "hello-server_linux_amd64.tar.gz"},
			Platform{OS: "linux", Arch: "amd64"}, "hello_linux_amd64.tar.gz", nil},
		{"static and dynamic builds", []string{"hello_linux_amd64.tar.gz", "hello_linux_amd64_musl.tar.gz"},
			Platform{OS: "linux", Arch: "amd64"}, "", ErrAmbiguousAsset},
	} {
		got, err := SelectAsset(tc.names, "hello", tc.want)
		if got != tc.pick || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: SelectAsset = %q, %v; want %q, %v", tc.name, got, err, tc.pick, tc.err)
		}
	}
}
