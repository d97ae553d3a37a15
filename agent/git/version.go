package git

import (
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// Commit is one commit of the followed branch, resolved in the mirror.
type Commit struct {
	// Hash is the full commit hash.
	Hash string
	// Time is the committer time, the one a pseudo-version carries.
	Time time.Time
	// Subject is the first line of the commit message.
	Subject string
	// Version is the tag's semver when the commit is tagged, and a Go
	// pseudo-version otherwise (see Version).
	Version string
}

// Version is the version of a commit made at t with hash, given the tags
// that point at it (pointsAt) and the tags it descends from (merged, which
// may include pointsAt). The highest valid semver tag pointing at the commit
// wins; otherwise the result is a pseudo-version built on the highest semver
// tag it descends from, exactly as the go command makes one, so that the
// version of a later commit sorts after the tag. Tags that are not semantic
// versions ("latest", "release-1") are ignored.
func Version(t time.Time, hash string, pointsAt, merged []string) string {
	if v := highest(pointsAt); v != "" {
		return v
	}
	rev := hash
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return module.PseudoVersion("", highest(merged), t, rev)
}

// highest returns the highest valid semantic version among tags, "" if none.
func highest(tags []string) string {
	best := ""
	for _, t := range tags {
		// A build suffix (+meta) cannot be ordered and a pseudo-version
		// tag would make a pseudo-version of a pseudo-version.
		if !semver.IsValid(t) || semver.Build(t) != "" || module.IsPseudoVersion(t) {
			continue
		}
		if best == "" || semver.Compare(t, best) > 0 {
			best = t
		}
	}
	return best
}
