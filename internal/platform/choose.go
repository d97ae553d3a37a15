package platform

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Choose picks, from the names of a release's files, the one program of
// app to install on want, and returns its name. The rules, in order:
//
//  1. Only programs of app built for want.GOOS that run on want count: the
//     same GOARCH at a level no higher than want's (the best ARM variant
//     that runs: armv5 and armv6 run on a v7 machine, armv7 does not run
//     on a v6 one), or a macOS universal binary on darwin/amd64 and
//     darwin/arm64. Files in formats that cannot be extracted at all (.7z,
//     .lz4) never count.
//  2. Flavour. With want.Flavour set, only builds with exactly those
//     flavour words count. Otherwise the default is the plain build, the
//     one with no flavour word ("hugo" over "hugo_extended", "ollama"
//     over "ollama-rocm"), since that is the one a project names as its
//     program; on Linux, if there is none, a build whose flavour words are
//     only "static" or "musl", which runs on any Linux; else a build whose
//     only words name the platform's usual C library ("gnu", "msvc"); else
//     the choice is the caller's (ErrAmbiguous).
//  3. Fit: an architecture-specific build over a universal one, and among
//     ARM or x86-64 levels the highest that runs.
//  4. One build published several ways is one build: the same platform,
//     level and flavour under different formats (yq's bare binary and its
//     tar.gz) or spellings (hugo's linux-amd64 and Linux-64bit) installs
//     the same program. The format is taken in the order of Formats
//     (archives first: see formatRank), preferring one want.CanExtract
//     accepts, then the name that sorts first.
//
// Different builds that remain (musl and static) are ErrAmbiguous. When
// nothing fits, the error wraps ErrNoMatch. Both are a *ChoiceError that
// lists the platforms on offer.
func Choose(names []string, app string, want Want) (string, error) {
	var assets []Asset
	for _, n := range names {
		if a, ok := Parse(n, app); ok {
			assets = append(assets, a)
		}
	}
	a, err := ChooseAsset(assets, app, want)
	return a.Name, err
}

// ChooseAsset is Choose for assets already parsed, so that a source with
// names of its own can parse them its own way (or add to what Parse
// says) and still choose by the same rules. app is only for messages.
func ChooseAsset(assets []Asset, app string, want Want) (Asset, error) {
	w := want.resolved()
	c := choice{assets: assets, app: app, want: w}
	plainARM := plainARMLevel(assets, w.GOOS)
	var unsupported bool
	for _, a := range assets {
		score, ok := fit(a, w, plainARM)
		switch {
		case !ok:
		case a.Format == Unsupported:
			unsupported = true
		default:
			c.runs = append(c.runs, candidate{a, score})
		}
	}
	if len(c.runs) == 0 {
		detail := "no build runs there"
		switch {
		case unsupported:
			detail = "its builds are packed in a format that cannot be extracted"
		case w.GOARCH == "arm" && hasPlainARM(assets, w.GOOS):
			detail = fmt.Sprintf("no build runs there (a plain arm build names no ARM level and is taken as armv%d)", plainARM)
		}
		return Asset{}, c.fail(ErrNoMatch, detail, nil)
	}
	if err := c.byFlavour(); err != nil {
		return Asset{}, err
	}
	best := slices.MaxFunc(c.runs, func(x, y candidate) int { return x.score - y.score }).score
	c.runs = slices.DeleteFunc(c.runs, func(x candidate) bool { return x.score != best })
	if keys := c.flavourKeys(); len(keys) > 1 {
		return Asset{}, c.fail(ErrAmbiguous, "different builds fit equally well", c.runs)
	}
	slices.SortFunc(c.runs, func(x, y candidate) int {
		return cmp.Or(
			cmp.Compare(w.extracts(y.a.Format), w.extracts(x.a.Format)),
			cmp.Compare(x.a.Format.rank(), y.a.Format.rank()),
			strings.Compare(x.a.Name, y.a.Name),
		)
	})
	return c.runs[0].a, nil
}

// candidate is an asset that runs on the wanted platform, with how well.
type candidate struct {
	a     Asset
	score int // higher is better
}

// choice is the state of one ChooseAsset.
type choice struct {
	assets []Asset
	app    string
	want   Want
	runs   []candidate
}

// byFlavour keeps the candidates of the wanted or default flavour.
func (c *choice) byFlavour() error {
	if c.want.Flavour != "" {
		key := flavourKey(splitWords(c.want.Flavour))
		if !c.keep(func(a Asset) bool { return flavourKey(a.Flavour) == key }) {
			return c.fail(ErrNoMatch, fmt.Sprintf("no build of flavour %q", c.want.Flavour), nil)
		}
		return nil
	}
	if c.keep(func(a Asset) bool { return len(a.Flavour) == 0 }) {
		return nil
	}
	if c.want.GOOS == "linux" && c.keep(func(a Asset) bool { return allIn(a.Flavour, staticWords) }) {
		return nil
	}
	if keys := c.flavourKeys(); len(keys) == 1 && allIn(c.runs[0].a.Flavour, abiWords) {
		return nil
	}
	return c.fail(ErrAmbiguous, "no plain build; set Want.Flavour to one of "+strings.Join(c.flavourKeys(), ", "), c.runs)
}

// keep narrows the candidates to those ok accepts, if there are any, and
// reports whether there were.
func (c *choice) keep(ok func(Asset) bool) bool {
	kept := slices.DeleteFunc(slices.Clone(c.runs), func(x candidate) bool { return !ok(x.a) })
	if len(kept) == 0 {
		return false
	}
	c.runs = kept
	return true
}

// flavourKeys are the distinct flavours of the candidates.
func (c *choice) flavourKeys() []string {
	var keys []string
	for _, x := range c.runs {
		k := flavourKey(x.a.Flavour)
		if k == "" {
			k = "(plain)"
		}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// fail builds the *ChoiceError.
func (c *choice) fail(kind error, detail string, tied []candidate) error {
	e := &ChoiceError{Err: kind, App: c.app, Want: c.want.String(), Detail: detail}
	for _, a := range c.assets {
		if l := a.Label(); !slices.Contains(e.Offered, l) {
			e.Offered = append(e.Offered, l)
		}
	}
	slices.Sort(e.Offered)
	for _, x := range tied {
		e.Tied = append(e.Tied, x.a.Name)
	}
	return e
}

// fit reports whether an asset runs on w, and how well: an
// architecture-specific build scores above a universal one, a higher level
// (up to w's) above a lower one.
func fit(a Asset, w Want, plainARM int) (int, bool) {
	if a.OS != w.GOOS {
		return 0, false
	}
	if a.Universal {
		return 0, w.GOOS == "darwin" && (w.GOARCH == "amd64" || w.GOARCH == "arm64")
	}
	if a.Arch != w.GOARCH {
		return 0, false
	}
	level := 0
	switch a.Arch {
	case "arm":
		level = a.GOARM
		if level == 0 {
			level = plainARM
		}
		if level > w.GOARM {
			return 0, false
		}
	case "amd64":
		level = max(a.GOAMD64, 1)
		if level > w.GOAMD64 {
			return 0, false
		}
	}
	return 10 + level, true
}

// plainARMLevel is the level a plain "arm" build of goos is taken to be:
// 7, what it usually is, unless the release also has an explicit armv7
// build for goos (rclone's linux-arm beside linux-arm-v7), which says the
// plain one is older: then 6, the level of goreleaser's and most release
// scripts' default arm build, which every v6 and v7 machine runs.
func plainARMLevel(assets []Asset, goos string) int {
	for _, a := range assets {
		if a.OS == goos && a.Arch == "arm" && a.GOARM == 7 {
			return 6
		}
	}
	return 7
}

// hasPlainARM reports whether the release has an arm build for goos that
// names no level.
func hasPlainARM(assets []Asset, goos string) bool {
	return slices.ContainsFunc(assets, func(a Asset) bool { return a.OS == goos && a.Arch == "arm" && a.GOARM == 0 })
}

// extracts reports, as 1 or 0, whether the installer can unpack f.
func (w Want) extracts(f Format) int {
	if w.CanExtract == nil || w.CanExtract(f) {
		return 1
	}
	return 0
}

// allIn reports whether words is not empty and every word is in set.
func allIn(words []string, set map[string]bool) bool {
	for _, w := range words {
		if !set[w] {
			return false
		}
	}
	return len(words) > 0
}
