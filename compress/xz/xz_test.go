package xz_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	uxz "github.com/ulikunitz/xz"

	_ "github.com/molt-go/update/compress/xz"
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
	zw, err := uxz.WriterConfig{DictCap: 64 << 10}.NewWriter(&buf)
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
// for .xz assets to install (gitea publishes its binaries so).
func TestImportRegisters(t *testing.T) {
	t.Parallel()
	for _, f := range []archive.Format{archive.Xz, archive.TarXz} {
		if !archive.CanExtract(f) {
			t.Errorf("CanExtract(%v) = false with the package imported", f)
		}
	}
	exe := bytes.Repeat([]byte("the executable "), 1000)
	name := "gitea-1.22.0-linux-amd64.xz"
	var out bytes.Buffer
	_, err := archive.ExtractWith(t.Context(), asset(t, name, compress(t, exe)), &out, archive.Options{Asset: name, App: "gitea"})
	if err != nil || !bytes.Equal(out.Bytes(), exe) {
		t.Fatalf("Extract = %v, %d bytes", err, out.Len())
	}
}

// TestDictionaryCap checks that a block asking for a 256 MiB dictionary is
// refused as too large: the extractor's scan sees it before this decoder.
func TestDictionaryCap(t *testing.T) {
	t.Parallel()
	data := compress(t, []byte("the executable"))
	hdr := data[12:] // the first block header, after the stream header
	n := (int(hdr[0]) + 1) * 4
	hdr[4] = 32 // dictionary 2 << (32/2 + 11) = 256 MiB
	binary.LittleEndian.PutUint32(hdr[n-4:], crc32.ChecksumIEEE(hdr[:n-4]))
	_, err := archive.Extract(t.Context(), asset(t, "hello.xz", data), "hello.xz", nil, &bytes.Buffer{}, 0)
	if !errors.Is(err, archive.ErrTooLarge) {
		t.Fatalf("Extract = %v, want ErrTooLarge", err)
	}
}
