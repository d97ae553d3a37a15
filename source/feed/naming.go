package feed

import (
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Entry is what a file name in a served folder says about the file.
type Entry struct {
	// Name is the whole file name.
	Name string
	// App, Version, OS and Arch are the parts of the name. Arch may be an
	// arm variant (armv6, armv7) as written.
	App, Version, OS, Arch string
	// Archive is "tar.gz", "tgz" or "zip" for an archive, empty for a bare
	// executable.
	Archive string
	// Executable is the name of the executable inside an archive: the app's
	// name, with ".exe" for windows. It is empty for a bare executable.
	Executable string
}

// knownOS and knownArch are the GOOS and GOARCH values (and the arm variants
// people write in file names) that a name may end with. Matching from a
// known list, rather than "the last two dash-separated words", is what
// lets app names and prerelease versions contain dashes.
var (
	knownOS = set("aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js",
		"linux", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows")
	knownArch = set("386", "amd64", "arm", "armv5", "armv6", "armv7", "arm64", "loong64",
		"mips", "mipsle", "mips64", "mips64le", "ppc64", "ppc64le", "riscv64", "s390x", "wasm")
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// ParseName reads a file name of the form <app>-<version>-<os>-<arch>, with
// ".exe" for windows, or the same ending in ".tar.gz", ".tgz" or ".zip" for
// an archive holding the executable. It reports false for any other name.
//
// The name is read from the right: arch and os must be known GOARCH and GOOS
// values; of what is left, the version is the longest dash-separated tail
// that is a full semantic version (1.2.0, v1.2.0, 1.2.0-rc.1), and the app
// is the rest, which must be a plain name. So "my-tool-1.2.0-rc.1-linux-amd64"
// is my-tool at 1.2.0-rc.1.
func ParseName(name string) (Entry, bool) {
	e := Entry{Name: name}
	if !ValidName(name) || strings.HasPrefix(name, ".") {
		return Entry{}, false
	}
	stem := name
	for _, ext := range []string{".tar.gz", ".tgz", ".zip"} {
		if s, ok := strings.CutSuffix(stem, ext); ok {
			stem, e.Archive = s, ext[1:]
			break
		}
	}
	exe := false
	if e.Archive == "" {
		stem, exe = strings.CutSuffix(stem, ".exe")
	}
	parts := strings.Split(stem, "-")
	n := len(parts)
	if n < 4 || !knownOS[parts[n-2]] || !knownArch[parts[n-1]] {
		return Entry{}, false
	}
	e.OS, e.Arch = parts[n-2], parts[n-1]
	if exe && e.OS != "windows" {
		return Entry{}, false
	}
	// The leftmost split that leaves a full version wins, so the version
	// keeps its own dashes (1.2.0-rc-1) and the app keeps the rest.
	for i := 1; i < n-2; i++ {
		app, version := strings.Join(parts[:i], "-"), strings.Join(parts[i:n-2], "-")
		if !ValidName(app) || !fullVersion(version) {
			continue
		}
		e.App, e.Version = app, version
		if e.Archive != "" {
			e.Executable = app
			if e.OS == "windows" {
				e.Executable += ".exe"
			}
		}
		return e, true
	}
	return Entry{}, false
}

// fullVersion reports whether s is major.minor.patch with optional
// prerelease and build parts and an optional leading "v". Partial versions
// such as "2" are refused: app names often end in a number.
func fullVersion(s string) bool {
	_, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v"))
	return err == nil
}
