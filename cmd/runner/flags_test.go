package main

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/molt-go/update/agent/release"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	base := []string{"-repo", "/src/app.git"}
	pub := append(base[:len(base):len(base)], "-publish", "s3://b/p", "-key", "k.pem")
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"run only", append(base, "-run", "./app"), true},
		{"publish only", pub, true},
		{"both", append(pub, "-run", "./app", "-health", "tcp://127.0.0.1:1"), true},
		{"publish with everything", append(pub, "-app", "hello", "-channel", "beta", "-version-rule", "tag",
			"-platforms", "linux/amd64,linux/arm64,windows/amd64", "-rollout", "10%", "-keep", "5", "-package", "./cmd/hello"), true},
		{"phases", append(pub, "-phases", "1%@0h,10%@24h,100%@72h"), true},
		{"no repo", []string{"-run", "./app"}, false},
		{"neither run nor publish", base, false},
		{"publish without key", append(base, "-publish", "/srv/www"), false},
		{"publishing flag without publish", append(base, "-run", "./app", "-rollout", "10%"), false},
		{"channel without publish", append(base, "-run", "./app", "-channel", "beta"), false},
		{"health without run", append(pub, "-health", "http://127.0.0.1:1/"), false},
		{"rollout and phases", append(pub, "-rollout", "10%", "-phases", "1%@0h,100%@24h"), false},
		{"bad percent", append(pub, "-rollout", "110%"), false},
		{"bad phases", append(pub, "-phases", "10%@24h,1%@48h"), false},
		{"dev channel", append(pub, "-channel", "dev"), false},
		{"bad rule", append(pub, "-version-rule", "time"), false},
		{"bad platform", append(pub, "-platforms", "linux/x86"), false},
		{"negative keep", append(pub, "-keep", "-1"), false},
		{"bad app", append(pub, "-app", "../etc"), false},
		{"bad switch", append(base, "-run", "./app", "-switch", "sideways"), false},
		{"stray argument", append(pub, "extra"), false},
	} {
		c, err := parseFlags(tc.args)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, errFlags) {
			t.Errorf("%s: parseFlags = %+v, %v; want errFlags", tc.name, c, err)
		}
	}
}

func TestParseFlagsDefaults(t *testing.T) {
	t.Parallel()
	c, err := parseFlags([]string{"-repo", "https://example.com/you/tool.git", "-publish", "/srv/www", "-key", "k.pem", "-workdir", "/var/runner"})
	if err != nil {
		t.Fatal(err)
	}
	if c.app != "tool" || c.rule != release.RuleCount || c.channel != "" || c.keep != defaultKeep ||
		c.releases != filepath.Join("/var/runner", "releases") || len(c.platforms) != 1 || c.platforms[0] != release.Host() ||
		c.versionVar != "main.version" || c.pkg != "." || c.runCmd != "" {
		t.Errorf("defaults = %+v", c)
	}
	c, err = parseFlags([]string{"-repo", "r", "-publish", "/srv/www", "-key", "k.pem", "-project", "svc"})
	if err != nil || c.app != "svc" {
		t.Errorf("-app defaults to -project: %+v, %v", c, err)
	}
}
