package update

import (
	"fmt"
	"time"

	"slices"
	"strings"

	"github.com/molt-go/update/internal/archive"
	"github.com/molt-go/update/internal/platform"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/source"
)

// candidate is a release chosen for install, with its asset.
type candidate struct {
	release source.Release
	asset   source.Asset
	version *semver.Version
}

// chooser holds what the choice of a release depends on besides the
// releases: the running version, channel and platform, the bad marks, and
// the fleet rules (rollouts by install ID, pins).
type chooser struct {
	current               *semver.Version
	channel, goos, goarch string
	bad                   func(string) *badMark
	app, installID        string
	labels                []string
	now                   time.Time
	pins                  []source.Pin
}

// choose picks the newest release newer than current that the channel
// allows, that did not fail here before, that a rollout offers this
// machine, that a pin allows, and that has an asset for the platform.
// Newer releases passed over because they failed here are returned as
// skipped and those a rollout does not offer yet as notYet, newest first,
// so that nobody is told "newest" when it is not. It is pure so the rules
// can be tested in a table.
func (ch chooser) choose(rels []source.Release) (*candidate, []Skipped, []NotYet, error) {
	current, channel, goos, goarch := ch.current, ch.channel, ch.goos, ch.goarch
	pin := source.PinnedAt(ch.pins, ch.installID, ch.labels)
	var best *candidate
	var noAsset []string
	var offered_ []string
	var skipped []Skipped
	var notYet []NotYet
	for _, r := range rels {
		v, err := semver.NewVersion(r.Version)
		if err != nil || !v.GreaterThan(current) || !channelAllows(channel, v) {
			continue
		}
		if pin != "" && !sameVersion(pin, v.Original()) {
			continue
		}
		if b := ch.bad(v.Original()); b != nil {
			skipped = append(skipped, Skipped{Version: v.Original(), Why: b.Why, Since: b.Since})
			continue
		}
		if ok, at := offered(r.Rollout, bucket(ch.installID, ch.app, v.Original()), ch.now); !ok {
			notYet = append(notYet, NotYet{Version: v.Original(), At: at})
			continue
		}
		if best != nil && !v.GreaterThan(best.version) {
			continue
		}
		a, ok := assetFor(r.Assets, goos, goarch)
		if !ok {
			noAsset = append(noAsset, r.Version)
			offered_ = append(offered_, platforms(r.Assets)...)
			continue
		}
		best = &candidate{release: r, asset: a, version: v}
	}
	newestFirst := func(a, b string) int { return semver.MustParse(b).Compare(semver.MustParse(a)) }
	slices.SortFunc(skipped, func(a, b Skipped) int { return newestFirst(a.Version, b.Version) })
	slices.SortFunc(notYet, func(a, b NotYet) int { return newestFirst(a.Version, b.Version) })
	if best != nil {
		// Releases older than the choice do not matter.
		older := func(v string) bool { return !semver.MustParse(v).GreaterThan(best.version) }
		skipped = slices.DeleteFunc(skipped, func(s Skipped) bool { return older(s.Version) })
		notYet = slices.DeleteFunc(notYet, func(n NotYet) bool { return older(n.Version) })
		return best, skipped, notYet, nil
	}
	if len(noAsset) > 0 {
		return nil, skipped, notYet, fmt.Errorf("%w: %s/%s in %s; on offer: %s", ErrNoAsset, goos, goarch, strings.Join(noAsset, ", "), offerList(offered_))
	}
	msg := fmt.Sprintf("%s is the newest on channel %q", current.Original(), channelName(channel))
	switch {
	case pin != "":
		msg = fmt.Sprintf("this machine is pinned at %s", pin)
	case len(skipped) > 0:
		msg = fmt.Sprintf("no installable release newer than %s on channel %q: skipped %s (%s)", current.Original(), channelName(channel), skipped[0].Version, skipped[0].Why)
	case len(notYet) > 0:
		when := "not scheduled yet"
		if !notYet[0].At.IsZero() {
			when = "from " + notYet[0].At.Format(time.RFC3339)
		}
		msg = fmt.Sprintf("%s is rolling out and not offered to this machine yet (%s)", notYet[0].Version, when)
	}
	return nil, skipped, notYet, fmt.Errorf("%w: %s", ErrUpToDate, msg)
}

// named finds the release with exactly the given version, for an explicit
// install or downgrade.
func named(rels []source.Release, want *semver.Version, goos, goarch string) (*candidate, error) {
	for _, r := range rels {
		v, err := semver.NewVersion(r.Version)
		if err != nil || !v.Equal(want) {
			continue
		}
		a, ok := assetFor(r.Assets, goos, goarch)
		if !ok {
			return nil, fmt.Errorf("%w: %s/%s in %s; on offer: %s", ErrNoAsset, goos, goarch, r.Version, offerList(platforms(r.Assets)))
		}
		return &candidate{release: r, asset: a, version: v}, nil
	}
	return nil, fmt.Errorf("%w: release %s", ErrNotFound, want.Original())
}

// platforms lists the os/arch of assets, for messages.
func platforms(assets []source.Asset) []string {
	var p []string
	for _, a := range assets {
		if a.OS == "" && a.Arch == "" {
			p = append(p, a.Name)
			continue
		}
		p = append(p, a.OS+"/"+a.Arch)
	}
	return p
}

func offerList(p []string) string {
	slices.Sort(p)
	p = slices.Compact(p)
	if len(p) == 0 {
		return "nothing"
	}
	return strings.Join(p, ", ")
}

func channelName(c string) string {
	if c == "" {
		return "stable"
	}
	return c
}

// Offered reports whether an updater on channel (Options.Channel; "" is
// "stable") is offered version, with or without "v": releases are on every
// channel, a prerelease only on "prerelease" or on the channel its first
// identifier names (1.2.0-beta.3 on "beta"). A version that is not
// semantic is on none. Publishers use it to check where a release lands.
func Offered(channel, version string) bool {
	v, err := semver.NewVersion(version)
	return err == nil && channelAllows(channel, v)
}

// channelAllows is Offered for a parsed version.
func channelAllows(channel string, v *semver.Version) bool {
	pre := v.Prerelease()
	if pre == "" {
		return true
	}
	switch channel {
	case "", "stable":
		return false
	case "prerelease":
		return true
	}
	first, _, _ := strings.Cut(pre, ".")
	return strings.EqualFold(first, channel)
}

// assetFor returns the one asset for goos/goarch, by the one platform
// table (internal/platform): an exact build is preferred to a universal
// or a lower ARM level, an archive this updater can unpack to a bare file.
// An asset with no OS or arch runs anywhere (a source that cannot tell,
// such as a single-platform build).
func assetFor(assets []source.Asset, goos, goarch string) (source.Asset, bool) {
	var described []platform.Asset
	var from []source.Asset
	for _, a := range assets {
		if a.OS == "" && a.Arch == "" {
			return a, true
		}
		d, ok := platform.Describe(a.OS, a.Arch)
		if !ok {
			continue
		}
		d.Name, d.Format = a.Name, platform.FormatOf(a.Name)
		if !d.Format.Installable() {
			continue
		}
		described = append(described, d)
		from = append(from, a)
	}
	if len(described) == 0 {
		return source.Asset{}, false
	}
	chosen, err := platform.ChooseAsset(described, "", platform.Want{GOOS: goos, GOARCH: goarch, CanExtract: archive.CanExtract})
	if err != nil {
		return source.Asset{}, false
	}
	for i, d := range described {
		if d.Name == chosen.Name {
			return from[i], true
		}
	}
	return source.Asset{}, false
}

// runsHere reports whether a build for goos/goarch runs on this machine.
func runsHere(goos, goarch string) bool {
	d, ok := platform.Describe(goos, goarch)
	return ok && (platform.Want{}).Runs(d)
}
