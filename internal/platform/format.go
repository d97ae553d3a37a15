package platform

import (
	"fmt"
	"strings"
)

// Format is how a release asset is packed, told from its name by FormatOf.
type Format int

// The formats. Bare is an executable as it is; Gz, Zst, Xz and Bz2 are one
// compressed executable; Tar, Zip and the compressed tars are archives in
// which the executable is looked up by name (see ExecutableNames).
//
// Unsupported is an archive or compression this module does not read
// (.7z, .rar, .lz4, ...): such a file is never installed as if it were a
// bare executable. NotProgram is a file that sits beside the programs and
// is never one: a checksum list, a signature, an SBOM, an OS package.
//
// The values up to Tar are those internal/archive has always used; new
// ones come after them.
const (
	Bare Format = iota
	TarGz
	Zip
	TarXz
	TarZst
	Gz
	Zst
	Xz
	Tar
	TarBz2
	Bz2
	Unsupported
	NotProgram
)

// Compression is the stream compression of a format, which is what needs a
// decompressor linked into the program.
type Compression int

// The compressions. Gzip and Bzip2 come with the standard library; Zstd
// and Xz need a decompressor registered by the packages under compress/.
const (
	NoCompression Compression = iota
	Gzip
	Bzip2
	Zstd
	XzCompression
)

// String returns the compression's usual name.
func (c Compression) String() string {
	switch c {
	case NoCompression:
		return "none"
	case Gzip:
		return "gzip"
	case Bzip2:
		return "bzip2"
	case Zstd:
		return "zstd"
	case XzCompression:
		return "xz"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// formatInfo is one row of the format table.
type formatInfo struct {
	name        string // usual ending without its dot
	compression Compression
	tar, zip    bool
}

var formats = map[Format]formatInfo{
	Bare:   {name: "bare"},
	TarGz:  {name: "tar.gz", compression: Gzip, tar: true},
	Zip:    {name: "zip", zip: true},
	TarXz:  {name: "tar.xz", compression: XzCompression, tar: true},
	TarZst: {name: "tar.zst", compression: Zstd, tar: true},
	Gz:     {name: "gz", compression: Gzip},
	Zst:    {name: "zst", compression: Zstd},
	Xz:     {name: "xz", compression: XzCompression},
	Tar:    {name: "tar", tar: true},
	TarBz2: {name: "tar.bz2", compression: Bzip2, tar: true},
	Bz2:    {name: "bz2", compression: Bzip2},

	Unsupported: {name: "unsupported"},
	NotProgram:  {name: "not a program"},
}

// String returns the format's usual file ending without its dot ("tar.gz",
// "zip"), or "bare", "unsupported" or "not a program".
func (f Format) String() string {
	if i, ok := formats[f]; ok {
		return i.name
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Compression returns the stream compression of the format.
func (f Format) Compression() Compression { return formats[f].compression }

// IsTar reports whether the format is a tar stream, compressed or not.
func (f Format) IsTar() bool { return formats[f].tar }

// IsArchive reports whether the format holds entries, of which the
// executable is one: a tar, compressed or not, or a zip.
func (f Format) IsArchive() bool { return formats[f].tar || formats[f].zip }

// Installable reports whether a file of this format can hold a program
// this module installs: not Unsupported, not NotProgram.
func (f Format) Installable() bool {
	_, ok := formats[f]
	return ok && f != Unsupported && f != NotProgram
}

// Formats returns every installable format, in the order Choose prefers
// them for one build published several ways.
func Formats() []Format { return append([]Format(nil), formatRank...) }

// formatRank orders the formats of one build published several ways (a
// goreleaser archive with formats [tar.gz, zip], yq's bare binary beside
// its tar.gz). Archives come before bare files: they are a third of the
// download, they are what release tooling always lists in its checksum
// file and signs (a bare copy is often an extra upload), and extraction is
// streamed and bounded, so it costs little. Among archives, gzip first
// because the standard library reads it, then the better compressions.
var formatRank = []Format{TarGz, TarZst, TarXz, Zip, TarBz2, Tar, Gz, Zst, Xz, Bz2, Bare}

// rank is a format's place in formatRank; lower is better.
func (f Format) rank() int {
	for i, g := range formatRank {
		if g == f {
			return i
		}
	}
	return len(formatRank)
}

// suffixes maps name endings to formats, longest first so that ".tar.gz"
// wins over ".gz". ".exe" is not here: it is part of a bare name.
var suffixes = []struct {
	suffix string
	format Format
}{
	{".tar.gzip", TarGz},
	{".tar.zstd", TarZst},
	{".tar.bz2", TarBz2},
	{".tar.zst", TarZst},
	{".tar.gz", TarGz},
	{".tar.xz", TarXz},
	{".tbz2", TarBz2},
	{".tzst", TarZst},
	{".gzip", Gz},
	{".zstd", Zst},
	{".tbz", TarBz2},
	{".tgz", TarGz},
	{".txz", TarXz},
	{".zip", Zip},
	{".tar", Tar},
	{".bz2", Bz2},
	{".zst", Zst},
	{".gz", Gz},
	{".xz", Xz},
}

// unsupportedSuffixes are archive and compression endings that no
// decompressor here reads. Recognising them matters more than reading
// them: otherwise "app_linux_amd64.tar.lz4" would look bare and be
// installed as it is.
var unsupportedSuffixes = []string{
	".tar.lz4", ".tar.lzma", ".tar.lz", ".tar.br", ".tar.z", ".tar.sz", ".tlz",
	".7z", ".rar", ".lz4", ".lzma", ".lz", ".lzo", ".br", ".sz", ".zz", ".z",
	".cab", ".arj", ".cpio", ".xar", ".jar", ".war",
}

// FormatOf tells an asset's format from its name, case-insensitively.
// A name with no known ending is Bare, so "hello" and "hello.exe" are
// installed as they are; see SplitFormat.
func FormatOf(name string) Format {
	_, _, f := SplitFormat(name)
	return f
}

// SplitFormat cuts the format's ending off name and returns what is left,
// the ending as written (with its dot; empty for Bare) and the format.
// Files that are never programs (NotProgram) are checked first, so that
// "x.tar.gz.sig" and the Arch Linux package "x.pkg.tar.zst" are not
// archives; unreadable compressions come out as Unsupported.
func SplitFormat(name string) (stem, ext string, f Format) {
	lower := strings.ToLower(name)
	if s, ok := notProgramSuffix(lower); ok {
		return name[:len(name)-len(s)], name[len(name)-len(s):], NotProgram
	}
	if isChecksumList(lower) {
		return name, "", NotProgram
	}
	for _, s := range suffixes {
		if strings.HasSuffix(lower, s.suffix) && len(lower) > len(s.suffix) {
			return name[:len(name)-len(s.suffix)], name[len(name)-len(s.suffix):], s.format
		}
	}
	for _, s := range unsupportedSuffixes {
		if strings.HasSuffix(lower, s) && len(lower) > len(s) {
			return name[:len(name)-len(s)], name[len(name)-len(s):], Unsupported
		}
	}
	return name, "", Bare
}
