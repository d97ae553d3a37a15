package git

import (
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 1, 2, 15, 4, 5, 0, time.FixedZone("CET", 3600))
	hash := "abcdefabcdef0123456789abcdef0123456789ab"
	for _, tc := range []struct {
		name             string
		pointsAt, merged []string
		want             string
	}{
		{"untagged, no tag before", nil, nil, "v0.0.0-20260102140405-abcdefabcdef"},
		{"tagged", []string{"v1.2.3"}, []string{"v1.2.3", "v1.0.0"}, "v1.2.3"},
		{"highest of two tags", []string{"v1.2.3", "v1.10.0", "v1.9.9"}, nil, "v1.10.0"},
		{"non-semver tags ignored", []string{"latest", "release-7"}, nil, "v0.0.0-20260102140405-abcdefabcdef"},
		{"after a release", nil, []string{"v1.2.3", "v1.0.0", "nightly"}, "v1.2.4-0.20260102140405-abcdefabcdef"},
		{"after a prerelease", nil, []string{"v2.0.0-rc.1"}, "v2.0.0-rc.1.0.20260102140405-abcdefabcdef"},
		{"pseudo-version tag ignored", []string{"v0.0.0-20250101000000-123456789012"}, nil, "v0.0.0-20260102140405-abcdefabcdef"},
		{"build metadata tag ignored", []string{"v1.0.0+meta"}, nil, "v0.0.0-20260102140405-abcdefabcdef"},
	} {
		if got := Version(when, hash, tc.pointsAt, tc.merged); got != tc.want {
			t.Errorf("%s: Version = %q, want %q", tc.name, got, tc.want)
		}
	}
}
