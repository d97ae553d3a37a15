package archive

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ulikunitz/xz/lzma"

	"github.com/molt-go/update/internal/platform"
)

// TestNotLinked checks what a program that did not import a decoder gets:
// a typed error naming the import, with nothing written. It takes the
// zstd and xz decoders out of the registry for a moment, so it does not
// run in parallel (tests that do are paused until the sequential ones
// are done).
func TestNotLinked(t *testing.T) {
	for _, tc := range []struct {
		c      platform.Compression
		format Format
		pkg    string
	}{
		{platform.Zstd, TarZst, "github.com/molt-go/update/compress/zstd"},
		{platform.Zstd, Zst, "github.com/molt-go/update/compress/zstd"},
		{platform.XzCompression, TarXz, "github.com/molt-go/update/compress/xz"},
	} {
		data := build(t, tc.format, []entry{reg("hello", []byte("the executable"))})
		saved, ok := decoder(tc.c)
		if !ok {
			t.Fatalf("%v is not registered in the tests (see register_test.go)", tc.c)
		}
		registry.Lock()
		delete(registry.m, tc.c)
		registry.Unlock()

		var w countWriter
		name := assetName(tc.format)
		_, err := Extract(t.Context(), assetFile(t, name, data), name, []string{"hello"}, &w, 0)
		canExtract := CanExtract(tc.format)

		registry.Lock()
		registry.m[tc.c] = saved
		registry.Unlock()

		if !errors.Is(err, ErrUnsupported) || w.n != 0 || !strings.Contains(err.Error(), `import _ "`+tc.pkg+`"`) {
			t.Errorf("%v without its decoder: Extract = %v after %d bytes; want ErrUnsupported naming %s", tc.format, err, w.n, tc.pkg)
		}
		if canExtract || !CanExtract(tc.format) {
			t.Errorf("%v: CanExtract = %v without its decoder, %v with", tc.format, canExtract, CanExtract(tc.format))
		}
	}
}

// TestUnsupported checks that a file no decoder here reads, and a file
// that is never a program, are refused and not installed raw.
func TestUnsupported(t *testing.T) {
	t.Parallel()
	for _, name := range []string{
		"hello_linux_amd64.7z", "hello_linux_amd64.tar.lz4", "hello_linux_amd64.lz4", "hello.rar", "hello.lzma", "hello.br",
		"hello_linux_amd64.deb", "hello.tar.gz.sig", "checksums.txt", "SHA256SUMS", "hello.sbom.json",
	} {
		var w countWriter
		_, err := Extract(t.Context(), assetFile(t, name, []byte("\x7fELF the executable")), name, []string{"hello"}, &w, 0)
		if !errors.Is(err, ErrUnsupported) || w.n != 0 || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Extract = %v after %d bytes, want ErrUnsupported", name, err, w.n)
		}
		if CanExtract(FormatOf(name)) {
			t.Errorf("CanExtract(%v) for %s", FormatOf(name), name)
		}
	}
	for _, f := range platform.Formats() {
		if !CanExtract(f) {
			t.Errorf("CanExtract(%v) = false with every decoder registered", f)
		}
	}
}

func TestRegisterRefuses(t *testing.T) {
	t.Parallel()
	open := func(r io.Reader, _ int64) (io.ReadCloser, error) { return io.NopCloser(r), nil }
	for name, f := range map[string]func(){
		"twice":          func() { Register(platform.Gzip, open) },
		"no compression": func() { Register(platform.NoCompression, open) },
		"nil":            func() { Register(platform.Zstd, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register %s did not panic", name)
				}
			}()
			f()
		}()
	}
}

// TestDictCap checks the scan's own decoding of the LZMA2 dictionary
// property against the decoder's.
func TestDictCap(t *testing.T) {
	t.Parallel()
	for p := range 256 {
		got, err := dictCap(byte(p))
		want, werr := lzma.DecodeDictCap(byte(p))
		if (err != nil) != (werr != nil) || (err == nil && got != int64(uint32(want))) {
			t.Errorf("dictCap(%d) = %d, %v; lzma says %d, %v", p, got, err, want, werr)
		}
	}
}

// TestGzipAlias checks the ".gzip" ending, which some scripts write.
func TestGzipAlias(t *testing.T) {
	t.Parallel()
	exe := []byte("the executable")
	for name, f := range map[string]Format{"hello.gzip": Gz, "hello.tar.gzip": TarGz} {
		got, _, err := extract(t, name, build(t, f, []entry{reg("hello", exe)}), 0)
		if err != nil || !bytes.Equal(got, exe) {
			t.Errorf("%s: Extract = %q, %v", name, got, err)
		}
	}
}
