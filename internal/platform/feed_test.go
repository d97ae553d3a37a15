package platform

import "testing"

// TestParseFeedName keeps the expectations of source/feed's ParseName
// tests, with one change: every format the extractor installs is now a
// feed format, so ".tar.bz2" parses and an unreadable ".tar.lz4" does not.
func TestParseFeedName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want FeedFile // zero: no match
	}{
		{"hello-1.1.0-linux-amd64", FeedFile{App: "hello", Version: "1.1.0", OS: "linux", Arch: "amd64"}},
		{"hello-v1.1.0-darwin-arm64", FeedFile{App: "hello", Version: "v1.1.0", OS: "darwin", Arch: "arm64"}},
		{"hello-1.1.0-windows-amd64.exe", FeedFile{App: "hello", Version: "1.1.0", OS: "windows", Arch: "amd64"}},
		{"my-cool-tool-2.0.0-linux-386", FeedFile{App: "my-cool-tool", Version: "2.0.0", OS: "linux", Arch: "386"}},
		{"app2-1.0.0-linux-amd64", FeedFile{App: "app2", Version: "1.0.0", OS: "linux", Arch: "amd64"}},
		{"tool-3-1.0.0-linux-amd64", FeedFile{App: "tool-3", Version: "1.0.0", OS: "linux", Arch: "amd64"}},
		{"hello-1.2.0-rc.1-linux-armv7", FeedFile{App: "hello", Version: "1.2.0-rc.1", OS: "linux", Arch: "armv7"}},
		{"hello-1.2.0-rc-1-freebsd-riscv64", FeedFile{App: "hello", Version: "1.2.0-rc-1", OS: "freebsd", Arch: "riscv64"}},
		{"hello-1.2.0+build.5-linux-amd64", FeedFile{App: "hello", Version: "1.2.0+build.5", OS: "linux", Arch: "amd64"}},
		{"hello-1.1.0-linux-amd64.tar.gz", FeedFile{App: "hello", Version: "1.1.0", OS: "linux", Arch: "amd64", Format: TarGz, Ext: "tar.gz", Executable: "hello"}},
		{"hello-1.1.0-linux-arm64.tgz", FeedFile{App: "hello", Version: "1.1.0", OS: "linux", Arch: "arm64", Format: TarGz, Ext: "tgz", Executable: "hello"}},
		{"my-app-1.1.0-windows-amd64.zip", FeedFile{App: "my-app", Version: "1.1.0", OS: "windows", Arch: "amd64", Format: Zip, Ext: "zip", Executable: "my-app.exe"}},
		{"hello-1.1.0-darwin-amd64.zip", FeedFile{App: "hello", Version: "1.1.0", OS: "darwin", Arch: "amd64", Format: Zip, Ext: "zip", Executable: "hello"}},
		// every installable format
		{"hello-1.1.0-linux-amd64.tar.bz2", FeedFile{App: "hello", Version: "1.1.0", OS: "linux", Arch: "amd64", Format: TarBz2, Ext: "tar.bz2", Executable: "hello"}},
		{"hello-1.1.0-linux-amd64.tar.zst", FeedFile{App: "hello", Version: "1.1.0", OS: "linux", Arch: "amd64", Format: TarZst, Ext: "tar.zst", Executable: "hello"}},
		{"hello-1.1.0-linux-amd64.tar.xz", FeedFile{App: "hello", Version: "1.1.0", OS: "linux", Arch: "amd64", Format: TarXz, Ext: "tar.xz", Executable: "hello"}},
		{"hello-1.1.0-linux-amd64.tar", FeedFile{App: "hello", Version: "1.1.0", OS: "linux", Arch: "amd64", Format: Tar, Ext: "tar", Executable: "hello"}},
		{"hello-1.1.0-linux-amd64.gz", FeedFile{App: "hello", Version: "1.1.0", OS: "linux", Arch: "amd64", Format: Gz, Ext: "gz"}},
		{"hello-1.1.0-linux-amd64.bz2", FeedFile{App: "hello", Version: "1.1.0", OS: "linux", Arch: "amd64", Format: Bz2, Ext: "bz2"}},
		{"hello-1.1.0-windows-amd64.exe.xz", FeedFile{App: "hello", Version: "1.1.0", OS: "windows", Arch: "amd64", Format: Xz, Ext: "xz"}},
		{"hello-1.1.0-windows-amd64.zst", FeedFile{App: "hello", Version: "1.1.0", OS: "windows", Arch: "amd64", Format: Zst, Ext: "zst"}},

		{"README.md", FeedFile{}},
		{"hello", FeedFile{}},
		{"hello-1.1.0-linux", FeedFile{}},
		{"hello-1.1.0-plan10-amd64", FeedFile{}},
		{"hello-1.1.0-linux-amd65", FeedFile{}},
		{"hello-1.1-linux-amd64", FeedFile{}},       // partial version
		{"hello-latest-linux-amd64", FeedFile{}},    // no version
		{"1.1.0-linux-amd64", FeedFile{}},           // no app
		{"-1.1.0-linux-amd64", FeedFile{}},          // empty app
		{"hello-1.1.0-linux-amd64.exe", FeedFile{}}, // .exe off windows
		{"hello-1.1.0-linux-amd64.exe.gz", FeedFile{}},
		{"hello-1.1.0-linux-amd64.tar.lz4", FeedFile{}}, // cannot be extracted
		{"hello-1.1.0-linux-amd64.7z", FeedFile{}},
		{"hello-1.1.0-linux-amd64.TAR.GZ", FeedFile{}}, // the rule is lower case
		{"hello-1.1.0-linux-amd64.zip.exe", FeedFile{}},
		{"hello-1.1.0-windows-amd64.exe.zip", FeedFile{}},
		{".hello-1.1.0-linux-amd64", FeedFile{}}, // being written
		{"hello-1.1.0-linux-amd64.sha256", FeedFile{}},
		{"hello-1.1.0-linux-amd64.deb", FeedFile{}},
		{"x..y-1.1.0-linux-amd64", FeedFile{}},
		{"a/b-1.1.0-linux-amd64", FeedFile{}},
		{"hello-1.1.0-Linux-amd64", FeedFile{}},
	}
	for _, tt := range tests {
		got, ok := ParseFeedName(tt.name)
		if tt.want == (FeedFile{}) {
			if ok {
				t.Errorf("ParseFeedName(%q) = %+v, want no match", tt.name, got)
			}
			continue
		}
		tt.want.Name = tt.name
		if !ok || got != tt.want {
			t.Errorf("ParseFeedName(%q) = %+v, %v\n want %+v", tt.name, got, ok, tt.want)
		}
	}
}

// TestFeedNameRoundTrip checks that FeedName writes what ParseFeedName
// reads, for every installable format, and that Parse reads it the same.
func TestFeedNameRoundTrip(t *testing.T) {
	t.Parallel()
	for _, f := range Formats() {
		for _, p := range [][2]string{{"linux", "amd64"}, {"windows", "arm64"}, {"linux", "armv6"}, {"darwin", "arm64"}} {
			name := FeedName("my-app", "1.2.0-rc.1", p[0], p[1], f)
			got, ok := ParseFeedName(name)
			if !ok || got.App != "my-app" || got.Version != "1.2.0-rc.1" || got.OS != p[0] || got.Arch != p[1] || got.Format != f {
				t.Errorf("FeedName = %q, which parses as %+v, %v", name, got, ok)
			}
			a, ok := Parse(name, "my-app")
			if !ok || a.OS != p[0] || a.Format != f || a.Version != "1.2.0-rc.1" || len(a.Flavour) != 0 {
				t.Errorf("Parse(%q) = %+v, %v", name, a, ok)
			}
		}
	}
	if FeedName("a", "1.0.0", "linux", "amd64", Unsupported) != "" || FeedName("a", "1.0.0", "linux", "amd64", NotProgram) != "" {
		t.Error("FeedName of a format that cannot be installed")
	}
	if got := FeedName("a", "1.0.0", "windows", "amd64", Bare); got != "a-1.0.0-windows-amd64.exe" {
		t.Errorf("FeedName bare windows = %q", got)
	}
}
