package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// allFormats are the formats the tests can write; the standard library
// cannot write bzip2, so TarBz2 and Bz2 are tested with files in testdata.
var allFormats = []Format{Bare, TarGz, Zip, TarXz, TarZst, Gz, Zst, Xz, Tar}

func TestFormatOf(t *testing.T) {
	t.Parallel()
	cases := map[string]Format{
		"hello":                        Bare,
		"hello.exe":                    Bare,
		"hello_1.0_linux_amd64.tar.gz": TarGz,
		"HELLO.TGZ":                    TarGz,
		"hello_windows.zip":            Zip,
		"hello.tar.xz":                 TarXz,
		"hello.TXZ":                    TarXz,
		"hello.tar.zst":                TarZst,
		"hello.tzst":                   TarZst,
		"hello.gz":                     Gz,
		"hello.exe.Zst":                Zst,
		"hello.xz":                     Xz,
		"hello.tar":                    Tar,
		"hello.tar.bz2":                TarBz2,
		"hello.tbz2":                   TarBz2,
		"hello.bz2":                    Bz2,
		"hello.gzip":                   Gz,
		"hello.7z":                     Unsupported,
		"hello.tar.lz4":                Unsupported,
		"hello.deb":                    NotProgram,
		"checksums.txt":                NotProgram,
	}
	for name, want := range cases {
		if got := FormatOf(name); got != want {
			t.Errorf("FormatOf(%q) = %v, want %v", name, got, want)
		}
	}
	strs := map[string]bool{}
	for _, f := range allFormats {
		s := f.String()
		if strs[s] || strings.HasPrefix(s, "Format(") {
			t.Errorf("%d.String() = %q: not a distinct name", int(f), s)
		}
		strs[s] = true
		if f != Bare && FormatOf("x."+s) != f {
			t.Errorf("FormatOf(%q) = %v, want %v", "x."+s, FormatOf("x."+s), f)
		}
	}
	if got := Format(99).String(); got != "Format(99)" {
		t.Errorf("Format(99).String() = %q", got)
	}
	// The values callers may have kept are those of before the table moved.
	for f, v := range map[Format]int{Bare: 0, TarGz: 1, Zip: 2, TarXz: 3, TarZst: 4, Gz: 5, Zst: 6, Xz: 7, Tar: 8} {
		if int(f) != v {
			t.Errorf("%v = %d, was %d", f, int(f), v)
		}
	}
}

// TestRoundTrip extracts a 5 MiB executable from every format, nested in a
// folder among other entries, including links elsewhere, which are skipped.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	exe := exe5MiB()
	entries := []entry{
		{Name: "hello_1.0/", Typeflag: tar.TypeDir},
		reg("hello_1.0/README.md", []byte("# hello\n")),
		{Name: "hello_1.0/docs", Typeflag: tar.TypeSymlink, Linkname: "/usr/share/doc"},
		reg("hello_1.0/hello", exe),
		reg("hello_1.0/LICENSE", []byte("MIT\n")),
	}
	tarOnly := []entry{{Name: "hello_1.0/license-copy", Typeflag: tar.TypeLink, Linkname: "hello_1.0/LICENSE"}}
	for _, f := range allFormats {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			es := entries
			switch {
			case f.IsTar():
				es = append(append([]entry(nil), entries...), tarOnly...)
			case f != Zip:
				es = []entry{reg("", exe)}
			}
			got, n, err := extract(t, assetName(f), build(t, f, es), 0)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if n != int64(len(exe)) || !bytes.Equal(got, exe) {
				t.Fatalf("extracted %d bytes that differ from the %d-byte executable", n, len(exe))
			}
		})
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	body := []byte("#!/bin/true\n")
	cases := []struct {
		entry string
		names []string
	}{
		{"hello.exe", []string{"hello"}},
		{"HELLO.EXE", []string{"hello"}},
		{"dist/Hello", []string{"hello.exe"}},
		{`dist\hello.exe`, []string{"hello"}},
		{"bin/hello-cli", []string{"hello", "hello-cli"}},
	}
	for _, f := range []Format{TarGz, Zip} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%v/%s", f, c.entry), func(t *testing.T) {
				t.Parallel()
				data := build(t, f, []entry{reg("hello.txt", []byte("not me")), reg(c.entry, body)})
				var out bytes.Buffer
				name := assetName(f)
				_, err := Extract(context.Background(), assetFile(t, name, data), name, c.names, &out, 0)
				if err != nil {
					t.Fatalf("Extract %q with names %q: %v", c.entry, c.names, err)
				}
				if !bytes.Equal(out.Bytes(), body) {
					t.Fatalf("got %q, want %q", out.Bytes(), body)
				}
			})
		}
	}
}

func TestAmbiguous(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{Tar, TarGz, Zip} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			data := build(t, f, []entry{reg("a/hello", []byte("one")), reg("b/README", nil), reg("b/Hello.exe", []byte("two"))})
			if _, _, err := extract(t, assetName(f), data, 0); !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("Extract = %v, want ErrAmbiguous", err)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	var es []entry
	for i := range 25 {
		es = append(es, reg(fmt.Sprintf("file%02d.txt", i), []byte("x")))
	}
	es = append(es, reg("hello.txt", nil), entry{Name: "hello_dir/hello", Typeflag: tar.TypeDir})
	for _, f := range []Format{TarGz, Zip} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			_, _, err := extract(t, assetName(f), build(t, f, es), 0)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Extract = %v, want ErrNotFound", err)
			}
			// The message helps a publisher: it names a few entries, not all.
			msg := err.Error()
			if !strings.Contains(msg, "file00.txt") || strings.Contains(msg, "file20.txt") || !strings.Contains(msg, "27 entries") {
				t.Errorf("message should list the first entries and count them all: %s", msg)
			}
		})
	}
	t.Run("no names", func(t *testing.T) {
		t.Parallel()
		data := build(t, TarGz, []entry{reg("hello", []byte("x"))})
		_, err := Extract(context.Background(), assetFile(t, "a.tgz", data), "a.tgz", nil, io.Discard, 0)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Extract = %v, want ErrNotFound", err)
		}
	})
}

func TestCorrupt(t *testing.T) {
	t.Parallel()
	exe := randomBytes(256<<10, 2)
	cut := func(f Format, keep func(n int) int) []byte {
		data := build(t, f, []entry{reg("README", []byte("read me")), reg("hello", exe)})
		return data[:keep(len(data))]
	}
	half := func(n int) int { return n / 2 }
	cases := map[string]struct {
		name string
		data []byte
	}{
		"half tar.gz":         {"a.tar.gz", cut(TarGz, half)},
		"tar.gz sans trailer": {"a.tar.gz", cut(TarGz, func(n int) int { return n - 4 })},
		"half gz":             {"a.gz", cut(Gz, half)},
		"half zip":            {"a.zip", cut(Zip, half)},
		"zip sans directory":  {"a.zip", cut(Zip, func(n int) int { return n - 10 })},
		"half tar.zst":        {"a.tar.zst", cut(TarZst, half)},
		"half zst":            {"a.zst", cut(Zst, half)},
		"half tar.xz":         {"a.tar.xz", cut(TarXz, half)},
		"half xz":             {"a.xz", cut(Xz, half)},
		"half tar":            {"a.tar", cut(Tar, func(n int) int { return 1024 + 100 })},
		"text as tar.gz":      {"a.tar.gz", []byte("<html>not found</html>")},
		"text as zip":         {"a.zip", []byte("<html>not found</html>")},
		"text as xz":          {"a.xz", []byte("<html>not found</html>")},
		"empty tar.zst":       {"a.tar.zst", nil},
		"empty bare":          {"hello", nil},
		"empty executable":    {"a.tgz", build(t, TarGz, []entry{reg("hello", nil)})},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, _, err := extract(t, c.name, c.data, 0); !errors.Is(err, ErrFormat) {
				t.Fatalf("Extract = %v, want ErrFormat", err)
			}
		})
	}
}

// TestLimitExact checks the boundary: an executable of exactly limit bytes
// passes, one more byte fails, and no more than limit bytes are written.
func TestLimitExact(t *testing.T) {
	t.Parallel()
	exe := randomBytes(100_000, 3)
	for _, f := range []Format{Bare, Gz, Xz, TarZst, Zip} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			data := build(t, f, []entry{reg("hello", exe)})
			got, _, err := extract(t, assetName(f), data, int64(len(exe)))
			if err != nil || !bytes.Equal(got, exe) {
				t.Fatalf("at the limit: Extract = %v, %d bytes", err, len(got))
			}
			got, n, err := extract(t, assetName(f), data, int64(len(exe))-1)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("over the limit: Extract = %v, want ErrTooLarge", err)
			}
			if n > int64(len(exe))-1 || !bytes.Equal(got, exe[:n]) {
				t.Fatalf("over the limit: wrote %d bytes, limit %d", n, len(exe)-1)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	data := build(t, TarGz, []entry{reg("hello", exe5MiB())})
	t.Run("before", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var w countWriter
		n, err := Extract(ctx, assetFile(t, "a.tgz", data), "a.tgz", []string{"hello"}, &w, 0)
		if !errors.Is(err, context.Canceled) || n != 0 || w.n != 0 {
			t.Fatalf("Extract = %d, %v; want 0, context.Canceled", n, err)
		}
	})
	t.Run("during copy", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := &cancelWriter{cancel: cancel}
		n, err := Extract(ctx, assetFile(t, "a.tgz", data), "a.tgz", []string{"hello"}, w, 0)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Extract = %v, want context.Canceled", err)
		}
		if n != w.n || n >= int64(len(exe5MiB())) {
			t.Fatalf("wrote %d of %d bytes after cancelling at the first write", n, len(exe5MiB()))
		}
	})
}

// cancelWriter cancels its context on the first write.
type cancelWriter struct {
	cancel func()
	n      int64
}

func (c *cancelWriter) Write(p []byte) (int, error) {
	c.cancel()
	c.n += int64(len(p))
	return len(p), nil
}

// TestWriteError checks that a failing destination is reported as itself,
// not as a corrupt archive.
func TestWriteError(t *testing.T) {
	t.Parallel()
	errDisk := errors.New("disk full")
	for _, f := range []Format{Bare, TarGz, Zip} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			name := assetName(f)
			src := assetFile(t, name, build(t, f, []entry{reg("hello", randomBytes(200_000, 4))}))
			_, err := Extract(context.Background(), src, name, []string{"hello"}, failWriter{errDisk}, 0)
			if !errors.Is(err, errDisk) || errors.Is(err, ErrFormat) {
				t.Fatalf("Extract = %v, want the writer's error only", err)
			}
		})
	}
	t.Run("closed source", func(t *testing.T) {
		t.Parallel()
		src := assetFile(t, "hello", []byte("x"))
		_ = src.Close()
		_, err := Extract(context.Background(), src, "hello", []string{"hello"}, io.Discard, 0)
		if !errors.Is(err, os.ErrClosed) || errors.Is(err, ErrFormat) {
			t.Fatalf("Extract = %v, want os.ErrClosed", err)
		}
	})
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func BenchmarkExtractTarGz(b *testing.B) {
	exe := exe5MiB()
	data := build(b, TarGz, []entry{reg("README", []byte("hi")), reg("hello_1.0/hello", exe)})
	src := assetFile(b, "a.tgz", data)
	b.SetBytes(int64(len(exe)))
	b.ReportAllocs()
	for b.Loop() {
		var w countWriter
		if _, err := Extract(context.Background(), src, "a.tgz", []string{"hello"}, &w, 0); err != nil || w.n != int64(len(exe)) {
			b.Fatalf("Extract = %v, %d bytes", err, w.n)
		}
	}
}

// TestTarTrailing checks what may follow a tar stream's end marker: a
// record's padding is read (so the gzip checksum is checked), a long tail
// that could hide a bomb is refused.
func TestTarTrailing(t *testing.T) {
	t.Parallel()
	exe := []byte("the executable")
	withTail := func(n int64) []byte {
		var buf bytes.Buffer
		zw := compressor(t, TarGz, &buf)
		writeTar(t, zw, []entry{reg("hello", exe)})
		if _, err := io.CopyN(zw, zeros{}, n); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	got, _, err := extract(t, "a.tgz", withTail(9<<10), 0)
	if err != nil || !bytes.Equal(got, exe) {
		t.Fatalf("record padding: Extract = %q, %v", got, err)
	}
	if _, _, err := extract(t, "a.tgz", withTail(2<<20), 0); !errors.Is(err, ErrFormat) {
		t.Fatalf("2 MiB tail: Extract = %v, want ErrFormat", err)
	}
}
