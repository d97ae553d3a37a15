package platform

import (
	"strings"

	"github.com/Masterminds/semver/v3"
)

// FeedFile is what a file name in a feed's folder says about the file, by
// the feed's strict rule (see ParseFeedName).
type FeedFile struct {
	// Name is the whole file name.
	Name string
	// App, Version, OS and Arch are the parts of the name. Arch may be an
	// ARM variant (armv6, armv7) as written.
	App, Version, OS, Arch string
	// Format is how the file is packed; Ext is its ending as written,
	// without the dot ("tar.gz", "tgz", "zip"), empty for a bare
	// executable.
	Format Format
	Ext    string
	// Executable is the name of the executable inside an archive: the
	// app's name, with ".exe" for windows. It is empty when the file is
	// the executable itself, bare or compressed.
	Executable string
}

// feedOS and feedArch are the GOOS and GOARCH values (and the arm variants
// people write in file names) that a feed name may end with. Matching from
// a known list, rather than "the last two dash-separated words", is what
// lets app names and prerelease versions contain dashes.
var (
	feedOS = set("aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js",
		"linux", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows")
	feedArch = set("386", "amd64", "arm", "armv5", "armv6", "armv7", "arm64", "loong64",
		"mips", "mipsle", "mips64", "mips64le", "ppc64", "ppc64le", "riscv64", "s390x", "wasm")
)

// FeedName writes the name of a feed file: <app>-<version>-<os>-<arch>,
// with ".exe" for a bare windows executable and the format's ending
// otherwise ("hello-1.2.0-linux-arm64.tar.gz"). It returns "" for a format
// that cannot be installed. ParseFeedName reads the name back.
func FeedName(app, version, goos, goarch string, f Format) string {
	if !f.Installable() {
		return ""
	}
	base := app + "-" + version + "-" + goos + "-" + goarch
	if f == Bare {
		return ExeName(base, goos)
	}
	return base + "." + f.String()
}

// ParseFeedName reads a file name of the form <app>-<version>-<os>-<arch>,
// bare (with ".exe" for windows) or ending in the lower-case ending of any
// format this module installs (".tar.gz", ".tgz", ".zip", ".tar.zst",
// ".xz", ".bz2", ...; a single compressed windows executable may keep its
// ".exe": "hello-1.0.0-windows-amd64.exe.gz"). It reports false for any
// other name, so a feed server serves, and a feed lists, exactly the files
// the updater can install.
//
// The name is read from the right: arch and os must be known GOARCH and
// GOOS values; of what is left, the version is the longest dash-separated
// tail that is a full semantic version (1.2.0, v1.2.0, 1.2.0-rc.1), and
// the app is the rest, which must be a plain name. So
// "my-tool-1.2.0-rc.1-linux-amd64" is my-tool at 1.2.0-rc.1.
func ParseFeedName(name string) (FeedFile, bool) {
	if !validName(name) || strings.HasPrefix(name, ".") {
		return FeedFile{}, false
	}
	stem, ext, f := SplitFormat(name)
	if !f.Installable() || ext != strings.ToLower(ext) {
		return FeedFile{}, false
	}
	e := FeedFile{Name: name, Format: f, Ext: strings.TrimPrefix(ext, ".")}
	exe := false
	if !f.IsArchive() {
		stem, exe = strings.CutSuffix(stem, exeSuffix)
	}
	parts := strings.Split(stem, "-")
	n := len(parts)
	if n < 4 || !feedOS[parts[n-2]] || !feedArch[parts[n-1]] {
		return FeedFile{}, false
	}
	e.OS, e.Arch = parts[n-2], parts[n-1]
	if exe && e.OS != "windows" {
		return FeedFile{}, false
	}
	// The leftmost split that leaves a full version wins, so the version
	// keeps its own dashes (1.2.0-rc-1) and the app keeps the rest.
	for i := 1; i < n-2; i++ {
		app, version := strings.Join(parts[:i], "-"), strings.Join(parts[i:n-2], "-")
		if !validName(app) || !fullVersion(version) {
			continue
		}
		e.App, e.Version = app, version
		if f.IsArchive() {
			e.Executable = ExeName(app, e.OS)
		}
		return e, true
	}
	return FeedFile{}, false
}

// fullVersion reports whether s is major.minor.patch with optional
// prerelease and build parts and an optional leading "v". Partial versions
// such as "2" are refused: app names often end in a number.
func fullVersion(s string) bool {
	_, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v"))
	return err == nil
}

// validName reports whether s can name a file in a folder and a segment of
// a URL path without leaving it (the feed's rule).
func validName(s string) bool {
	return s != "" && s != "." && !strings.Contains(s, "..") &&
		!strings.ContainsAny(s, "/\\\x00")
}
