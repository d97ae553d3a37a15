// Package wintest adapts a windows test binary to Wine, for .ci/windows,
// which runs the windows/amd64 tests of the packages with Windows code paths
// under Wine on Linux.
//
// A test package imports it for its side effect from a file built only with
// the wine tag (and linked with -ldflags=-checklinkname=0, which its
// linkname needs):
//
//	//go:build wine
//
//	package apply
//
//	import _ "github.com/molt-go/update/internal/wintest"
//
// Without the tag nothing here is compiled into a test, so a build for real
// Windows is the plain one.
package wintest
