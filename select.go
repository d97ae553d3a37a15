package update

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/source"
)

// candidate is a release chosen for install, with its asset.
type candidate struct {
	release source.Release
	asset   source.Asset
	version *semver.Version
}

// choose picks the newest release newer than current that the channel
// allows, that was not rolled back before, and that has an asset for the
// platform. It is pure so the rules can be tested in a table.
func choose(rels []source.Release, current *semver.Version, channel, goos, goarch string, bad func(string) bool) (*candidate, error) {
	var best *candidate
	var noAsset []string
	for _, r := range rels {
		v, err := semver.NewVersion(r.Version)
		if err != nil || !v.GreaterThan(current) || !channelAllows(channel, v) || bad(v.Original()) || bad(r.Version) {
			continue
		}
		if best != nil && !v.GreaterThan(best.version) {
			continue
		}
		a, ok := assetFor(r.Assets, goos, goarch)
		if !ok {
			noAsset = append(noAsset, r.Version)
			continue
		}
		best = &candidate{release: r, asset: a, version: v}
	}
	if best != nil {
		return best, nil
	}
	if len(noAsset) > 0 {
		return nil, fmt.Errorf("%w: %s/%s in %s", ErrNoAsset, goos, goarch, strings.Join(noAsset, ", "))
	}
	return nil, fmt.Errorf("%w: %s is the newest on channel %q", ErrUpToDate, current.Original(), channelName(channel))
}

// named finds the release with exactly the given version, for an explicit
// install or downgrade.
func named(rels []source.Release, version, goos, goarch string) (*candidate, error) {
	want, err := semver.NewVersion(version)
	if err != nil {
		return nil, fmt.Errorf("version %q: %w", version, err)
	}
	for _, r := range rels {
		v, err := semver.NewVersion(r.Version)
		if err != nil || !v.Equal(want) {
			continue
		}
		a, ok := assetFor(r.Assets, goos, goarch)
		if !ok {
			return nil, fmt.Errorf("%w: %s/%s in %s", ErrNoAsset, goos, goarch, r.Version)
		}
		return &candidate{release: r, asset: a, version: v}, nil
	}
	return nil, fmt.Errorf("%w: release %s", ErrNotFound, version)
}

func channelName(c string) string {
	if c == "" {
		return "stable"
	}
	return c
}

// channelAllows: releases are on every channel; a prerelease only on
// "prerelease" or on the channel named by its first identifier.
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

// assetFor returns the one asset for goos/goarch. An asset with no OS or
// arch runs anywhere (a source that cannot tell, such as a single-platform
// git build).
func assetFor(assets []source.Asset, goos, goarch string) (source.Asset, bool) {
	for _, a := range assets {
		if (a.OS == "" || strings.EqualFold(a.OS, goos)) && (a.Arch == "" || archMatches(a.Arch, goarch)) {
			return a, true
		}
	}
	return source.Asset{}, false
}

func archMatches(assetArch, goarch string) bool {
	a := strings.ToLower(assetArch)
	switch a {
	case "x86_64", "x64":
		a = "amd64"
	case "aarch64":
		a = "arm64"
	case "i386", "i686", "x86":
		a = "386"
	case "armv5", "armv6", "armv7", "armhf", "armel":
		a = "arm"
	}
	return a == goarch
}
