package platform

// osWords maps the operating system words release names use, lower-cased,
// to GOOS. "macosx" is syncthing's, "osx" rclone's, "mac" caddy's,
// "dragonflybsd" croc's and trivy's.
var osWords = map[string]string{
	"linux":  "linux",
	"darwin": "darwin", "macos": "darwin", "macosx": "darwin", "osx": "darwin", "mac": "darwin",
	"windows": "windows", "win": "windows", "win64": "windows", "win32": "windows",
	"freebsd": "freebsd", "openbsd": "openbsd", "netbsd": "netbsd",
	"dragonfly": "dragonfly", "dragonflybsd": "dragonfly",
	"android": "android", "illumos": "illumos", "solaris": "solaris", "sunos": "solaris",
	"aix": "aix", "plan9": "plan9", "ios": "ios", "js": "js", "wasip1": "wasip1",
}

// osArch is the architecture an OS word implies when the name has no
// architecture word of its own: "app-win64.zip" is amd64, and "win32", for
// all that Microsoft also calls 64-bit Windows so, is 386 when nothing
// else is said ("app-win32-x64.zip" is amd64 by its own word).
var osArch = map[string]string{"win64": "amd64", "win32": "386"}

// archWord is what an architecture word says.
type archWord struct {
	arch      string // GOARCH; empty for universal
	level     int    // GOARM for arm, GOAMD64 for amd64; 0 when unsaid
	universal bool   // a macOS universal binary
}

// archWords maps architecture words, lower-cased and with the words that
// spelled them in pieces put back together (see joinWords), to GOARCH.
//
// Plain "arm" says no level: Choose takes it as GOARM=7, what Go builds
// when cross-compiling since Go 1.22 and what every armhf distribution
// runs, unless the same release also has an explicit v7 build, in which
// case the plain one must be older and is taken as GOARM=6 (see
// plainARMLevel). "armhf" is Debian's v7 hard-float port; "armel" is
// Debian's soft-float port, v5 at its lowest, and is taken as 5, the level
// that runs on every armel machine.
var archWords = map[string]archWord{
	"amd64": {arch: "amd64"}, "x86_64": {arch: "amd64"}, "x64": {arch: "amd64"}, "64bit": {arch: "amd64"},
	"amd64v1": {arch: "amd64", level: 1}, "amd64v2": {arch: "amd64", level: 2},
	"amd64v3": {arch: "amd64", level: 3}, "amd64v4": {arch: "amd64", level: 4},

	"386": {arch: "386"}, "i386": {arch: "386"}, "i486": {arch: "386"}, "i586": {arch: "386"},
	"i686": {arch: "386"}, "x86": {arch: "386"}, "32bit": {arch: "386"},

	"arm64": {arch: "arm64"}, "aarch64": {arch: "arm64"}, "armv8": {arch: "arm64"}, "arm64v8": {arch: "arm64"},

	"arm":   {arch: "arm"},
	"armv5": {arch: "arm", level: 5}, "armv6": {arch: "arm", level: 6}, "armv7": {arch: "arm", level: 7},
	"armv5l": {arch: "arm", level: 5}, "armv6l": {arch: "arm", level: 6}, "armv7l": {arch: "arm", level: 7},
	"armv6hf": {arch: "arm", level: 6}, "armv7hf": {arch: "arm", level: 7},
	"arm5": {arch: "arm", level: 5}, "arm6": {arch: "arm", level: 6}, "arm7": {arch: "arm", level: 7},
	"armhf": {arch: "arm", level: 7}, "armel": {arch: "arm", level: 5},

	"ppc64le": {arch: "ppc64le"}, "ppc64": {arch: "ppc64"}, "s390x": {arch: "s390x"},
	"riscv64": {arch: "riscv64"}, "loong64": {arch: "loong64"}, "loongarch64": {arch: "loong64"},
	"mips": {arch: "mips"}, "mipsle": {arch: "mipsle"}, "mips64": {arch: "mips64"}, "mips64le": {arch: "mips64le"},
	"wasm": {arch: "wasm"},

	"universal": {universal: true}, "universal2": {universal: true}, "all": {universal: true},
}

// vendorWords are the vendor parts of target triples, which say nothing
// about what runs where: x86_64-unknown-linux-musl, x86_64-apple-darwin,
// x86_64-pc-windows-msvc.
var vendorWords = set("unknown", "pc", "apple", "none")

// prereleaseWords may follow a version's numbers: 1.2.0-rc.1, 2.0-beta2.
var prereleaseWords = []string{"alpha", "beta", "rc", "pre", "preview", "dev", "snapshot", "nightly", "next", "canary"}

// staticWords are the flavours Choose falls back to on Linux when a release
// has no plain build: a static or musl build runs on any Linux, glibc or
// not.
var staticWords = set("static", "musl")

// abiWords are flavours that name a platform's usual C library or
// toolchain: a release whose only build for a platform carries just these
// can have that build taken without asking (x86_64-pc-windows-msvc,
// x86_64-unknown-linux-gnu).
var abiWords = set("gnu", "glibc", "msvc", "gnueabihf", "gnueabi", "eabihf")

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
