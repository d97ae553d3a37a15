package platform

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that what it says holds
// together: a parsed name is a program for a platform, its stem and
// format ending make up the name, and case does not change the answer.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"hello_1.2.3_linux_amd64.tar.gz", "hello-1.2.3-linux-x86-64.tar.gz", "hello_linux_arm_7.tgz",
		"hello-x86_64-unknown-linux-musl.tar.gz", "hello-darwin.tgz", "hello_windows_amd64.exe.zip",
		"hello-linux-amd64-v1.29.2.tar.gz", "hello-1.0.0-darwin-10.12-arm64.xz", "hello_1.0_Linux_32-bit.tar.gz",
		"hello_linux_amd64_v3.tar.gz", "hello-win64.zip", "hello.tar.gz.sig", "SHA256SUMS", "hello_linux_amd64.7z",
		"hello-1.2.0-rc.1-linux-armv7", "hello_", "hello", "", ".", "..exe", "hello_...linux...", "hello_linux_arm-v",
	} {
		f.Add(s, "hello")
	}
	f.Add("golangci-lint-1.62.0-linux-amd64.tar.gz", "")
	f.Fuzz(func(t *testing.T, name, app string) {
		a, ok := Parse(name, app)
		if !ok {
			return
		}
		if a.Format == NotProgram || a.OS == "" || (a.Arch == "") != a.Universal || (a.Universal && a.OS != "darwin") {
			t.Fatalf("Parse(%q, %q) = %+v: not a program for a platform", name, app, a)
		}
		if a.Name != name || !strings.HasPrefix(name, a.Stem) || !strings.HasSuffix(name, a.Ext) {
			t.Fatalf("Parse(%q) = %+v: stem and ending do not make the name", name, a)
		}
		if a.Arch != "arm" && a.GOARM != 0 || a.Arch != "amd64" && a.GOAMD64 != 0 || a.GOARM > 7 || a.GOAMD64 > 4 {
			t.Fatalf("Parse(%q) = %+v: level on the wrong architecture", name, a)
		}
		if !strings.Contains(strings.ToLower(name), strings.ToLower(a.Version)) {
			t.Fatalf("Parse(%q).Version = %q, not in the name", name, a.Version)
		}
		if isASCII(name) && isASCII(app) {
			b, ok := Parse(strings.ToUpper(name), strings.ToUpper(app))
			if !ok || b.OS != a.OS || b.Arch != a.Arch || b.GOARM != a.GOARM || b.Universal != a.Universal || b.Format != a.Format {
				t.Fatalf("Parse(%q) = %+v but upper case gives %+v, %v", name, a, b, ok)
			}
		}
		if _, err := Choose([]string{name}, app, Want{GOOS: a.OS, GOARCH: a.Arch, GOARM: a.GOARM, GOAMD64: a.GOAMD64}); err != nil && a.Format.Installable() && len(a.Flavour) == 0 && !a.Universal {
			t.Fatalf("Choose([%q]) for its own platform: %v", name, err)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
