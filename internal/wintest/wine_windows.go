//go:build wine

package wintest

import (
	_ "unsafe" // for go:linkname

	"golang.org/x/sys/windows"
)

// deleteatFallback is the standard library's switch that makes os.RemoveAll
// (and os.Root's Remove) delete with FileDispositionInfo rather than
// FileDispositionInformationEx with POSIX semantics. Wine 8.0 answers the
// latter with STATUS_NOT_IMPLEMENTED, which Go does not take as a reason to
// fall back, so every t.TempDir cleanup fails there with "unlinkat ...:
// Invalid function." Real Windows (10 1607 and later) is not affected, and
// the library itself deletes with os.Remove, which does not go this way.
//
//go:linkname deleteatFallback internal/syscall/windows.TestDeleteatFallback
var deleteatFallback bool

// Wine says whether this process runs under Wine: Wine's ntdll exports
// wine_get_version, Windows' does not.
func Wine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

func init() {
	if Wine() {
		deleteatFallback = true
	}
}
