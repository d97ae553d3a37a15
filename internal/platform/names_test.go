package platform

import (
	"slices"
	"testing"
)

func TestExecutableNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		app, asset, goos string
		want             []string
	}{
		{"yq", "yq_linux_amd64.tar.gz", "linux", []string{"yq", "yq_linux_amd64", "yq-linux-amd64"}},
		{"restic", "restic_0.19.1_windows_amd64.zip", "windows", []string{
			"restic.exe", "restic", "restic_0.19.1_windows_amd64.exe", "restic_0.19.1_windows_amd64",
			"restic_windows_amd64.exe", "restic_windows_amd64", "restic-windows-amd64.exe", "restic-windows-amd64"}},
		{"gh", "gh_2.0.0_macOS_amd64.tar.gz", "", []string{"gh", "gh_2.0.0_macOS_amd64", "gh_darwin_amd64", "gh-darwin-amd64"}},
		{"hugo", "hugo_0.103.0_macOS-universal.tar.gz", "darwin", []string{"hugo", "hugo_0.103.0_macOS-universal"}},
		{"buf", "buf-Linux-x86_64.tar.gz", "linux", []string{"buf", "buf-Linux-x86_64", "buf_linux_amd64", "buf-linux-amd64"}},
		{"hello", "README.md", "linux", []string{"hello", "README"}},
		{"", "x_linux_amd64.zip", "linux", []string{"x_linux_amd64"}},
		{"Hello", "hello_linux_amd64.tgz", "linux", []string{"Hello", "hello_linux_amd64", "Hello-linux-amd64"}}, // each once, whatever the case
	} {
		got := ExecutableNames(tc.app, tc.asset, tc.goos)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ExecutableNames(%q, %q, %q) = %q\n want %q", tc.app, tc.asset, tc.goos, got, tc.want)
		}
	}
}
