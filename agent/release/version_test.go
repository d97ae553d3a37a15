package release

import (
	"context"
	"errors"
	"testing"

	"github.com/molt-go/update/agent/git"
	"github.com/molt-go/update/internal/gittest"
)

func TestVersionRule(t *testing.T) {
	t.Parallel()
	const hash = "abcdefabcdef0123456789abcdef0123456789ab"
	for _, tc := range []struct {
		name    string
		rule    Rule
		channel string
		d       git.Description
		want    string
		err     error
	}{
		{"tagged", RuleCount, "", git.Description{Tag: "v1.4.0", Base: "v1.4.0"}, "1.4.0", nil},
		{"tag shorthand made whole", RuleCount, "", git.Description{Tag: "v1.4"}, "1.4.0", nil},
		{"prerelease tag wins on stable too", RuleCount, "", git.Description{Tag: "v2.0.0-rc.1", Base: "v1.9.0", Since: 4}, "2.0.0-rc.1", nil},
		{"commits after a tag on stable", RuleCount, "", git.Description{Base: "v1.4.0", Since: 3}, "1.4.3", nil},
		{"stable by name", RuleCount, "stable", git.Description{Base: "v1.4.2", Since: 1}, "1.4.3", nil},
		{"no tag at all", RuleCount, "", git.Description{Since: 7}, "0.0.7", nil},
		{"channel after a tag", RuleCount, "beta", git.Description{Base: "v1.4.0", Since: 3}, "1.4.1-beta.3", nil},
		{"channel, no tag", RuleCount, "nightly", git.Description{Since: 12}, "0.0.1-nightly.12", nil},
		{"zero value rule is count", "", "", git.Description{Base: "v1.0.0", Since: 2}, "1.0.2", nil},
		{"tag rule, tagged", RuleTag, "", git.Description{Tag: "v3.1.0"}, "3.1.0", nil},
		{"tag rule, untagged", RuleTag, "", git.Description{Hash: hash, Base: "v3.1.0", Since: 1}, "", ErrNotTagged},
		{"dev channel refused", RuleCount, "dev", git.Description{Since: 1}, "", ErrBadOption},
		{"prerelease channel refused", RuleCount, "prerelease", git.Description{Since: 1}, "", ErrBadOption},
		{"numeric channel refused", RuleCount, "7", git.Description{Since: 1}, "", ErrBadOption},
		{"unknown rule", Rule("time"), "", git.Description{Since: 1}, "", ErrBadOption},
		{"untagged with no distance", RuleCount, "", git.Description{Base: "v1.0.0"}, "", ErrBadOption},
	} {
		got, err := Version(tc.rule, tc.channel, tc.d)
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("%s: Version = %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

// TestVersionsGrow walks a branch commit by commit, as a runner sees it,
// and checks that each version is above the one before on its channel
// and is offered to that channel's clients only.
func TestVersionsGrow(t *testing.T) {
	t.Parallel()
	for _, channel := range []string{"", "beta"} {
		prev := ""
		for i, d := range []git.Description{
			{Since: 1}, {Since: 2}, // no tag yet
			{Tag: "v1.0.0", Base: "v1.0.0"}, {Base: "v1.0.0", Since: 1}, {Base: "v1.0.0", Since: 2},
			{Tag: "v1.1.0", Base: "v1.1.0"}, {Base: "v1.1.0", Since: 1},
		} {
			v, err := Version(RuleCount, channel, d)
			if err != nil {
				t.Fatalf("channel %q, commit %d: %v", channel, i, err)
			}
			if !Offered(channel, v) {
				t.Errorf("channel %q: %s is not offered on its own channel", channel, v)
			}
			if channel == "beta" && d.Tag == "" && Offered("", v) {
				t.Errorf("%s from channel beta is offered to stable clients", v)
			}
			if prev != "" {
				if err := CheckNewer(v, channel, []string{prev}); err != nil {
					t.Errorf("channel %q: %s after %s: %v", channel, v, prev, err)
				}
				if err := CheckNewer(prev, channel, []string{v}); !errors.Is(err, ErrNotNewer) {
					t.Errorf("channel %q: %s after %s = %v, want ErrNotNewer", channel, prev, v, err)
				}
			}
			prev = v
		}
	}
}

func TestCheckNewer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version, channel string
		published        []string
		err              error
	}{
		{"1.2.3", "", nil, nil},
		{"1.2.3", "", []string{"1.2.2", "1.0.0"}, nil},
		{"1.2.3", "", []string{"1.2.3"}, nil}, // itself: a retry
		{"1.2.1", "", []string{"1.2.8", "1.2.0"}, ErrNotNewer},
		// A prerelease of another channel is not in the way...
		{"1.5.7", "", []string{"2.0.0-rc.1", "1.5.6"}, nil},
		// ... but on its own channel it is, and releases always are.
		{"2.0.0-rc.0", "rc", []string{"2.0.0-rc.1"}, ErrNotNewer},
		{"1.4.1-beta.3", "beta", []string{"1.4.1"}, ErrNotNewer},
		{"1.4.2-beta.1", "beta", []string{"1.4.1", "1.4.1-beta.9"}, nil},
		{"not-a-version", "", nil, ErrBadOption},
	} {
		err := CheckNewer(tc.version, tc.channel, tc.published)
		if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("CheckNewer(%s, %q, %v) = %v, want %v", tc.version, tc.channel, tc.published, err, tc.err)
		}
	}
}

func TestParsePlatforms(t *testing.T) {
	t.Parallel()
	if p, err := ParsePlatforms(""); err != nil || len(p) != 1 || p[0] != Host() {
		t.Errorf("ParsePlatforms(\"\") = %v, %v; want the host", p, err)
	}
	p, err := ParsePlatforms("linux/amd64, linux/arm64,windows/amd64,linux/armv7")
	if err != nil || len(p) != 4 || p[1] != (Platform{"linux", "arm64"}) || p[3].String() != "linux/armv7" {
		t.Errorf("ParsePlatforms = %v, %v", p, err)
	}
	if env := p[3].goEnv(); env[1] != "GOARCH=arm" || env[2] != "GOARM=7" {
		t.Errorf("armv7 builds with %v", env)
	}
	for _, s := range []string{"linux", "linux/", "plan10/amd64", "linux/x86", "linux/amd64,linux/amd64", "/amd64"} {
		if _, err := ParsePlatforms(s); !errors.Is(err, ErrBadOption) {
			t.Errorf("ParsePlatforms(%q) = %v, want ErrBadOption", s, err)
		}
	}
}

// TestDescribeRealRepo reads tags and distances from a real repository
// with a merge and tags in the middle, as Version needs them.
func TestDescribeRealRepo(t *testing.T) {
	t.Parallel()
	o := gittest.New(t)
	c1 := o.Commit("a", "1", "one")
	c2 := o.Commit("a", "2", "two")
	o.Run("tag", "v1.0.0")
	o.Run("tag", "latest") // not semver: ignored
	o.Run("checkout", "--quiet", "-b", "side")
	o.Commit("b", "1", "side one")
	o.Commit("b", "2", "side two")
	o.Run("checkout", "--quiet", "main")
	c3 := o.Commit("a", "3", "three")
	o.Run("merge", "--quiet", "--no-ff", "-m", "merge side", "side")
	merge := o.Run("rev-parse", "HEAD")
	o.Run("tag", "v1.1.0-rc.1")
	c5 := o.Commit("a", "5", "five")

	r, err := git.New(git.Options{Repo: o.Dir, Workdir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.Fetch(ctx, c5, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		hash string
		want git.Description
		v    string
	}{
		{c1, git.Description{Since: 1}, "0.0.1"},
		{c2, git.Description{Tag: "v1.0.0", Base: "v1.0.0", Since: 0}, "1.0.0"},
		{c3, git.Description{Base: "v1.0.0", Since: 1}, "1.0.1"},
		// The merge is one more commit of the first-parent line, whatever
		// it brings in.
		{merge, git.Description{Tag: "v1.1.0-rc.1", Base: "v1.0.0", Since: 2}, "1.1.0-rc.1"},
		{c5, git.Description{Base: "v1.0.0", Since: 3}, "1.0.3"},
	} {
		d, err := r.Describe(ctx, tc.hash)
		tc.want.Hash = tc.hash
		if err != nil || d != tc.want {
			t.Errorf("Describe(%.7s) = %+v, %v; want %+v", tc.hash, d, err, tc.want)
			continue
		}
		if v, err := Version(RuleCount, "", d); err != nil || v != tc.v {
			t.Errorf("Version of %.7s = %q, %v; want %s", tc.hash, v, err, tc.v)
		}
	}
	if _, err := r.Describe(ctx, "HEAD"); !errors.Is(err, git.ErrGit) {
		t.Errorf("Describe(HEAD) = %v, want ErrGit (a hash is required)", err)
	}
}
