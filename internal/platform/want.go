package platform

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// Want is the platform Choose picks an asset for.
type Want struct {
	// GOOS and GOARCH are Go's names for the platform; empty means the
	// running program's.
	GOOS, GOARCH string
	// GOARM is the highest ARM level (5, 6, 7) the machine runs, for
	// GOARCH "arm". Zero means the level the running program was built
	// for when the platform is the running one (it is known to run), and 7
	// otherwise (what every armhf distribution runs).
	GOARM int
	// GOAMD64 is the highest x86-64 level (1 to 4) the machine runs, for
	// GOARCH "amd64". Zero means the running program's level when the
	// platform is the running one, and 1 otherwise: every amd64 machine
	// runs level 1, and a higher level only makes a program faster.
	GOAMD64 int
	// Flavour, when not empty, names the build to take by its flavour
	// words, in any order and separated by "-", "_", "." or spaces:
	// "extended", "musl", "pivkey-pkcs11key". Empty means the default
	// build: see Choose.
	Flavour string
	// CanExtract, when not nil, tells which formats the installer can
	// unpack (internal/archive.CanExtract); of one build published in
	// several formats, one it can unpack is taken. Nil means all of them.
	CanExtract func(Format) bool
}

// resolved returns w with its defaults filled in.
func (w Want) resolved() Want {
	host := w.GOOS == "" || w.GOOS == runtime.GOOS
	if w.GOOS == "" {
		w.GOOS = runtime.GOOS
	}
	if w.GOARCH == "" {
		w.GOARCH = runtime.GOARCH
	}
	host = host && w.GOARCH == runtime.GOARCH
	levels := hostLevels()
	switch w.GOARCH {
	case "arm":
		if w.GOARM == 0 && host && levels.arm != 0 {
			w.GOARM = levels.arm
		}
		if w.GOARM == 0 {
			w.GOARM = 7
		}
		w.GOARM = min(max(w.GOARM, 5), 7)
	case "amd64":
		if w.GOAMD64 == 0 && host {
			w.GOAMD64 = levels.amd64
		}
		w.GOAMD64 = min(max(w.GOAMD64, 1), 4)
	}
	return w
}

// String writes the platform as os/arch with its level: "linux/armv6",
// "linux/amd64", "linux/amd64v3", and the flavour when one is asked for.
func (w Want) String() string {
	s := w.GOOS + "/" + w.GOARCH
	switch {
	case w.GOARCH == "arm" && w.GOARM != 0:
		s = w.GOOS + "/armv" + strconv.Itoa(w.GOARM)
	case w.GOARCH == "amd64" && w.GOAMD64 > 1:
		s += "v" + strconv.Itoa(w.GOAMD64)
	}
	if w.Flavour != "" {
		s += " (" + w.Flavour + ")"
	}
	return s
}

// levels are the GOARM and GOAMD64 levels the running program was built
// for, 0 when unknown.
type levels struct{ arm, amd64 int }

// hostLevels reads the levels from the program's build information, which
// the go command records (GOARM=6, GOAMD64=v3) and which costs no I/O.
var hostLevels = sync.OnceValue(func() levels {
	var l levels
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return l
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "GOARM": // "7", or "6,softfloat" since Go 1.22
			l.arm = leadingDigit(s.Value)
		case "GOAMD64": // "v1" to "v4"
			l.amd64 = leadingDigit(strings.TrimPrefix(s.Value, "v"))
		}
	}
	return l
})

func leadingDigit(s string) int {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0
	}
	return int(s[0] - '0')
}
