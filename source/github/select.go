package github

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Platform is what an asset was built for, in GOOS/GOARCH terms.
type Platform struct {
	// OS is a GOOS value such as "linux", "darwin" or "windows".
	OS string
	// Arch is a GOARCH value such as "amd64", "arm64" or "arm". A macOS
	// universal binary ("darwin_all", "universal") has Arch "all".
	Arch string
	// Variant is GOARM (5, 6, 7) for "arm" and the GOAMD64 level (1 to 4)
	// for "amd64"; zero when the name does not say.
	Variant int
}

// String writes p as os/arch, with the variant when there is one.
func (p Platform) String() string {
	s := p.OS + "/" + p.Arch
	switch {
	case p.Variant == 0:
	case p.Arch == "arm":
		s += "v" + strconv.Itoa(p.Variant)
	default:
		s += "_v" + strconv.Itoa(p.Variant)
	}
	return s
}

// osWords maps the operating system words seen in asset names to GOOS.
var osWords = map[string]string{
	"linux": "linux", "darwin": "darwin", "macos": "darwin", "osx": "darwin", "mac": "darwin",
	"windows": "windows", "win": "windows", "win64": "windows", "win32": "windows",
	"freebsd": "freebsd", "openbsd": "openbsd", "netbsd": "netbsd", "dragonfly": "dragonfly",
	"android": "android", "illumos": "illumos", "solaris": "solaris", "aix": "aix",
}

// archWords maps architecture words to GOARCH and, for arm, the GOARM
// variant the word implies. "x86_64" and "arm_6" contain a separator and
// are joined before the name is split (see normalize).
var archWords = map[string]Platform{
	"amd64": {Arch: "amd64"}, "x86_64": {Arch: "amd64"}, "x64": {Arch: "amd64"},
	"amd64v1": {Arch: "amd64", Variant: 1}, "amd64v2": {Arch: "amd64", Variant: 2},
	"amd64v3": {Arch: "amd64", Variant: 3}, "amd64v4": {Arch: "amd64", Variant: 4},
	"386": {Arch: "386"}, "i386": {Arch: "386"}, "i686": {Arch: "386"}, "x86": {Arch: "386"},
	"arm64": {Arch: "arm64"}, "aarch64": {Arch: "arm64"}, "armv8": {Arch: "arm64"},
	"arm": {Arch: "arm"}, "armel": {Arch: "arm", Variant: 5}, "armhf": {Arch: "arm", Variant: 7},
	"armv5": {Arch: "arm", Variant: 5}, "armv6": {Arch: "arm", Variant: 6}, "armv7": {Arch: "arm", Variant: 7},
	"armv6l": {Arch: "arm", Variant: 6}, "armv7l": {Arch: "arm", Variant: 7},
	"ppc64le": {Arch: "ppc64le"}, "ppc64": {Arch: "ppc64"}, "s390x": {Arch: "s390x"},
	"riscv64": {Arch: "riscv64"}, "loong64": {Arch: "loong64"}, "wasm": {Arch: "wasm"},
	"mips": {Arch: "mips"}, "mipsle": {Arch: "mipsle"}, "mips64": {Arch: "mips64"}, "mips64le": {Arch: "mips64le"},
	"all": {Arch: "all"}, "universal": {Arch: "all"},
}

// formatSuffixes are the endings of the files an updater can install: the
// archive and compression formats internal/archive extracts, and ".exe".
// Longest first, so that ".tar.gz" is taken whole.
var formatSuffixes = []string{
	".tar.zst", ".tar.gz", ".tar.xz", ".tzst", ".tgz", ".txz", ".zip", ".tar", ".zst", ".gz", ".xz", ".exe",
}

// formatRank orders the formats of one build published several ways (a
// goreleaser archive with formats [tar.gz, zip]): the first wins. The order
// is a choice, not a judgement; every format here installs the same bytes.
var formatRank = []string{".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar.xz", ".txz", ".zip", ".tar", ".gz", ".zst", ".xz", ".exe", ""}

// notCandidate are endings of files that sit beside the programs and are
// never installed: signatures, certificates, checksums, SBOMs, provenance
// and OS packages (".pkg.tar.zst" must come before the archive endings
// are looked at).
var notCandidate = []string{
	".sig", ".sigstore.json", ".sigstore", ".bundle", ".pem", ".cert", ".crt", ".asc", ".gpg", ".minisig",
	".sbom", ".sbom.json", ".spdx", ".spdx.json", ".cdx.json", ".intoto.jsonl", ".att", ".json", ".yaml", ".yml",
	".txt", ".md", ".sha256", ".sha512", ".sha256sum", ".sha512sum", ".md5",
	".deb", ".rpm", ".apk", ".ipk", ".pkg.tar.zst", ".msi", ".dmg", ".pkg", ".snap", ".flatpak", ".appimage",
}

// isMetadata reports whether name is one of the files beside the programs
// (checksums, signatures, SBOMs, packages) rather than a program.
func isMetadata(name string) bool {
	lower := strings.ToLower(name)
	if strings.Contains(lower, "checksums") || strings.Contains(lower, "sha256sums") ||
		strings.Contains(lower, "sha512sums") {
		return true
	}
	for _, s := range notCandidate {
		if strings.HasSuffix(lower, s) {
			return true
		}
	}
	return false
}

// splitFormat cuts the format ending off a lower-case name.
func splitFormat(lower string) (stem, format string) {
	for _, s := range formatSuffixes {
		if strings.HasSuffix(lower, s) {
			stem = strings.TrimSuffix(lower, s)
			if s != ".exe" && strings.HasSuffix(stem, ".exe") {
				// hello_windows_amd64.exe.zip
				return strings.TrimSuffix(stem, ".exe"), s
			}
			return stem, s
		}
	}
	return lower, ""
}

// MatchAsset reports the platform that the asset called name was built for,
// if it is a program of app: its name starts with app followed by "_" or
// "-", and the words after that, separated by "_" or "-", are at most a
// version and then an operating system and an architecture, in either
// order, with anything after them (goreleaser's
// {name}_{version}_{os}_{arch}[.tar.gz|.zip|...] and its common variants:
// x86_64, aarch64, armv7, arm_6, i386, darwin_all, universal, .exe).
// Matching ignores case. Checksums, signatures, SBOMs and OS packages are
// never programs.
func MatchAsset(name, app string) (Platform, bool) {
	if app == "" || isMetadata(name) {
		return Platform{}, false
	}
	lower := strings.ToLower(name)
	prefix := strings.ToLower(app)
	if !strings.HasPrefix(lower, prefix) || len(lower) == len(prefix) {
		return Platform{}, false
	}
	rest := lower[len(prefix):]
	if rest[0] != '_' && rest[0] != '-' {
		return Platform{}, false
	}
	stem, _ := splitFormat(rest[1:])
	words := joinWords(strings.FieldsFunc(stem, func(r rune) bool { return r == '_' || r == '-' }))
	var p Platform
	for _, w := range words {
		if os, ok := osWords[w]; ok && p.OS == "" {
			p.OS = os
			continue
		}
		if a, ok := archWords[w]; ok && p.Arch == "" {
			p.Arch, p.Variant = a.Arch, a.Variant
			continue
		}
		if p.OS == "" && p.Arch == "" && !versionLike(w) {
			// hello-server_linux_amd64 is another program, not hello.
			return Platform{}, false
		}
	}
	if p.OS == "" || p.Arch == "" || (p.Arch == "all" && p.OS != "darwin") {
		return Platform{}, false
	}
	return p, true
}

// versionLike reports whether w can be the version in an asset name:
// 1.2.3, v1.2.3, 20260102.
func versionLike(w string) bool {
	w = strings.TrimPrefix(w, "v")
	return w != "" && w[0] >= '0' && w[0] <= '9'
}

// joinWords puts back together the architecture words that contain a
// separator: "x86" "64" is x86_64, "arm" "6" is armv6, "amd64" "v3" is
// amd64v3.
func joinWords(words []string) []string {
	out := make([]string, 0, len(words))
	for i := 0; i < len(words); i++ {
		w := words[i]
		if i+1 < len(words) {
			next := words[i+1]
			switch {
			case w == "x86" && next == "64":
				out = append(out, "x86_64")
				i++
				continue
			case w == "arm" && (next == "5" || next == "6" || next == "7"):
				out = append(out, "armv"+next)
				i++
				continue
			case w == "amd64" && len(next) == 2 && next[0] == 'v' && next[1] >= '1' && next[1] <= '4':
				out = append(out, w+next)
				i++
				continue
			}
		}
		out = append(out, w)
	}
	return out
}

// SelectAsset picks, from the names of a release's files, the one program of
// app built for want, and returns its name. want.Variant, when not zero, is
// the highest GOARM or GOAMD64 level the machine runs; among the names that
// fit, the highest variant wins (and an unspecified variant counts as the
// lowest). An exact architecture wins over a macOS universal binary, and
// one build published in several formats is taken in the first format of
// the list .tar.gz, .tar.zst, .tar.xz, .zip, bare.
//
// When no name fits, the error wraps ErrNoAsset; when several different
// builds fit equally well, it wraps ErrAmbiguousAsset. Both list the names
// they considered.
func SelectAsset(names []string, app string, want Platform) (string, error) {
	return selectAsset(names, want, app, func(n string) (Platform, bool) { return MatchAsset(n, app) })
}

// selectAsset is SelectAsset with the naming rules as a function, so that
// Options.Platform takes part in the same choice.
func selectAsset(names []string, want Platform, app string, match func(string) (Platform, bool)) (string, error) {
	type cand struct {
		name, stem, format string
		rank               int // higher is better
	}
	var cands []cand
	for _, n := range names {
		p, ok := match(n)
		if !ok || p.OS != want.OS {
			continue
		}
		rank, ok := fit(p, want)
		if !ok {
			continue
		}
		stem, format := splitFormat(strings.ToLower(n))
		cands = append(cands, cand{name: n, stem: stem, format: format, rank: rank})
	}
	if len(cands) == 0 {
		return "", fmt.Errorf("%w: no asset of %q for %s among %s", ErrNoAsset, app, want, quoteList(names))
	}
	best := slices.MaxFunc(cands, func(a, b cand) int { return a.rank - b.rank }).rank
	cands = slices.DeleteFunc(cands, func(c cand) bool { return c.rank != best })
	slices.SortFunc(cands, func(a, b cand) int {
		return slices.Index(formatRank, a.format) - slices.Index(formatRank, b.format)
	})
	var stems []string
	for _, c := range cands {
		if !slices.Contains(stems, c.stem) {
			stems = append(stems, c.stem)
		}
	}
	if len(stems) > 1 {
		var ns []string
		for _, c := range cands {
			ns = append(ns, c.name)
		}
		return "", fmt.Errorf("%w: %d assets of %q for %s: %s", ErrAmbiguousAsset, len(ns), app, want, quoteList(ns))
	}
	return cands[0].name, nil
}

// fit reports whether an asset built for p runs on want, and how well: an
// exact architecture ranks above a universal binary, and a higher variant
// (up to want's) above a lower one.
func fit(p, want Platform) (int, bool) {
	switch {
	case p.Arch == want.Arch:
	case p.Arch == "all" && p.OS == "darwin" && (want.Arch == "amd64" || want.Arch == "arm64"):
		return 0, true
	default:
		return 0, false
	}
	if want.Variant != 0 && p.Variant > want.Variant {
		return 0, false
	}
	v := p.Variant
	if v == 0 && p.Arch == "amd64" {
		v = 1 // goreleaser leaves the v1 level unnamed
	}
	return 100 + v, true
}

// quoteList writes names for an error message, shortened when long.
func quoteList(names []string) string {
	const max = 20
	if len(names) == 0 {
		return "no assets"
	}
	q := make([]string, 0, min(len(names), max))
	for i, n := range names {
		if i == max {
			q = append(q, fmt.Sprintf("and %d more", len(names)-max))
			break
		}
		q = append(q, strconv.Quote(n))
	}
	return strings.Join(q, ", ")
}
