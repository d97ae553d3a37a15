package github

import (
	"errors"
	"runtime"
	"slices"
	"strings"

	"github.com/molt-go/update/internal/archive"
	"github.com/molt-go/update/internal/platform"
)

// Platform is what an asset was built for, as an Options.Platform function
// reports it.
type Platform struct {
	// OS is a GOOS value ("linux", "darwin", "windows"), or a word the
	// naming rules read as one ("macOS", "Win64").
	OS string
	// Arch is a GOARCH value, or a word the naming rules read as one
	// ("x86_64", "aarch64", "armv7", "64bit"); "all" or "universal" is a
	// macOS universal binary.
	Arch string
	// Flavour are the words that tell builds of one platform apart
	// ("musl", "extended"); see Options.Flavour.
	Flavour []string
}

// namer reads asset names: by internal/platform's table, or by the
// caller's function.
type namer struct {
	app    string
	custom func(string) (Platform, bool)
}

// parse says what the file called name is, if it is a program of the app.
func (n namer) parse(name string) (platform.Asset, bool) {
	if n.custom == nil {
		return platform.Parse(name, n.app)
	}
	_, ext, f := platform.SplitFormat(name)
	if f == platform.NotProgram {
		return platform.Asset{}, false
	}
	p, ok := n.custom(name)
	if !ok {
		return platform.Asset{}, false
	}
	a, ok := platform.Describe(p.OS, p.Arch)
	if !ok {
		return platform.Asset{}, false
	}
	a.Name, a.App, a.Format, a.Ext = name, n.app, f, ext
	for _, w := range p.Flavour {
		a.Flavour = append(a.Flavour, strings.ToLower(w))
	}
	return a, true
}

// choice is the asset picked for one platform.
type choice struct {
	name         string
	goos, goarch string
}

// host reports whether the choice is for the machine running this program.
func (c choice) host() bool { return c.goos == runtime.GOOS && c.goarch == runtime.GOARCH }

// choose picks one program per platform among a release's files, by
// internal/platform's rules (platform.ChooseAsset): for each GOOS/GOARCH
// that some file is built for, the file that a machine of that platform
// should install. A platform whose files are ambiguous gets none; when loud
// is set (for the newest release) a warning lists them, and a line says
// what is on offer if this machine gets nothing.
func (s *Source) choose(names []string, tag string, loud bool) []choice {
	var assets []platform.Asset
	for _, n := range names {
		if a, ok := s.names.parse(n); ok {
			assets = append(assets, a)
		}
	}
	type plat struct{ goos, goarch string }
	var plats []plat
	for _, a := range assets {
		if a.Universal {
			plats = append(plats, plat{a.OS, "amd64"}, plat{a.OS, "arm64"})
			continue
		}
		plats = append(plats, plat{a.OS, a.Arch})
	}
	slices.SortFunc(plats, func(a, b plat) int { return strings.Compare(a.goos+"/"+a.goarch, b.goos+"/"+b.goarch) })
	plats = slices.Compact(plats)

	var out []choice
	hostFound := false
	for _, p := range plats {
		want := platform.Want{GOOS: p.goos, GOARCH: p.goarch, Flavour: s.flavour, CanExtract: archive.CanExtract}
		a, err := platform.ChooseAsset(assets, s.app, want)
		if err != nil {
			if loud && errors.Is(err, platform.ErrAmbiguous) {
				s.log.Warn("no asset for a platform: several builds fit; set Options.Flavour", "tag", tag, "err", err)
			}
			continue
		}
		c := choice{name: a.Name, goos: p.goos, goarch: p.goarch}
		hostFound = hostFound || c.host()
		out = append(out, c)
	}
	if loud && !hostFound {
		_, err := platform.ChooseAsset(assets, s.app, platform.Want{Flavour: s.flavour, CanExtract: archive.CanExtract})
		s.log.Info("no asset for this machine", "tag", tag, "err", err)
	}
	return out
}
