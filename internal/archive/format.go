package archive

import "github.com/molt-go/update/internal/platform"

// Format is the kind of a release asset, told from its name by FormatOf.
// It is internal/platform's, which holds the one table of formats.
type Format = platform.Format

// The formats, re-exported from internal/platform so that callers of this
// package need not import both.
const (
	Bare        = platform.Bare
	TarGz       = platform.TarGz
	Zip         = platform.Zip
	TarXz       = platform.TarXz
	TarZst      = platform.TarZst
	Gz          = platform.Gz
	Zst         = platform.Zst
	Xz          = platform.Xz
	Tar         = platform.Tar
	TarBz2      = platform.TarBz2
	Bz2         = platform.Bz2
	Unsupported = platform.Unsupported
	NotProgram  = platform.NotProgram
)

// FormatOf tells an asset's format from its name, case-insensitively (see
// platform.SplitFormat). A name with no known ending is Bare, so "hello"
// and "hello.exe" are installed as they are; a compression nothing here
// reads (.7z, .lz4) is Unsupported and a checksum list, signature or
// package is NotProgram, both refused by Extract.
func FormatOf(assetName string) Format { return platform.FormatOf(assetName) }
