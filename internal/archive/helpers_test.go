package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// entry is one file in a test archive. Typeflag is a tar type; zip
// archives turn TypeSymlink into a symlink mode and ignore other types.
type entry struct {
	Name     string
	Typeflag byte
	Body     []byte
	Linkname string
}

func reg(name string, body []byte) entry { return entry{Name: name, Typeflag: tar.TypeReg, Body: body} }

// exe5MiB is a 5 MiB random executable shared (read-only) by the tests.
var exe5MiB = sync.OnceValue(func() []byte { return randomBytes(5<<20, 1) })

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	var s [32]byte
	s[0] = byte(seed)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// writeTar writes entries as a tar stream.
func writeTar(t testing.TB, w io.Writer, entries []entry) {
	t.Helper()
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Typeflag, Mode: 0o755, Linkname: e.Linkname}
		switch e.Typeflag {
		case tar.TypeReg:
			h.Size = int64(len(e.Body))
		case tar.TypeChar, tar.TypeBlock:
			h.Devmajor, h.Devminor = 1, 3
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", e.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeZip writes entries as a zip archive, deflated.
func writeZip(t testing.TB, w io.Writer, entries []entry) {
	t.Helper()
	zw := zip.NewWriter(w)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
		body := e.Body
		switch e.Typeflag {
		case tar.TypeSymlink:
			h.SetMode(fs.ModeSymlink | 0o777)
			body = []byte(e.Linkname)
		case tar.TypeDir:
			h.SetMode(fs.ModeDir | 0o755)
		default:
			h.SetMode(0o755)
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// compressor wraps w in the compression of a format; Bare, Tar and Zip get
// w itself.
func compressor(t testing.TB, f Format, w io.Writer) io.WriteCloser {
	t.Helper()
	switch f {
	case Gz, TarGz:
		zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
		if err != nil {
			t.Fatal(err)
		}
		return zw
	case Zst, TarZst:
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		return zw
	case Xz, TarXz:
		// A small dictionary: the pure Go LZMA encoder takes many seconds
		// over 5 MiB of random bytes with the default one.
		zw, err := xz.WriterConfig{DictCap: 64 << 10}.NewWriter(w)
		if err != nil {
			t.Fatal(err)
		}
		return zw
	}
	return nopCloser{w}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// build makes an asset of format f: the entries as an archive, or for the
// single-file formats the first entry's body alone.
func build(t testing.TB, f Format, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	if f == Zip {
		writeZip(t, &buf, entries)
		return buf.Bytes()
	}
	zw := compressor(t, f, &buf)
	if f.IsTar() {
		writeTar(t, zw, entries)
	} else if _, err := zw.Write(entries[0].Body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// assetName is a release-like file name for a format.
func assetName(f Format) string {
	if f == Bare {
		return "hello_1.0_linux_amd64"
	}
	return "hello_1.0_linux_amd64." + f.String()
}

// assetFile writes data to a new file and returns it open for reading and
// writing with its offset left at the end, as a download leaves it.
func assetFile(t testing.TB, name string, data []byte) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(t.TempDir(), name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f
}

// extract runs Extract on data stored under name, with names {"hello"}.
func extract(t testing.TB, name string, data []byte, limit int64) ([]byte, int64, error) {
	t.Helper()
	var out bytes.Buffer
	n, err := Extract(context.Background(), assetFile(t, name, data), name, []string{"hello"}, &out, limit)
	if n != int64(out.Len()) {
		t.Fatalf("Extract returned %d bytes written, wrote %d", n, out.Len())
	}
	return out.Bytes(), n, err
}

// countWriter counts and drops what it is given.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
