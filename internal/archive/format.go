package archive

import (
	"fmt"
	"strings"
)

// Format is the kind of a release asset, told from its name by FormatOf.
type Format int

// The formats Extract understands. Bare is an executable as it is; Gz, Zst
// and Xz are one compressed executable; the others are archives in which the
// executable is looked up by name.
const (
	Bare Format = iota
	TarGz
	Zip
	TarXz
	TarZst
	Gz
	Zst
	Xz
	// Tar is an uncompressed tar file. It comes last so that the values
	// above never change.
	Tar
)

// suffixes maps name endings to formats, longest first so that ".tar.gz"
// wins over ".gz".
var suffixes = []struct {
	suffix string
	format Format
}{
	{".tar.zst", TarZst},
	{".tar.gz", TarGz},
	{".tar.xz", TarXz},
	{".tzst", TarZst},
	{".tgz", TarGz},
	{".txz", TarXz},
	{".zip", Zip},
	{".tar", Tar},
	{".zst", Zst},
	{".gz", Gz},
	{".xz", Xz},
}

// FormatOf tells an asset's format from its name, case-insensitively.
// A name with no known ending is Bare, so "hello" and "hello.exe" are
// installed as they are.
func FormatOf(assetName string) Format {
	lower := strings.ToLower(assetName)
	for _, s := range suffixes {
		if strings.HasSuffix(lower, s.suffix) {
			return s.format
		}
	}
	return Bare
}

// String returns the format's usual file ending without its dot, or "bare".
func (f Format) String() string {
	switch f {
	case Bare:
		return "bare"
	case TarGz:
		return "tar.gz"
	case Zip:
		return "zip"
	case TarXz:
		return "tar.xz"
	case TarZst:
		return "tar.zst"
	case Gz:
		return "gz"
	case Zst:
		return "zst"
	case Xz:
		return "xz"
	case Tar:
		return "tar"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// isTar reports whether the format is a tar stream, compressed or not.
func (f Format) isTar() bool {
	return f == Tar || f == TarGz || f == TarXz || f == TarZst
}
