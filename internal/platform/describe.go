package platform

// Describe returns what a platform given as two words says, as sources
// that keep the OS and the architecture apart write them ("linux" and
// "armv7", "Darwin" and "x86_64", "darwin" and "all"), by the same tables
// as Parse. An empty arch is a universal binary on darwin and unknown
// elsewhere (false).
func Describe(goos, arch string) (Asset, bool) {
	a, ok := Parse(goos+"_"+arch, "")
	if !ok || a.App != "" || len(a.Flavour) > 0 || a.Version != "" {
		return Asset{}, false
	}
	a.Name, a.Stem = goos+"/"+arch, ""
	return a, true
}

// Runs reports whether a build for a's platform runs on w. A plain "arm"
// build is taken as v7, as in Choose when the release has no explicit v7
// build beside it; Choose, which sees the whole release, is the better
// judge.
func (w Want) Runs(a Asset) bool {
	_, ok := fit(a, w.resolved(), 7)
	return ok
}
