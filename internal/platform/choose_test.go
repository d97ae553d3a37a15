package platform

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// TestChooseRules has one case per rule of Choose.
func TestChooseRules(t *testing.T) {
	t.Parallel()
	linux := func(arch string, arm int) Want { return Want{GOOS: "linux", GOARCH: arch, GOARM: arm} }
	goreleaser := []string{
		"hello_1.2.3_darwin_amd64.tar.gz", "hello_1.2.3_darwin_arm64.tar.gz",
		"hello_1.2.3_linux_amd64.tar.gz", "hello_1.2.3_linux_arm64.tar.gz",
		"hello_1.2.3_windows_amd64.zip", "hello_1.2.3_windows_arm64.zip",
		"checksums.txt", "checksums.txt.sig",
	}
	for _, tc := range []struct {
		name  string
		names []string
		want  Want
		pick  string
		err   error
	}{
		{"exact", goreleaser, linux("amd64", 0), "hello_1.2.3_linux_amd64.tar.gz", nil},
		{"windows zip", goreleaser, Want{GOOS: "windows", GOARCH: "arm64"}, "hello_1.2.3_windows_arm64.zip", nil},
		{"arm is not arm64", goreleaser, linux("arm", 7), "", ErrNoMatch},
		{"arm64 is not arm", []string{"hello_linux_armv7.tar.gz", "hello_linux_arm.tar.gz"}, linux("arm64", 0), "", ErrNoMatch},
		{"no such OS", goreleaser, Want{GOOS: "plan9", GOARCH: "amd64"}, "", ErrNoMatch},
		{"nothing at all", nil, linux("amd64", 0), "", ErrNoMatch},

		// the best runnable ARM variant
		{"highest arm that runs", []string{"hello_linux_armv5.tgz", "hello_linux_armv6.tgz", "hello_linux_armv7.tgz"},
			linux("arm", 6), "hello_linux_armv6.tgz", nil},
		{"v7 machine takes v7", []string{"hello_linux_armv5.tgz", "hello_linux_armv6.tgz", "hello_linux_armv7.tgz"},
			linux("arm", 7), "hello_linux_armv7.tgz", nil},
		{"older arm runs on newer", []string{"hello_linux_armv5.tgz"}, linux("arm", 7), "hello_linux_armv5.tgz", nil},
		{"arm too new", []string{"hello_linux_armv7.tgz"}, linux("arm", 6), "", ErrNoMatch},
		{"no level wanted is v7", []string{"hello_linux_armv6.tgz", "hello_linux_arm_7.tgz"},
			Want{GOOS: "linux", GOARCH: "arm"}, "hello_linux_arm_7.tgz", nil},
		{"plain arm is v7", []string{"hello_linux_arm.tgz"}, linux("arm", 7), "hello_linux_arm.tgz", nil},
		{"plain arm is not v6", []string{"hello_linux_arm.tgz"}, linux("arm", 6), "", ErrNoMatch},
		{"plain arm beside v7 is v6", []string{"hello-linux-arm.zip", "hello-linux-arm-v7.zip"}, linux("arm", 6), "hello-linux-arm.zip", nil},
		{"armhf is v7", []string{"hello_linux_armhf.tgz", "hello_linux_armel.tgz"}, linux("arm", 7), "hello_linux_armhf.tgz", nil},
		{"armel is v5", []string{"hello_linux_armhf.tgz", "hello_linux_armel.tgz"}, linux("arm", 6), "hello_linux_armel.tgz", nil},

		// amd64 levels
		{"amd64 baseline", []string{"hello_linux_amd64.tgz", "hello_linux_amd64_v3.tgz"},
			Want{GOOS: "linux", GOARCH: "amd64", GOAMD64: 1}, "hello_linux_amd64.tgz", nil},
		{"amd64 v3 machine", []string{"hello_linux_amd64.tgz", "hello_linux_amd64_v3.tgz"},
			Want{GOOS: "linux", GOARCH: "amd64", GOAMD64: 3}, "hello_linux_amd64_v3.tgz", nil},
		{"amd64 v3 only", []string{"hello_linux_amd64v3.tgz"}, Want{GOOS: "linux", GOARCH: "amd64", GOAMD64: 1}, "", ErrNoMatch},

		// universal macOS builds
		{"universal for arm64", []string{"hello_darwin_all.tar.gz"}, Want{GOOS: "darwin", GOARCH: "arm64"}, "hello_darwin_all.tar.gz", nil},
		{"no arch word is universal", []string{"hello-darwin.tgz", "hello-linux-amd64.tgz"}, Want{GOOS: "darwin", GOARCH: "amd64"}, "hello-darwin.tgz", nil},
		{"exact beats universal", []string{"hello_darwin_all.tar.gz", "hello_darwin_amd64.tar.gz"},
			Want{GOOS: "darwin", GOARCH: "amd64"}, "hello_darwin_amd64.tar.gz", nil},
		{"universal only for mac arches", []string{"hello_darwin_all.tar.gz"}, Want{GOOS: "darwin", GOARCH: "386"}, "", ErrNoMatch},

		// flavours
		{"plain build by default", []string{"hello_linux_amd64.tar.gz", "hello_linux_amd64_musl.tar.gz", "hello_extended_linux_amd64.tar.gz"},
			linux("amd64", 0), "hello_linux_amd64.tar.gz", nil},
		{"musl when no plain build on linux", []string{"hello-x86_64-unknown-linux-gnu.tgz", "hello-x86_64-unknown-linux-musl.tgz"},
			linux("amd64", 0), "hello-x86_64-unknown-linux-musl.tgz", nil},
		{"static when no plain build on linux", []string{"hello_linux_amd64_static.tgz", "hello_linux_amd64_cuda.tgz"},
			linux("amd64", 0), "hello_linux_amd64_static.tgz", nil},
		{"musl or static is the caller's choice", []string{"hello_linux_amd64_static.tgz", "hello_linux_amd64_musl.tgz"},
			linux("amd64", 0), "", ErrAmbiguous},
		{"only the C library named", []string{"hello-x86_64-pc-windows-msvc.zip"},
			Want{GOOS: "windows", GOARCH: "amd64"}, "hello-x86_64-pc-windows-msvc.zip", nil},
		{"no default flavour", []string{"hello_linux_amd64_cuda.tgz", "hello_linux_amd64_rocm.tgz"}, linux("amd64", 0), "", ErrAmbiguous},
		{"a lone flavoured build is not taken unasked", []string{"hello-server_linux_amd64.tgz"}, linux("amd64", 0), "", ErrAmbiguous},
		{"flavour asked for", []string{"hello_linux_amd64.tar.gz", "hello_extended_linux_amd64.tar.gz"},
			Want{GOOS: "linux", GOARCH: "amd64", Flavour: "extended"}, "hello_extended_linux_amd64.tar.gz", nil},
		{"flavour words in any order", []string{"hello-linux-amd64", "hello-linux-pivkey-pkcs11key-amd64"},
			Want{GOOS: "linux", GOARCH: "amd64", Flavour: "pkcs11key pivkey"}, "hello-linux-pivkey-pkcs11key-amd64", nil},
		{"flavour not there", []string{"hello_linux_amd64.tar.gz"},
			Want{GOOS: "linux", GOARCH: "amd64", Flavour: "extended"}, "", ErrNoMatch},
		{"flavour before fit", []string{"hello_linux_armv6.tgz", "hello_linux_armv7_musl.tgz"}, linux("arm", 7), "hello_linux_armv6.tgz", nil},

		// one build, several files
		{"bare and archive are one build", []string{"hello_linux_amd64", "hello_linux_amd64.tar.gz"}, linux("amd64", 0), "hello_linux_amd64.tar.gz", nil},
		{"bare exe and zip are one build", []string{"hello_windows_amd64.exe", "hello_windows_amd64.zip"},
			Want{GOOS: "windows", GOARCH: "amd64"}, "hello_windows_amd64.zip", nil},
		{"format rank", []string{"hello_1.0_linux_amd64.zip", "hello_1.0_linux_amd64.tar.xz", "hello_1.0_linux_amd64.tar.zst", "hello_1.0_linux_amd64.tar.gz"},
			linux("amd64", 0), "hello_1.0_linux_amd64.tar.gz", nil},
		{"zst before xz", []string{"hello_1.0_linux_amd64.tar.xz", "hello_1.0_linux_amd64.tar.zst"},
			linux("amd64", 0), "hello_1.0_linux_amd64.tar.zst", nil},
		{"two spellings are one build", []string{"hello_1.0_linux-amd64.tar.gz", "hello_1.0_Linux-64bit.tar.gz"},
			linux("amd64", 0), "hello_1.0_Linux-64bit.tar.gz", nil},
		{"signature beside the exe", []string{"hello_windows_amd64.exe", "hello_windows_amd64.exe.sig"},
			Want{GOOS: "windows", GOARCH: "amd64"}, "hello_windows_amd64.exe", nil},
		{"another program is not a candidate", []string{"hello_linux_amd64.tar.gz", "hellothere_linux_amd64.tar.gz"},
			linux("amd64", 0), "hello_linux_amd64.tar.gz", nil},

		// unsupported formats are never installed
		{"only unsupported", []string{"hello_linux_amd64.7z", "hello_linux_amd64.tar.lz4"}, linux("amd64", 0), "", ErrNoMatch},
		{"unsupported beside a supported one", []string{"hello_linux_amd64.7z", "hello_linux_amd64.zip"}, linux("amd64", 0), "hello_linux_amd64.zip", nil},
	} {
		got, err := Choose(tc.names, "hello", tc.want)
		if got != tc.pick || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: Choose = %q, %v; want %q, %v", tc.name, got, err, tc.pick, tc.err)
		}
	}
}

// TestChooseCanExtract checks that of one build in several formats, one
// the installer can unpack is taken, and that an only format it cannot is
// still chosen (so that extraction can say which import is missing).
func TestChooseCanExtract(t *testing.T) {
	t.Parallel()
	stdlib := func(f Format) bool {
		c := f.Compression()
		return c == NoCompression || c == Gzip || c == Bzip2
	}
	w := Want{GOOS: "linux", GOARCH: "amd64", CanExtract: stdlib}
	if got, err := Choose([]string{"gitea-1.22.0-linux-amd64", "gitea-1.22.0-linux-amd64.xz"}, "gitea", w); err != nil || got != "gitea-1.22.0-linux-amd64" {
		t.Errorf("bare and xz without xz: Choose = %q, %v", got, err)
	}
	if got, err := Choose([]string{"a_linux_amd64.tar.zst", "a_linux_amd64.zip"}, "a", w); err != nil || got != "a_linux_amd64.zip" {
		t.Errorf("zst and zip without zstd: Choose = %q, %v", got, err)
	}
	if got, err := Choose([]string{"a_linux_amd64.tar.zst"}, "a", w); err != nil || got != "a_linux_amd64.tar.zst" {
		t.Errorf("zst alone without zstd: Choose = %q, %v", got, err)
	}
}

func TestChooseError(t *testing.T) {
	t.Parallel()
	names := []string{"hello_linux_amd64.tar.gz", "hello_linux_amd64_musl.tar.gz", "hello_darwin_all.tar.gz", "hello_linux_arm.tar.gz", "checksums.txt"}
	_, err := Choose(names, "hello", Want{GOOS: "linux", GOARCH: "arm", GOARM: 6})
	var ce *ChoiceError
	if !errors.As(err, &ce) || !errors.Is(err, ErrNoMatch) {
		t.Fatalf("Choose = %v, want a *ChoiceError wrapping ErrNoMatch", err)
	}
	wantOffered := []string{"darwin/universal", "linux/amd64", "linux/amd64 (musl)", "linux/arm"}
	if strings.Join(ce.Offered, ",") != strings.Join(wantOffered, ",") || ce.Want != "linux/armv6" || ce.App != "hello" {
		t.Errorf("ChoiceError = %+v", ce)
	}
	for _, s := range []string{"linux/armv6", "on offer: darwin/universal, linux/amd64, linux/amd64 (musl), linux/arm", "taken as armv7"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q lacks %q", err, s)
		}
	}

	_, err = Choose([]string{"hello_linux_amd64_static.tgz", "hello_linux_amd64_musl.tgz"}, "hello", Want{GOOS: "linux", GOARCH: "amd64"})
	if !errors.As(err, &ce) || !errors.Is(err, ErrAmbiguous) || len(ce.Tied) != 2 || !strings.Contains(err.Error(), `"hello_linux_amd64_static.tgz"`) {
		t.Errorf("ambiguous: %v (%+v)", err, ce)
	}
	_, err = Choose([]string{"hello_linux_amd64_cuda.tgz", "hello_linux_amd64_rocm.tgz"}, "hello", Want{GOOS: "linux", GOARCH: "amd64"})
	if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), "Want.Flavour to one of cuda, rocm") {
		t.Errorf("no default flavour: %v", err)
	}
	_, err = Choose([]string{"hello_linux_amd64.7z"}, "hello", Want{GOOS: "linux", GOARCH: "amd64"})
	if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "(.7z: unsupported)") {
		t.Errorf("unsupported: %v", err)
	}
	_, err = Choose([]string{"other_linux_amd64.tgz"}, "hello", Want{GOOS: "linux", GOARCH: "amd64"})
	if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "no program of this app") {
		t.Errorf("nothing of the app: %v", err)
	}
}

func TestWantDefaults(t *testing.T) {
	t.Parallel()
	w := Want{}.resolved()
	if w.GOOS != runtime.GOOS || w.GOARCH != runtime.GOARCH {
		t.Errorf("zero Want resolves to %s/%s", w.GOOS, w.GOARCH)
	}
	if runtime.GOARCH == "amd64" && w.GOAMD64 < 1 {
		t.Errorf("host GOAMD64 = %d", w.GOAMD64)
	}
	for _, tc := range []struct {
		in   Want
		want string
	}{
		{Want{GOOS: "linux", GOARCH: "arm"}, "linux/armv7"},
		{Want{GOOS: "linux", GOARCH: "arm", GOARM: 9}, "linux/armv7"},
		{Want{GOOS: "linux", GOARCH: "arm", GOARM: 2}, "linux/armv5"},
		{Want{GOOS: "plan9", GOARCH: "amd64"}, "plan9/amd64"},
		{Want{GOOS: "linux", GOARCH: "amd64", GOAMD64: 3, Flavour: "musl"}, "linux/amd64v3 (musl)"},
		{Want{GOOS: "linux", GOARCH: "riscv64"}, "linux/riscv64"},
	} {
		if got := tc.in.resolved().String(); got != tc.want {
			t.Errorf("%+v resolves to %q, want %q", tc.in, got, tc.want)
		}
	}
	if leadingDigit("6,softfloat") != 6 || leadingDigit("") != 0 || leadingDigit("x") != 0 {
		t.Error("leadingDigit")
	}
}

func TestChooseAssetCustomParse(t *testing.T) {
	t.Parallel()
	// A source with names of its own parses them itself.
	assets := []Asset{
		{Name: "build-17", OS: "linux", Arch: "amd64", Format: TarGz},
		{Name: "build-18", OS: "linux", Arch: "arm64", Format: TarGz},
	}
	a, err := ChooseAsset(assets, "hello", Want{GOOS: "linux", GOARCH: "arm64"})
	if err != nil || a.Name != "build-18" {
		t.Fatalf("ChooseAsset = %+v, %v", a, err)
	}
}
