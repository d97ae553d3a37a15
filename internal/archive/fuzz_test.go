package archive

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzNames are the asset names FuzzExtract reads its input as, one per
// way of reading it.
var fuzzNames = []string{
	"hello_1.0_linux_amd64.tar.gz", "hello_1.0_linux_amd64.zip", "hello_1.0_linux_amd64",
	"hello_1.0_linux_amd64.tar", "hello_1.0_linux_amd64.gz", "hello_1.0_linux_amd64.tar.zst",
	"hello_1.0_linux_amd64.tar.xz", "hello_1.0_linux_amd64.tar.bz2", "hello_1.0_linux_amd64.7z",
}

// FuzzExtract feeds Extract arbitrary bytes under each kind of name and
// checks that it never panics, never writes more than the limit, reports
// what it wrote, and fails only with the package's own errors.
func FuzzExtract(f *testing.F) {
	exe := []byte("\x7fELF the executable")
	seeds := []struct {
		kind    int
		format  Format
		entries []entry
	}{
		{0, TarGz, []entry{{Name: "hello_1.0/", Typeflag: tar.TypeDir}, reg("hello_1.0/README", []byte("hi")), reg("hello_1.0/hello", exe)}},
		{1, Zip, []entry{reg("LICENSE", []byte("MIT")), reg("hello.exe", exe)}},
		{2, Bare, []entry{reg("", exe)}},
		{3, Tar, []entry{reg("../evil", exe), reg("hello", exe)}},
		{4, Gz, []entry{reg("", exe)}},
		{5, TarZst, []entry{reg("hello", exe), {Name: "bin/hello", Typeflag: tar.TypeSymlink, Linkname: "/bin/sh"}}},
		{6, TarXz, []entry{reg("hello", exe)}},
	}
	for _, s := range seeds {
		f.Add(build(f, s.format, s.entries), uint8(s.kind))
	}
	if data, err := os.ReadFile(filepath.Join("testdata", "restic_0.17.3_linux_amd64.tar.bz2")); err == nil {
		f.Add(data, uint8(7))
	}
	f.Add([]byte("<html>not found</html>"), uint8(8))
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		name := fuzzNames[int(kind)%len(fuzzNames)]
		path := filepath.Join(t.TempDir(), "asset")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var w countWriter
		n, err := ExtractWith(t.Context(), src, &w, Options{Asset: name, App: "hello", Limit: limit, MaxDecompressed: 8 << 20})
		if n != w.n || n > limit {
			t.Fatalf("%s: returned %d, wrote %d, limit %d", name, n, w.n, limit)
		}
		if err == nil {
			if n == 0 {
				t.Fatalf("%s: no error and nothing written", name)
			}
			return
		}
		for _, known := range []error{ErrUnsafe, ErrNotFound, ErrAmbiguous, ErrTooLarge, ErrFormat, ErrUnsupported} {
			if errors.Is(err, known) {
				return
			}
		}
		t.Fatalf("%s: Extract = %v, not one of the package's errors", name, err)
	})
}
