package platform

import "testing"

func TestDescribe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		os, arch string
		label    string
		ok       bool
	}{
		{"linux", "amd64", "linux/amd64", true},
		{"linux", "x86_64", "linux/amd64", true},
		{"Linux", "aarch64", "linux/arm64", true},
		{"linux", "armv7", "linux/armv7", true},
		{"linux", "armhf", "linux/armv7", true},
		{"linux", "arm", "linux/arm", true},
		{"linux", "i686", "linux/386", true},
		{"macOS", "universal", "darwin/universal", true},
		{"darwin", "", "darwin/universal", true},
		{"linux", "", "", false},
		{"", "amd64", "", false},
		{"linux", "amd64-musl", "", false},
		{"plan10", "amd64", "", false},
	} {
		a, ok := Describe(tc.os, tc.arch)
		if ok != tc.ok || (ok && a.Platform() != tc.label) {
			t.Errorf("Describe(%q, %q) = %q, %v; want %q, %v", tc.os, tc.arch, a.Platform(), ok, tc.label, tc.ok)
		}
	}
}

func TestRuns(t *testing.T) {
	t.Parallel()
	desc := func(os, arch string) Asset {
		a, ok := Describe(os, arch)
		if !ok {
			t.Fatalf("Describe(%q, %q) failed", os, arch)
		}
		return a
	}
	for _, tc := range []struct {
		a    Asset
		w    Want
		runs bool
	}{
		{desc("linux", "x86_64"), Want{GOOS: "linux", GOARCH: "amd64"}, true},
		{desc("linux", "armv6"), Want{GOOS: "linux", GOARCH: "arm", GOARM: 7}, true},
		{desc("linux", "armv7"), Want{GOOS: "linux", GOARCH: "arm", GOARM: 6}, false},
		{desc("linux", "arm"), Want{GOOS: "linux", GOARCH: "arm", GOARM: 6}, false},
		{desc("darwin", "all"), Want{GOOS: "darwin", GOARCH: "arm64"}, true},
		{desc("darwin", "amd64"), Want{GOOS: "darwin", GOARCH: "arm64"}, false},
		{desc("windows", "amd64"), Want{GOOS: "linux", GOARCH: "amd64"}, false},
	} {
		if got := tc.w.Runs(tc.a); got != tc.runs {
			t.Errorf("%s.Runs(%s) = %v, want %v", tc.w, tc.a.Platform(), got, tc.runs)
		}
	}
}
