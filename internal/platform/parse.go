package platform

import (
	"slices"
	"strconv"
	"strings"
)

// Asset is what a release file name says about the file.
type Asset struct {
	// Name is the whole name, as given.
	Name string
	// App is the program's name as written at the start of Name.
	App string
	// Version is the version as written in the name ("1.2.3", "v0.19.1",
	// "1.2.0-rc.1"), empty when there is none. Only the first run of
	// version words counts; gitea's "darwin-10.12" is not a version.
	Version string
	// OS is a GOOS value.
	OS string
	// Arch is a GOARCH value, empty for a universal macOS binary.
	Arch string
	// GOARM is the ARM level (5, 6, 7) the name says for Arch "arm"; 0 when
	// it says plain "arm" (Choose decides what that means).
	GOARM int
	// GOAMD64 is the x86-64 level (1 to 4) the name says for Arch "amd64"
	// (goreleaser's amd64_v3); 0 when it says none, which is level 1.
	GOAMD64 int
	// Universal marks a macOS universal binary, which runs on amd64 and
	// arm64: "darwin_all", "macOS-universal", or darwin with no
	// architecture word at all ("ollama-darwin.tgz", "sops-3.9.4.darwin").
	Universal bool
	// Format is how the file is packed; Ext is its ending as written
	// (".tar.gz", ".TGZ"), empty for Bare.
	Format Format
	Ext    string
	// Exe reports whether the name, without Ext, ends in ".exe".
	Exe bool
	// Flavour are the words left over once the app, version, OS,
	// architecture and format are taken out, lower-cased and in the order
	// written: "musl", "extended", "pivkey", "rocm". A plain build has none.
	Flavour []string
	// Stem is Name without Ext and without ".exe".
	Stem string
}

// Parse reads a release file name. It reports false when the name is not a
// program of app for a known platform: a checksum list, signature, SBOM or
// package (Format NotProgram); another program (the name must start with
// app, compared case-insensitively, followed by "_", "-" or "."); or a name
// with no OS word, or with no architecture word on anything but macOS
// (where no architecture means a universal binary).
//
// With app empty, the words before the first version, OS or architecture
// word are taken as the app's name.
//
// A name in an unsupported format (.7z, .lz4) parses, with Format
// Unsupported, so that Choose can say it saw it; it is never installed.
func Parse(name, app string) (Asset, bool) {
	a, ok := parse(name, app, true)
	if ok && a.Universal && a.OS != "darwin" {
		// "all" and "universal" only mean a fat binary on macOS; elsewhere
		// they are a flavour ("app_all_linux_amd64"), and the name is read
		// again as such.
		return parse(name, app, false)
	}
	return a, ok
}

// parse is Parse, with the universal words read as architecture words or
// not.
func parse(name, app string, universalWords bool) (Asset, bool) {
	a := Asset{Name: name}
	stem, ext, f := SplitFormat(name)
	if f == NotProgram {
		return Asset{}, false
	}
	a.Format, a.Ext = f, ext
	stem, a.Exe = TrimExe(stem)
	a.Stem = stem

	rest := stem
	if app != "" {
		if len(stem) <= len(app) || !strings.EqualFold(stem[:len(app)], app) || !isSep(stem[len(app)]) {
			return Asset{}, false
		}
		a.App, rest = stem[:len(app)], stem[len(app):]
	}
	var (
		implied      string // the architecture the OS word implies
		haveArch     bool
		appEnd       = -1 // with app empty: where the app's words end
		vStart, vEnd = -1, -1
		vRun         = 0 // 0: no version yet, 1: in the first run, 2: after it
		lastVersion  bool
	)
	for _, t := range tokenize(rest) {
		w := t.w
		known, isVersion := true, false
		aw, isArch := archWords[w]
		isArch = isArch && (universalWords || !aw.universal)
		switch os, isOS := osWords[w]; {
		case isOS && a.OS == "":
			a.OS, implied = os, osArch[w]
		case isArch && !haveArch:
			haveArch = true
			a.Arch, a.Universal = aw.arch, aw.universal
			switch aw.arch {
			case "arm":
				a.GOARM = aw.level
			case "amd64":
				a.GOAMD64 = aw.level
			}
		case vendorWords[w]:
			// a target triple's vendor: says nothing
		case isVersionPiece(w) || (lastVersion && isPrerelease(w)):
			isVersion = true
			if vRun == 0 {
				vRun, vStart = 1, t.start
			}
			if vRun == 1 {
				vEnd = t.end
			}
		default:
			known = false
		}
		if !isVersion && vRun == 1 {
			vRun = 2
		}
		lastVersion = isVersion
		if app == "" && appEnd < 0 {
			if !known {
				continue // still the app's name
			}
			appEnd = t.start
		}
		if !known {
			a.Flavour = append(a.Flavour, w)
		}
	}
	if app == "" {
		if appEnd < 0 {
			return Asset{}, false
		}
		a.App = strings.TrimRight(rest[:appEnd], "_-. +")
	}
	if vStart >= 0 {
		a.Version = rest[vStart:vEnd]
	}
	if a.OS == "" {
		return Asset{}, false
	}
	if !haveArch {
		switch {
		case implied != "":
			a.Arch = implied
		case a.OS == "darwin":
			a.Universal = true
		default:
			return Asset{}, false
		}
	}
	if a.Universal && a.OS != "darwin" && !universalWords {
		return Asset{}, false
	}
	return a, true
}

// Platform writes the platform the asset was built for: "linux/amd64",
// "linux/armv6", "linux/arm" (no level said), "linux/amd64v3",
// "darwin/universal".
func (a Asset) Platform() string {
	switch {
	case a.Universal:
		return a.OS + "/universal"
	case a.Arch == "arm" && a.GOARM != 0:
		return a.OS + "/armv" + strconv.Itoa(a.GOARM)
	case a.Arch == "amd64" && a.GOAMD64 > 1:
		return a.OS + "/amd64v" + strconv.Itoa(a.GOAMD64)
	}
	return a.OS + "/" + a.Arch
}

// Label is Platform with the flavour words and, for a format that cannot
// be installed, the format: "linux/amd64 (musl)", "linux/arm64 (.7z:
// unsupported)". Choose's errors list what is on offer this way.
func (a Asset) Label() string {
	s := a.Platform()
	var notes []string
	if len(a.Flavour) > 0 {
		notes = append(notes, strings.Join(a.Flavour, " "))
	}
	if a.Format == Unsupported {
		notes = append(notes, a.Ext+": unsupported")
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

// flavourKey is the flavour words as a set, for comparing builds.
func flavourKey(words []string) string {
	ws := slices.Clone(words)
	slices.Sort(ws)
	return strings.Join(slices.Compact(ws), "+")
}
