package feed

import "testing"

func TestParseName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want Entry // zero: no match
	}{
		{"hello-1.1.0-linux-amd64", Entry{App: "hello", Version: "1.1.0", OS: "linux", Arch: "amd64"}},
		{"hello-v1.1.0-darwin-arm64", Entry{App: "hello", Version: "v1.1.0", OS: "darwin", Arch: "arm64"}},
		{"hello-1.1.0-windows-amd64.exe", Entry{App: "hello", Version: "1.1.0", OS: "windows", Arch: "amd64"}},
		{"my-cool-tool-2.0.0-linux-386", Entry{App: "my-cool-tool", Version: "2.0.0", OS: "linux", Arch: "386"}},
		{"app2-1.0.0-linux-amd64", Entry{App: "app2", Version: "1.0.0", OS: "linux", Arch: "amd64"}},
		{"tool-3-1.0.0-linux-amd64", Entry{App: "tool-3", Version: "1.0.0", OS: "linux", Arch: "amd64"}},
		{"hello-1.2.0-rc.1-linux-armv7", Entry{App: "hello", Version: "1.2.0-rc.1", OS: "linux", Arch: "armv7"}},
		{"hello-1.2.0-rc-1-freebsd-riscv64", Entry{App: "hello", Version: "1.2.0-rc-1", OS: "freebsd", Arch: "riscv64"}},
		{"hello-1.2.0+build.5-linux-amd64", Entry{App: "hello", Version: "1.2.0+build.5", OS: "linux", Arch: "amd64"}},
		{"hello-1.1.0-linux-amd64.tar.gz", Entry{App: "hello", Version: "1.1.0", OS: "linux", Arch: "amd64", Archive: "tar.gz", Executable: "hello"}},
		{"hello-1.1.0-linux-arm64.tgz", Entry{App: "hello", Version: "1.1.0", OS: "linux", Arch: "arm64", Archive: "tgz", Executable: "hello"}},
		{"my-app-1.1.0-windows-amd64.zip", Entry{App: "my-app", Version: "1.1.0", OS: "windows", Arch: "amd64", Archive: "zip", Executable: "my-app.exe"}},
		{"hello-1.1.0-darwin-amd64.zip", Entry{App: "hello", Version: "1.1.0", OS: "darwin", Arch: "amd64", Archive: "zip", Executable: "hello"}},

		{"README.md", Entry{}},
		{"hello", Entry{}},
		{"hello-1.1.0-linux", Entry{}},
		{"hello-1.1.0-plan10-amd64", Entry{}},
		{"hello-1.1.0-linux-amd65", Entry{}},
		{"hello-1.1-linux-amd64", Entry{}},           // partial version
		{"hello-latest-linux-amd64", Entry{}},        // no version
		{"1.1.0-linux-amd64", Entry{}},               // no app
		{"-1.1.0-linux-amd64", Entry{}},              // empty app
		{"hello-1.1.0-linux-amd64.exe", Entry{}},     // .exe off windows
		{"hello-1.1.0-linux-amd64.tar.bz2", Entry{}}, // unknown archive
		{"hello-1.1.0-linux-amd64.zip.exe", Entry{}},
		{".hello-1.1.0-linux-amd64", Entry{}}, // being written
		{"hello-1.1.0-linux-amd64.sha256", Entry{}},
		{"x..y-1.1.0-linux-amd64", Entry{}},
	}
	for _, tt := range tests {
		got, ok := ParseName(tt.name)
		if tt.want == (Entry{}) {
			if ok {
				t.Errorf("ParseName(%q) = %+v, want no match", tt.name, got)
			}
			continue
		}
		tt.want.Name = tt.name
		if !ok || got != tt.want {
			t.Errorf("ParseName(%q) = %+v, %v\n want %+v", tt.name, got, ok, tt.want)
		}
	}
}
