package platform

import (
	"strings"
	"testing"
)

func TestFormatOf(t *testing.T) {
	t.Parallel()
	cases := map[string]Format{
		"hello":                         Bare,
		"hello.exe":                     Bare,
		"hello_1.0_linux_amd64.tar.gz":  TarGz,
		"HELLO.TGZ":                     TarGz,
		"hello.tar.gzip":                TarGz,
		"hello_windows.zip":             Zip,
		"hello.tar.xz":                  TarXz,
		"hello.TXZ":                     TarXz,
		"hello.tar.zst":                 TarZst,
		"hello.tzst":                    TarZst,
		"hello.tar.bz2":                 TarBz2,
		"hello.tbz2":                    TarBz2,
		"hello.tbz":                     TarBz2,
		"hello.tar":                     Tar,
		"hello.gz":                      Gz,
		"hello.gzip":                    Gz,
		"hello.exe.Zst":                 Zst,
		"hello.xz":                      Xz,
		"restic_0.17.3_linux_amd64.bz2": Bz2,
		// never programs
		"hello.deb": NotProgram, "hello.rpm": NotProgram, "hello.apk": NotProgram, "hello.msi": NotProgram,
		"hello.pkg": NotProgram, "hello.dmg": NotProgram, "hello.sbom": NotProgram, "hello.pem": NotProgram,
		"hello.sig": NotProgram, "hello.json": NotProgram, "hello.txt": NotProgram, "hello.asc": NotProgram,
		"hello.sha256": NotProgram, "hello.sha512": NotProgram, "hello.md5": NotProgram,
		"hello.sbom.json": NotProgram, "hello.spdx": NotProgram, "hello.cdx": NotProgram,
		"hello.intoto.jsonl": NotProgram, "hello.bundle": NotProgram, "hello.sigstore": NotProgram,
		"hello.cert": NotProgram, "hello.crt": NotProgram, "hello.pub": NotProgram, "hello.minisig": NotProgram,
		"hello.yml": NotProgram, "hello.yaml": NotProgram, "hello.md": NotProgram,
		"hello.tar.gz.sig": NotProgram, "hello-1-x86_64.pkg.tar.zst": NotProgram,
		"checksums.txt": NotProgram, "SHA256SUMS": NotProgram, "checksums": NotProgram, "checksums-bsd": NotProgram,
		"MD5SUMS": NotProgram, "hello_1.0_checksums": NotProgram,
		// recognised, not readable
		"hello.lz4": Unsupported, "hello.7z": Unsupported, "hello.rar": Unsupported, "hello.lzma": Unsupported,
		"hello.br": Unsupported, "hello.tar.lz4": Unsupported, "hello.tar.Z": Unsupported,
	}
	for name, want := range cases {
		if got := FormatOf(name); got != want {
			t.Errorf("FormatOf(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestFormatTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, f := range Formats() {
		if !f.Installable() {
			t.Errorf("%v in Formats but not installable", f)
		}
		s := f.String()
		if seen[s] || strings.HasPrefix(s, "Format(") {
			t.Errorf("%d.String() = %q: not a distinct name", int(f), s)
		}
		seen[s] = true
		if f != Bare && FormatOf("x."+s) != f {
			t.Errorf("FormatOf(%q) = %v, want %v", "x."+s, FormatOf("x."+s), f)
		}
		if f.IsTar() && !f.IsArchive() || f == Zip && (!f.IsArchive() || f.IsTar()) {
			t.Errorf("%v: IsTar %v, IsArchive %v", f, f.IsTar(), f.IsArchive())
		}
		if (f.Compression() == NoCompression) != (f == Bare || f == Tar || f == Zip) {
			t.Errorf("%v.Compression() = %v", f, f.Compression())
		}
	}
	if len(Formats()) != 11 {
		t.Errorf("Formats() has %d formats", len(Formats()))
	}
	for _, f := range []Format{Unsupported, NotProgram, Format(99)} {
		if f.Installable() {
			t.Errorf("%v is installable", f)
		}
	}
	if Format(99).String() != "Format(99)" || Compression(9).String() != "Compression(9)" {
		t.Errorf("unknown values print as %q, %q", Format(99), Compression(9))
	}
	stem, ext, f := SplitFormat("Hello-1.0.TAR.GZ")
	if stem != "Hello-1.0" || ext != ".TAR.GZ" || f != TarGz {
		t.Errorf("SplitFormat = %q, %q, %v", stem, ext, f)
	}
}

func TestExeName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, goos, want string }{
		{"hello", "windows", "hello.exe"},
		{"hello.exe", "windows", "hello.exe"},
		{"hello.EXE", "windows", "hello.EXE"},
		{"hello", "linux", "hello"},
		{"hello.exe", "linux", "hello.exe"},
		{".exe", "windows", ".exe.exe"},
	} {
		if got := ExeName(tc.name, tc.goos); got != tc.want {
			t.Errorf("ExeName(%q, %q) = %q, want %q", tc.name, tc.goos, got, tc.want)
		}
	}
	if s, ok := TrimExe("a.Exe"); s != "a" || !ok {
		t.Errorf("TrimExe = %q, %v", s, ok)
	}
	if s, ok := TrimExe(".exe"); s != ".exe" || ok {
		t.Errorf("TrimExe(.exe) = %q, %v", s, ok)
	}
}
