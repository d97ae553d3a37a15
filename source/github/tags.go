package github

import (
	"strings"

	"github.com/Masterminds/semver/v3"
)

// tagRule reads the version a release's tag names.
type tagRule struct {
	app    string // the app's name, a prefix tags may carry
	prefix string // Options.TagPrefix: the one prefix tags must carry
}

// releasePrefixes are the words some projects put before the version in
// every tag ("release-v1.2.3").
var releasePrefixes = []string{"release-", "release/", "release_"}

// appSeparators may come between the app's name and the version in a tag
// ("hello-v1.2.3", "hello/v1.2.3", "hello@1.2.3").
const appSeparators = "-_/@"

// version returns the version that tag names, as the listing writes it
// (the version part of the tag, with a two-part version completed:
// "hello/v1.2" is "v1.2.0"), and false for a tag that names none.
func (t tagRule) version(tag string) (string, *semver.Version, bool) {
	if t.prefix != "" {
		rest, ok := strings.CutPrefix(tag, t.prefix)
		if !ok {
			return "", nil, false
		}
		return parseVersion(rest)
	}
	if v, sv, ok := parseVersion(tag); ok {
		return v, sv, true
	}
	lower := strings.ToLower(tag)
	for _, p := range releasePrefixes {
		if strings.HasPrefix(lower, p) {
			return parseVersion(tag[len(p):])
		}
	}
	app := strings.ToLower(t.app)
	if app != "" && len(tag) > len(app)+1 && strings.HasPrefix(lower, app) && strings.ContainsRune(appSeparators, rune(tag[len(app)])) {
		return parseVersion(tag[len(app)+1:])
	}
	return "", nil, false
}

// parseVersion reads a semantic version with an optional "v", allowing a
// two-part one (v1.2, as some projects tag) which it completes with ".0".
// A one-part tag ("v1") is refused: it is usually a moving major-version
// tag, not a release.
func parseVersion(s string) (string, *semver.Version, bool) {
	v := ""
	if strings.HasPrefix(s, "v") || strings.HasPrefix(s, "V") {
		v, s = "v", s[1:]
	}
	core, suffix := s, ""
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		core, suffix = s[:i], s[i:]
	}
	switch strings.Count(core, ".") {
	case 1:
		core += ".0"
	case 2:
	default:
		return "", nil, false
	}
	canonical := core + suffix
	sv, err := semver.StrictNewVersion(canonical)
	if err != nil {
		return "", nil, false
	}
	return v + canonical, sv, true
}
