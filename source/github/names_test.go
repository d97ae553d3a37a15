package github

import (
	"slices"
	"testing"
)

// TestChecksumsNames: the names real releases give their checksums lists
// are read as such, and nothing else is.
func TestChecksumsNames(t *testing.T) {
	t.Parallel()
	for _, n := range []string{
		"checksums.txt", "hello_1.2.3_checksums.txt", "hugo_0.139.0_checksums.txt", "checksums.sha256",
		"SHA256SUMS", "restic-0.17.3-SHA256SUMS", "SHA256SUMS.txt", "sha256sum.txt", "sha256.txt", "checksums",
		"SHA512SUMS", "hello-1.0.0-checksums.txt", "terraform_1.9.0_SHA256SUMS", "checksums-bsd",
	} {
		if checksumsRank(n) < 0 {
			t.Errorf("%q is not read as a checksums list", n)
		}
	}
	for _, n := range []string{
		"hello_linux_amd64.tar.gz.sha256", "checksums.txt.sig", "checksums.txt.pem", "SHA256SUMS.sig",
		"checksums_hashes_order", "hello_linux_amd64.tar.gz", "mysha256.txt", "extract-checksum.sh",
	} {
		if checksumsRank(n) >= 0 {
			t.Errorf("%q is read as a checksums list", n)
		}
	}
	got := checksumsFiles([]string{"SHA256SUMS.asc", "checksums", "a.tar.gz", "hello_checksums.txt", "SHA512SUMS"})
	if want := []string{"hello_checksums.txt", "SHA256SUMS.asc", "checksums", "SHA512SUMS"}; !slices.Equal(got, want) {
		t.Errorf("checksumsFiles = %q, want %q", got, want)
	}
	if got := checksumsFiles([]string{"SHA256SUMS", "SHA256SUMS.asc"}); !slices.Equal(got, []string{"SHA256SUMS"}) {
		t.Errorf("with a plain SHA256SUMS, its .asc is a signature: %q", got)
	}
}

// TestTags checks the versions tags name, by default and with TagPrefix.
func TestTags(t *testing.T) {
	t.Parallel()
	def := tagRule{app: "hello"}
	mono := tagRule{app: "hello", prefix: "hello/"}
	for _, tc := range []struct {
		rule tagRule
		tag  string
		want string // "" for no version
	}{
		{def, "v1.2.3", "v1.2.3"},
		{def, "1.2.3", "1.2.3"},
		{def, "V1.2.3", "v1.2.3"},
		{def, "v1.2", "v1.2.0"},
		{def, "v1.2-rc.1", "v1.2.0-rc.1"},
		{def, "v1.2.3-rc.1+build.5", "v1.2.3-rc.1+build.5"},
		{def, "release-v1.2.3", "v1.2.3"},
		{def, "release-1.2.3", "1.2.3"},
		{def, "Release/v1.2.3", "v1.2.3"},
		{def, "hello-v1.2.3", "v1.2.3"},
		{def, "Hello_1.2.3", "1.2.3"},
		{def, "hello/v1.2.3", "v1.2.3"},
		{def, "hello@1.2.3", "1.2.3"},
		{def, "other/v1.2.3", ""},
		{def, "hellothere-v1.2.3", ""},
		{def, "v1", ""},
		{def, "nightly", ""},
		{def, "v1.2.3.4", ""},
		{def, "v01.2.3", ""},
		{mono, "hello/v2.0.0", "v2.0.0"},
		{mono, "hello/2.1", "2.1.0"},
		{mono, "v2.0.0", ""},
		{mono, "hello-v2.0.0", ""},
		{mono, "other/v2.0.0", ""},
	} {
		got, _, ok := tc.rule.version(tc.tag)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%+v: version(%q) = %q, %v; want %q", tc.rule, tc.tag, got, ok, tc.want)
		}
	}
}
