package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"

	"github.com/ulikunitz/xz"
)

// TestUnsafe checks that a hostile entry fails the whole archive, wherever
// it is and even when it is not the executable.
func TestUnsafe(t *testing.T) {
	t.Parallel()
	exe := []byte("the executable")
	cases := map[string]struct {
		formats []Format
		entries []entry
	}{
		"dot-dot before": {
			[]Format{TarGz, Zip, Tar},
			[]entry{reg("../evil", []byte("x")), reg("hello", exe)},
		},
		"dot-dot after the executable": {
			[]Format{TarGz, Zip},
			[]entry{reg("hello", exe), reg("a/../../evil", []byte("x"))},
		},
		"backslash dot-dot": {
			[]Format{Zip},
			[]entry{reg(`..\evil`, []byte("x")), reg("hello", exe)},
		},
		"absolute": {
			[]Format{TarGz, Zip},
			[]entry{reg("hello", exe), reg("/etc/passwd", []byte("root::0:0::/:/bin/sh"))},
		},
		"drive letter": {
			[]Format{Zip},
			[]entry{reg("C:/Windows/evil.dll", []byte("x")), reg("hello", exe)},
		},
		"symlink named like the executable": {
			[]Format{TarGz, Zip, TarZst},
			[]entry{{Name: "bin/hello", Typeflag: tar.TypeSymlink, Linkname: "/bin/sh"}},
		},
		"symlink beside the executable": {
			[]Format{TarGz, Zip},
			[]entry{reg("a/hello", exe), {Name: "b/hello.exe", Typeflag: tar.TypeSymlink, Linkname: "../a/hello"}},
		},
		"hard link named like the executable": {
			[]Format{TarGz, TarXz},
			[]entry{reg("README", exe), {Name: "hello", Typeflag: tar.TypeLink, Linkname: "README"}},
		},
		"device named like the executable": {
			[]Format{Tar},
			[]entry{{Name: "hello", Typeflag: tar.TypeChar}},
		},
		"fifo named like the executable": {
			[]Format{Tar},
			[]entry{{Name: "hello", Typeflag: tar.TypeFifo}},
		},
	}
	for name, c := range cases {
		for _, f := range c.formats {
			t.Run(name+"/"+f.String(), func(t *testing.T) {
				t.Parallel()
				_, _, err := extract(t, assetName(f), build(t, f, c.entries), 0)
				if !errors.Is(err, ErrUnsafe) {
					t.Fatalf("Extract = %v, want ErrUnsafe", err)
				}
			})
		}
	}
}

// TestSafeNames checks that odd but harmless names are not refused.
func TestSafeNames(t *testing.T) {
	t.Parallel()
	exe := []byte("the executable")
	data := build(t, TarGz, []entry{
		reg("./hello_1.0/../hello_1.0/README", []byte("x")),
		reg("..hidden", []byte("x")),
		reg("./hello", exe),
	})
	got, _, err := extract(t, "a.tgz", data, 0)
	if err != nil || !bytes.Equal(got, exe) {
		t.Fatalf("Extract = %q, %v", got, err)
	}
}

// TestBombs checks that a small asset that decompresses to a great deal
// stops at the limit, having written no more than the limit.
func TestBombs(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	const size = 64 << 20 // 64 times the limit, a few KiB compressed
	stream := func(f Format) []byte {
		var buf bytes.Buffer
		zw := compressor(t, f, &buf)
		if f == Gz { // the best ratio makes the smallest bomb
			zw, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
		}
		if _, err := io.CopyN(zw, zeros{}, size); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	zipBomb := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		fw, err := zw.Create("hello")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(fw, zeros{}, size); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	cases := map[string][]byte{
		"hello.gz":  stream(Gz),
		"hello.zst": stream(Zst),
		"hello.zip": zipBomb(),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if len(data) > size/100 {
				t.Fatalf("the bomb is %d bytes, not a bomb", len(data))
			}
			var w countWriter
			n, err := Extract(context.Background(), assetFile(t, name, data), name, []string{"hello"}, &w, limit)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Extract = %v, want ErrTooLarge", err)
			}
			if n != w.n || w.n > limit {
				t.Fatalf("wrote %d bytes (reported %d), limit %d", w.n, n, limit)
			}
		})
	}
	t.Run("tar header", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		tw := tar.NewWriter(zw)
		if err := tw.WriteHeader(&tar.Header{Name: "hello", Typeflag: tar.TypeReg, Size: size, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(tw, zeros{}, size); err != nil {
			t.Fatal(err)
		}
		_ = tw.Close()
		_ = zw.Close()
		var w countWriter
		_, err := Extract(context.Background(), assetFile(t, "a.tgz", buf.Bytes()), "a.tgz", []string{"hello"}, &w, limit)
		if !errors.Is(err, ErrTooLarge) || w.n != 0 {
			t.Fatalf("Extract = %v after writing %d bytes; want ErrTooLarge before writing", err, w.n)
		}
	})
}

// TestZstdWindow checks that a zstd frame asking for a 256 MiB window,
// more than maxWindow though less than the decoder's default limit, is
// refused before the decoder allocates it.
func TestZstdWindow(t *testing.T) {
	t.Parallel()
	// Magic, frame header descriptor (no single segment, no checksum, no
	// content size), window descriptor 2^(10+18) = 256 MiB, then one last raw
	// block of 4 bytes.
	frame := []byte{0x28, 0xB5, 0x2F, 0xFD, 0x00, 18 << 3, 0x21, 0x00, 0x00, 'o', 'o', 'p', 's'}
	for _, name := range []string{"hello.zst", "hello.tar.zst"} {
		_, _, err := extract(t, name, frame, 0)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%s: Extract = %v, want ErrTooLarge", name, err)
		}
	}
	// The same frame with a 1 MiB window decodes, so the test does check
	// the window and not something else.
	frame[5] = 10 << 3
	got, _, err := extract(t, "hello.zst", frame, 0)
	if err != nil || string(got) != "oops" {
		t.Fatalf("1 MiB window: Extract = %q, %v", got, err)
	}
}

// TestXzDictionary checks that an xz block asking for a 256 MiB dictionary is
// refused before the decoder allocates it, even in the second stream of a
// file whose first stream has several blocks.
func TestXzDictionary(t *testing.T) {
	t.Parallel()
	exe := randomBytes(300_000, 5)
	xzStream := func(data []byte, blockSize int64) []byte {
		var buf bytes.Buffer
		zw, err := xz.WriterConfig{BlockSize: blockSize}.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	first := xzStream(exe[:200_000], 64<<10) // four blocks
	second := xzStream(exe[200_000:], 0)
	file := append(append(append([]byte(nil), first...), make([]byte, 8)...), second...) // with stream padding

	got, _, err := extract(t, "hello.xz", file, 0)
	if err != nil || !bytes.Equal(got, exe) {
		t.Fatalf("two streams: Extract = %v, %d bytes", err, len(got))
	}

	// Set the second stream's first block header to a 256 MiB dictionary
	// (code 32: 2 << (32/2 + 11)) and fix its CRC32, so that only the size
	// is wrong.
	hdr := file[len(first)+8+12:]
	hdrLen := (int(hdr[0]) + 1) * 4
	if hdr[2] != 0x21 || hdr[3] != 1 {
		t.Fatalf("unexpected block header % x", hdr[:hdrLen])
	}
	hdr[4] = 32
	binary.LittleEndian.PutUint32(hdr[hdrLen-4:], crc32.ChecksumIEEE(hdr[:hdrLen-4]))
	_, _, err = extract(t, "hello.xz", file, 0)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("256 MiB dictionary: Extract = %v, want ErrTooLarge", err)
	}
	// In a tar.xz as well.
	tarXz := build(t, TarXz, []entry{reg("hello", exe)})
	hdr = tarXz[12:]
	hdrLen = (int(hdr[0]) + 1) * 4
	hdr[4] = 32
	binary.LittleEndian.PutUint32(hdr[hdrLen-4:], crc32.ChecksumIEEE(hdr[:hdrLen-4]))
	if _, _, err := extract(t, "hello.tar.xz", tarXz, 0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("tar.xz with a 256 MiB dictionary: Extract = %v, want ErrTooLarge", err)
	}
}
