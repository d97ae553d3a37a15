package zstd_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	kzstd "github.com/klauspost/compress/zstd"

	_ "github.com/molt-go/update/compress/zstd"
	"github.com/molt-go/update/internal/archive"
)

func asset(t *testing.T, name string, data []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func compress(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := kzstd.NewWriter(&buf, kzstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImportRegisters checks that importing the package is all it takes
// for .zst and .tar.zst assets to install.
func TestImportRegisters(t *testing.T) {
	t.Parallel()
	for _, f := range []archive.Format{archive.Zst, archive.TarZst} {
		if !archive.CanExtract(f) {
			t.Errorf("CanExtract(%v) = false with the package imported", f)
		}
	}
	exe := bytes.Repeat([]byte("the executable "), 1000)
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	_ = tw.WriteHeader(&tar.Header{Name: "hello_1.0_linux_amd64/hello", Typeflag: tar.TypeReg, Size: int64(len(exe)), Mode: 0o755})
	_, _ = tw.Write(exe)
	_ = tw.Close()
	for name, data := range map[string][]byte{
		"hello_1.0_linux_amd64.zst":     compress(t, exe),
		"hello_1.0_linux_amd64.tar.zst": compress(t, tarball.Bytes()),
		"hello_1.0_linux_amd64.tzst":    compress(t, tarball.Bytes()),
	} {
		var out bytes.Buffer
		_, err := archive.ExtractWith(t.Context(), asset(t, name, data), &out, archive.Options{Asset: name, App: "hello"})
		if err != nil || !bytes.Equal(out.Bytes(), exe) {
			t.Errorf("%s: Extract = %v, %d bytes", name, err, out.Len())
		}
	}
}

// TestWindowCap checks that a frame asking for a 256 MiB window is refused
// as too large before the decoder allocates it.
func TestWindowCap(t *testing.T) {
	t.Parallel()
	// Magic, frame header descriptor (no single segment, no checksum, no
	// content size), window descriptor 2^(10+18) = 256 MiB, one last raw
	// block of 4 bytes.
	frame := []byte{0x28, 0xB5, 0x2F, 0xFD, 0x00, 18 << 3, 0x21, 0x00, 0x00, 'o', 'o', 'p', 's'}
	_, err := archive.Extract(t.Context(), asset(t, "hello.zst", frame), "hello.zst", nil, &bytes.Buffer{}, 0)
	if !errors.Is(err, archive.ErrTooLarge) {
		t.Fatalf("Extract = %v, want ErrTooLarge", err)
	}
	frame[5] = 10 << 3 // 1 MiB: decodes
	var out bytes.Buffer
	if _, err := archive.Extract(t.Context(), asset(t, "hello.zst", frame), "hello.zst", nil, &out, 0); err != nil || out.String() != "oops" {
		t.Fatalf("1 MiB window: Extract = %q, %v", out.String(), err)
	}
}
