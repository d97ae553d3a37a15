package platform

import "strings"

// exeSuffix is what Windows needs at the end of an executable's name.
const exeSuffix = ".exe"

// ExeName is the Windows .exe rule: it returns name as an executable must
// be called on goos. On windows that is name with ".exe" unless it already
// ends so (in any case); anywhere else it is name unchanged, since a
// trailing ".exe" there is only part of a name.
func ExeName(name, goos string) string {
	if goos != "windows" {
		return name
	}
	if _, ok := TrimExe(name); ok {
		return name
	}
	return name + exeSuffix
}

// TrimExe cuts a trailing ".exe", in any case, off name and reports
// whether there was one.
func TrimExe(name string) (string, bool) {
	if len(name) > len(exeSuffix) && strings.EqualFold(name[len(name)-len(exeSuffix):], exeSuffix) {
		return name[:len(name)-len(exeSuffix)], true
	}
	return name, false
}
