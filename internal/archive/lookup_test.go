package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestDepth checks where the executable may be: at the top, one folder
// deep, or in a bin folder at either level, and nowhere deeper.
func TestDepth(t *testing.T) {
	t.Parallel()
	body := []byte("the executable")
	for _, tc := range []struct {
		entry string
		ok    bool
	}{
		{"hello", true},
		{"./hello", true},
		{"hello_1.0_linux_amd64/hello", true},
		{"bin/hello", true},
		{"gh_2.0.0_linux_amd64/bin/hello", true},
		{`dist\bin\hello.exe`, true},
		{"hello_1.0/docs/hello", false},
		{"a/b/bin/hello", false},
		{"a/b/c/hello", false},
	} {
		for _, f := range []Format{TarGz, Zip} {
			data := build(t, f, []entry{reg("README", []byte("x")), reg(tc.entry, body)})
			got, _, err := extract(t, assetName(f), data, 0)
			switch {
			case tc.ok && (err != nil || !bytes.Equal(got, body)):
				t.Errorf("%v %q: Extract = %q, %v", f, tc.entry, got, err)
			case !tc.ok && !errors.Is(err, ErrNotFound):
				t.Errorf("%v %q: Extract = %v, want ErrNotFound", f, tc.entry, err)
			}
		}
	}
	// The deep one is not a second match beside a shallow one.
	data := build(t, TarGz, []entry{reg("hello_1.0/hello", body), reg("hello_1.0/examples/x/hello", []byte("other"))})
	if got, _, err := extract(t, "a.tgz", data, 0); err != nil || !bytes.Equal(got, body) {
		t.Errorf("shallow beside deep: Extract = %q, %v", got, err)
	}
}

// TestCandidateNames checks the names Options.App brings in, from real
// layouts: yq's binary named like the asset, restic's zip holding
// restic_<version>_windows_amd64.exe, cosign's <app>-<os>-<arch>.
func TestCandidateNames(t *testing.T) {
	t.Parallel()
	body := []byte("the executable")
	for _, tc := range []struct {
		format       Format
		asset, entry string
		app, goos    string
	}{
		{TarGz, "yq_linux_amd64.tar.gz", "./yq_linux_amd64", "yq", "linux"},
		{Zip, "restic_0.19.1_windows_amd64.zip", "restic_0.19.1_windows_amd64.exe", "restic", "windows"},
		{TarGz, "cosign_1.4.0_Linux_x86_64.tar.gz", "cosign-linux-amd64", "cosign", ""},
		{Zip, "age-v1.0.0-windows-amd64.zip", "age/age.exe", "age", "windows"},
		{TarGz, "buf-Linux-x86_64.tar.gz", "buf/bin/buf", "buf", "linux"},
		{TarGz, "gh_2.0.0_linux_amd64.tar.gz", "gh_2.0.0_linux_amd64/bin/gh", "gh", "linux"},
	} {
		data := build(t, tc.format, []entry{reg("LICENSE", []byte("x")), reg(tc.entry, body)})
		var out bytes.Buffer
		_, err := ExtractWith(t.Context(), assetFile(t, tc.asset, data), &out, Options{Asset: tc.asset, App: tc.app, GOOS: tc.goos})
		if err != nil || !bytes.Equal(out.Bytes(), body) {
			t.Errorf("%s: Extract = %q, %v", tc.asset, out.Bytes(), err)
		}
	}
}

// TestExactExecutable checks Options.Executable: it names the entry, deep
// or not, and nothing else matches.
func TestExactExecutable(t *testing.T) {
	t.Parallel()
	body := []byte("the executable")
	data := build(t, TarGz, []entry{reg("hello", []byte("not me")), reg("pkg/tools/v2/Hello", body)})
	for _, exact := range []string{"pkg/tools/v2/Hello", "./pkg/tools/v2/Hello", "Hello"} {
		var out bytes.Buffer
		_, err := ExtractWith(t.Context(), assetFile(t, "a.tgz", data), &out, Options{Asset: "a.tgz", Executable: exact, Names: []string{"hello"}})
		if err != nil || !bytes.Equal(out.Bytes(), body) {
			t.Errorf("Executable %q: Extract = %q, %v", exact, out.Bytes(), err)
		}
	}
	_, err := ExtractWith(t.Context(), assetFile(t, "a.tgz", data), &bytes.Buffer{}, Options{Asset: "a.tgz", Executable: "pkg/tools/v2/hello"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `named exactly "pkg/tools/v2/hello"`) {
		t.Errorf("case matters: Extract = %v, want ErrNotFound", err)
	}
}

// TestTotalCap checks the cap on everything decompressed: a small tar.gz
// that expands to far more than its size ahead of its executable is
// refused quickly, before the executable is reached, while the same
// archive passes with a cap that fits it.
func TestTotalCap(t *testing.T) {
	t.Parallel()
	const filler = 80 << 20 // more than DefaultMinDecompressed, of zeros, a few dozen KiB compressed
	var buf bytes.Buffer
	zw := compressor(t, TarGz, &buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "data/filler", Typeflag: tar.TypeReg, Size: filler, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(make([]byte, filler)); err != nil {
		t.Fatal(err)
	}
	exe := []byte("the executable")
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Typeflag: tar.TypeReg, Size: int64(len(exe)), Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write(exe)
	_ = tw.Close()
	_ = zw.Close()
	data := buf.Bytes()
	if int64(len(data))*DefaultMaxRatio > DefaultMinDecompressed {
		t.Fatalf("the bomb is %d bytes, not a bomb", len(data))
	}

	var w countWriter
	_, err := ExtractWith(t.Context(), assetFile(t, "a.tgz", data), &w, Options{Asset: "a.tgz", Names: []string{"hello"}})
	if !errors.Is(err, ErrTooLarge) || w.n != 0 || !strings.Contains(err.Error(), "decompressed") {
		t.Fatalf("Extract = %v after writing %d bytes; want ErrTooLarge before the executable", err, w.n)
	}
	var out bytes.Buffer
	_, err = ExtractWith(t.Context(), assetFile(t, "a.tgz", data), &out, Options{Asset: "a.tgz", Names: []string{"hello"}, MaxDecompressed: filler + 1<<20})
	if err != nil || !bytes.Equal(out.Bytes(), exe) {
		t.Fatalf("with room: Extract = %q, %v", out.Bytes(), err)
	}
}

// TestTotalCapExact checks the boundary of the cap on a single compressed
// file: exactly the cap passes, one byte less fails.
func TestTotalCapExact(t *testing.T) {
	t.Parallel()
	exe := randomBytes(50_000, 9)
	for _, f := range []Format{Gz, Zst, Xz, Zip} {
		data := build(t, f, []entry{reg("hello", exe)})
		name := assetName(f)
		var out bytes.Buffer
		if _, err := ExtractWith(t.Context(), assetFile(t, name, data), &out, Options{Asset: name, Names: []string{"hello"}, MaxDecompressed: int64(len(exe))}); err != nil || !bytes.Equal(out.Bytes(), exe) {
			t.Errorf("%v at the cap: Extract = %v, %d bytes", f, err, out.Len())
		}
		_, err := ExtractWith(t.Context(), assetFile(t, name, data), &bytes.Buffer{}, Options{Asset: name, Names: []string{"hello"}, MaxDecompressed: int64(len(exe)) - 1})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%v over the cap: Extract = %v, want ErrTooLarge", f, err)
		}
	}
	if got := defaultBudget(1 << 62); got != 1<<62 {
		t.Errorf("defaultBudget of a huge asset = %d", got)
	}
	if got := defaultBudget(1000); got != DefaultMinDecompressed {
		t.Errorf("defaultBudget of a small asset = %d", got)
	}
}
