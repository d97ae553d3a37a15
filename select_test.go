package update

import (
	"errors"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/molt-go/update/source"
)

func rel(v string, platforms ...string) source.Release {
	r := source.Release{Version: v}
	for i := 0; i+1 < len(platforms); i += 2 {
		r.Assets = append(r.Assets, source.Asset{Name: "app-" + v + "-" + platforms[i] + "-" + platforms[i+1], OS: platforms[i], Arch: platforms[i+1]})
	}
	return r
}

func TestChoose(t *testing.T) {
	t.Parallel()
	all := []source.Release{
		rel("1.0.0", "linux", "amd64"),
		rel("1.1.0", "linux", "amd64", "linux", "arm64"),
		rel("v1.2.0", "linux", "amd64"),
		rel("1.3.0-beta.1", "linux", "amd64"),
		rel("1.3.0-rc.1", "linux", "amd64"),
		rel("not-semver", "linux", "amd64"),
		rel("1.4.0", "darwin", "arm64"),
	}
	none := func(string) *badMark { return nil }
	cases := []struct {
		name, current, channel, os, arch string
		bad                              func(string) *badMark
		want                             string
		err                              error
	}{
		{"newest stable", "1.0.0", "", "linux", "amd64", none, "v1.2.0", nil},
		{"prerelease channel takes the newest prerelease", "1.0.0", "prerelease", "linux", "amd64", none, "1.3.0-rc.1", nil},
		{"beta channel takes only beta prereleases", "1.0.0", "beta", "linux", "amd64", none, "1.3.0-beta.1", nil},
		{"up to date", "1.4.0", "", "linux", "amd64", none, "", ErrUpToDate},
		{"never older", "2.0.0", "", "linux", "amd64", none, "", ErrUpToDate},
		{"arch filter", "1.0.0", "", "linux", "arm64", none, "1.1.0", nil},
		{"newer release has no asset here", "1.2.0", "", "windows", "amd64", none, "", ErrNoAsset},
		{"no asset", "1.3.0", "", "linux", "amd64", none, "", ErrNoAsset},
		{"bad releases are skipped", "1.0.0", "", "linux", "amd64", func(v string) *badMark {
			if v == "v1.2.0" {
				return &badMark{Version: v, Why: "probe"}
			}
			return nil
		}, "1.1.0", nil},
		{"other platform", "1.0.0", "", "darwin", "arm64", none, "1.4.0", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cur := semver.MustParse(c.current)
			got, _, _, err := chooser{current: cur, channel: c.channel, goos: c.os, goarch: c.arch, bad: c.bad}.choose(all)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("got %v, %v; want error %v", got, err, c.err)
				}
				return
			}
			if err != nil || got.release.Version != c.want {
				t.Fatalf("got %+v, %v; want %s", got, err, c.want)
			}
			if got.asset.OS != c.os || got.asset.Arch != c.arch {
				t.Fatalf("asset %+v is not for %s/%s", got.asset, c.os, c.arch)
			}
		})
	}
}

// TestArchAliases: assets whose sources spell the architecture their own
// way are matched through the one platform table.
func TestArchAliases(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		asset, goarch string
		want          bool
	}{
		{"x86_64", "amd64", true}, {"AMD64", "amd64", true}, {"aarch64", "arm64", true},
		{"arm", "arm64", false}, {"arm64", "arm", false}, {"armv7", "arm", true}, {"i386", "386", true},
	} {
		a := source.Asset{Name: "app-1.0.0-linux-" + c.asset, OS: "linux", Arch: c.asset}
		if _, got := assetFor([]source.Asset{a}, "linux", c.goarch); got != c.want {
			t.Errorf("asset arch %q on %s: %v, want %v", c.asset, c.goarch, got, c.want)
		}
	}
}

func TestNamedAllowsDowngrade(t *testing.T) {
	t.Parallel()
	rels := []source.Release{rel("0.9.0", "linux", "amd64"), rel("1.0.0", "linux", "amd64")}
	c, err := named(rels, semver.MustParse("v0.9.0"), "linux", "amd64")
	if err != nil || c.release.Version != "0.9.0" {
		t.Fatalf("named: %+v, %v", c, err)
	}
	if _, err := named(rels, semver.MustParse("0.8.0"), "linux", "amd64"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("named 0.8.0: %v, want ErrNotFound", err)
	}
}

// TestChooseSaysWhatItSkipped: a newer release marked bad is named, with
// its reason, both beside a choice and instead of "newest".
func TestChooseSaysWhatItSkipped(t *testing.T) {
	t.Parallel()
	rels := []source.Release{rel("1.1.0", "linux", "amd64"), rel("1.2.0", "linux", "amd64"), rel("1.3.0", "linux", "amd64")}
	bad := func(v string) *badMark {
		if v == "1.3.0" || v == "1.1.0" {
			return &badMark{Version: v, Why: "probe: it says \"banner\""}
		}
		return nil
	}
	c, skipped, _, err := chooser{current: semver.MustParse("1.0.0"), goos: "linux", goarch: "amd64", bad: bad}.choose(rels)
	if err != nil || c.version.Original() != "1.2.0" || len(skipped) != 1 || skipped[0].Version != "1.3.0" {
		t.Fatalf("choose = %v, %+v, %v; want 1.2.0 with 1.3.0 skipped", c, skipped, err)
	}
	_, skipped, _, err = chooser{current: semver.MustParse("1.2.0"), goos: "linux", goarch: "amd64", bad: bad}.choose(rels)
	if !errors.Is(err, ErrUpToDate) || len(skipped) != 1 || strings.Contains(err.Error(), "newest") || !strings.Contains(err.Error(), "1.3.0") {
		t.Fatalf("choose from 1.2.0 = %+v, %v; want up to date naming the skipped 1.3.0, not \"newest\"", skipped, err)
	}
}

func TestOffered(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		channel, version string
		want             bool
	}{
		{"", "1.2.0", true},
		{"beta", "v1.2.0", true},
		{"", "1.2.0-beta.3", false},
		{"stable", "1.2.0-beta.3", false},
		{"beta", "1.2.0-beta.3", true},
		{"BETA", "1.2.0-beta.3", true},
		{"rc", "1.2.0-beta.3", false},
		{"prerelease", "1.2.0-rc.1", true},
		{"beta", "latest", false},
	} {
		if got := Offered(c.channel, c.version); got != c.want {
			t.Errorf("Offered(%q, %q) = %v, want %v", c.channel, c.version, got, c.want)
		}
	}
}
