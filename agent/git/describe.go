package git

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/semver"
)

// Description is where a commit stands among the branch's semver tags:
// what the release versions of agent/release are made from.
type Description struct {
	// Hash is the full commit hash.
	Hash string
	// Tag is the highest semver tag pointing at the commit (v1.4.0,
	// v2.0.0-rc.1), "" if none. Tags that are not semantic versions, carry
	// build metadata or are pseudo-versions are ignored, as by Version.
	Tag string
	// Base is the highest release tag (a semver without prerelease) that
	// the commit is or descends from, "" if none.
	Base string
	// Since is how many commits of the commit's first-parent line are not
	// in Base: 0 for the commit Base tags, 1 for the commit after it, and
	// the whole first-parent length when there is no Base. Each commit
	// added to a branch adds one, merges included, so it grows with the
	// branch; a rewritten history (a force push) may make it shrink.
	Since int
}

// Describe reads hash's tags and distance from its base tag in the
// mirror; Fetch must have brought the commit in.
func (r *Repo) Describe(ctx context.Context, hash string) (Description, error) {
	if !isHash(hash) {
		return Description{}, fmt.Errorf("%w: %q is not a commit hash", ErrGit, hash)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	pointsAt, err := r.run(ctx, r.mirror, nil, "tag", "--points-at", hash)
	if err != nil {
		return Description{}, err
	}
	merged, err := r.run(ctx, r.mirror, nil, "tag", "--merged", hash)
	if err != nil {
		return Description{}, err
	}
	d := Description{Hash: hash, Tag: highest(strings.Fields(string(pointsAt))), Base: highestRelease(strings.Fields(string(merged)))}
	args := []string{"rev-list", "--count", "--first-parent", hash}
	if d.Base != "" {
		// refs/tags/ so that a branch of the same name cannot be meant.
		args = append(args, "^refs/tags/"+d.Base)
	}
	args = append(args, "--")
	out, err := r.run(ctx, r.mirror, nil, args...)
	if err != nil {
		return Description{}, err
	}
	if d.Since, err = strconv.Atoi(strings.TrimSpace(string(out))); err != nil {
		return Description{}, fmt.Errorf("%w: git rev-list --count: unexpected output %q", ErrGit, out)
	}
	return d, nil
}

// highestRelease is highest among the tags without a prerelease.
func highestRelease(tags []string) string {
	var releases []string
	for _, t := range tags {
		if semver.Prerelease(t) == "" {
			releases = append(releases, t)
		}
	}
	return highest(releases)
}
