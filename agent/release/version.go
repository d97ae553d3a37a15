// Package release turns commits of a followed branch into releases of a
// signed feed: the version each commit is released as (Version), the
// channels clients follow (CheckChannel, Offered) and the cross-builds of a
// Go program for each platform (Builder). cmd/runner puts them together
// with the package server's publisher (server.Publish).
//
// # Versions
//
// A release's version must be a semantic version the update client takes,
// and each commit's must sort above the one before it, or clients would
// never move to it. The default rule, RuleCount, gives:
//
//   - a commit with a semver tag (v1.4.0): the tag (1.4.0);
//   - otherwise, on the stable channel: the newest release tag vX.Y.Z the
//     commit descends from, with the number N of commits since it added
//     to the patch: X.Y.(Z+N) (0.0.N with no tag at all);
//   - otherwise, on a channel c (-channel beta): the prerelease
//     X.Y.(Z+1)-c.N, which clients on channel c take, stable clients never
//     do, and the next release tag X.Y.(Z+1) goes above.
//
// N counts the commits of the first-parent line, so each commit pushed to
// the branch, a merge included, adds one. On the stable channel a tag must
// then go above what was published: after v1.2.0 and five commits (1.2.5)
// tag v1.3.0, not v1.2.1 (a release that is not newer than one already
// published on its channel is refused, ErrNotNewer). RuleTag publishes
// tagged commits only.
package release

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/molt-go/update"
	"github.com/molt-go/update/agent/git"
)

// Rule names how a commit's release version is made (see the package doc).
type Rule string

// The rules.
const (
	// RuleCount: the tag, else the base tag plus the commits since it.
	RuleCount Rule = "count"
	// RuleTag: the tag; an untagged commit is not released.
	RuleTag Rule = "tag"
)

// Errors of this package, to be tested with errors.Is.
var (
	// ErrNotTagged means RuleTag met a commit without a semver tag: it is
	// not released.
	ErrNotTagged = errors.New("release: the commit has no semver tag")
	// ErrNotNewer means a version does not sort above one already
	// published on its channel, so no client on that channel would take it.
	ErrNotNewer = errors.New("release: version is not newer than one already published")
	// ErrBadOption means a rule, channel or platform given is not valid.
	ErrBadOption = errors.New("release: bad option")
)

// ParseRule reads a rule's name; "" is RuleCount.
func ParseRule(s string) (Rule, error) {
	switch r := Rule(s); r {
	case "":
		return RuleCount, nil
	case RuleCount, RuleTag:
		return r, nil
	}
	return "", fmt.Errorf("%w: version rule %q: want %s or %s", ErrBadOption, s, RuleCount, RuleTag)
}

// channelRE is a prerelease identifier that cannot be read as a number
// (numbers compare as numbers, and may not start with 0).
var channelRE = regexp.MustCompile(`^[A-Za-z][0-9A-Za-z-]*$`)

// CheckChannel checks the name of the channel releases are made for: ""
// or "stable" for releases, else a word that starts the prerelease. Two
// words are refused: "prerelease", the client's name for every
// prerelease, and "dev", which clients take for a development build and
// never update from.
func CheckChannel(c string) error {
	switch {
	case c == "" || c == "stable":
		return nil
	case strings.EqualFold(c, "prerelease") || strings.EqualFold(c, "dev"):
		return fmt.Errorf("%w: channel %q means something else to the update client: pick another word (beta, nightly)", ErrBadOption, c)
	case !channelRE.MatchString(c):
		return fmt.Errorf("%w: channel %q is not a word of letters, digits and '-' starting with a letter", ErrBadOption, c)
	}
	return nil
}

// Offered reports whether a client on channel is offered version (with
// or without "v"): releases are on every channel, a prerelease only on
// the channel its first identifier names: the client's own rule,
// update.Offered, for the channels CheckChannel accepts.
func Offered(channel, version string) bool { return update.Offered(channel, version) }

// Version returns the version, without "v", that rule gives the commit d
// describes when released on channel. Errors wrap ErrNotTagged or
// ErrBadOption.
func Version(rule Rule, channel string, d git.Description) (string, error) {
	if err := CheckChannel(channel); err != nil {
		return "", err
	}
	if d.Tag != "" {
		if !semver.IsValid(d.Tag) {
			return "", fmt.Errorf("%w: tag %q is not a semantic version", ErrBadOption, d.Tag)
		}
		return strings.TrimPrefix(semver.Canonical(d.Tag), "v"), nil
	}
	switch rule {
	case RuleTag:
		return "", fmt.Errorf("%w: %.12s", ErrNotTagged, d.Hash)
	case RuleCount, "":
	default:
		return "", fmt.Errorf("%w: version rule %q", ErrBadOption, rule)
	}
	if d.Since < 1 {
		return "", fmt.Errorf("%w: an untagged commit %d commits after its base tag", ErrBadOption, d.Since)
	}
	major, minor, patch := 0, 0, 0
	if d.Base != "" {
		var err error
		if major, minor, patch, err = parts(d.Base); err != nil {
			return "", err
		}
	}
	if channel == "" || channel == "stable" {
		return fmt.Sprintf("%d.%d.%d", major, minor, patch+d.Since), nil
	}
	return fmt.Sprintf("%d.%d.%d-%s.%d", major, minor, patch+1, channel, d.Since), nil
}

// parts reads a release tag's numbers.
func parts(tag string) (major, minor, patch int, err error) {
	c := semver.Canonical(tag)
	if c == "" || semver.Prerelease(c) != "" {
		return 0, 0, 0, fmt.Errorf("%w: base tag %q is not a release version", ErrBadOption, tag)
	}
	n := strings.Split(strings.TrimPrefix(c, "v"), ".")
	nums := make([]int, 3)
	for i := range nums {
		if nums[i], err = strconv.Atoi(n[i]); err != nil {
			return 0, 0, 0, fmt.Errorf("%w: base tag %q: %v", ErrBadOption, tag, err)
		}
	}
	return nums[0], nums[1], nums[2], nil
}

// CheckNewer checks that version sorts above every version of published
// that a client on channel is offered (version itself aside: publishing
// it again is not going backwards). Versions are written with or without
// "v". The error wraps ErrNotNewer and names the newest one in the way.
func CheckNewer(version, channel string, published []string) error {
	v := withV(version)
	if !semver.IsValid(v) {
		return fmt.Errorf("%w: version %q is not a semantic version", ErrBadOption, version)
	}
	worst := ""
	for _, p := range published {
		pv := withV(p)
		if !semver.IsValid(pv) || semver.Compare(pv, v) == 0 || !Offered(channel, p) {
			continue
		}
		if semver.Compare(pv, v) > 0 && (worst == "" || semver.Compare(pv, withV(worst)) > 0) {
			worst = p
		}
	}
	if worst != "" {
		return fmt.Errorf("%w: %s is published on channel %q, above %s", ErrNotNewer, strings.TrimPrefix(worst, "v"), channelName(channel), version)
	}
	return nil
}

func withV(v string) string {
	if strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}

func channelName(c string) string {
	if c == "" {
		return "stable"
	}
	return c
}
