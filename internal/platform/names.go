package platform

import (
	"path"
	"strings"
)

// ExecutableNames returns the names the executable may have inside the
// archive called assetName, for a program of app installed on goos (empty:
// the OS the asset's name says). They are, each once and for windows each
// with ".exe" as well as without:
//
//   - the app's name (most archives: "gh", "hugo", "k9s");
//   - the asset's name without its format ending: yq puts
//     "yq_linux_amd64" in "yq_linux_amd64.tar.gz", restic
//     "restic_0.19.1_windows_amd64.exe" in "restic_0.19.1_windows_amd64.zip";
//   - <app>_<os>_<arch> and <app>-<os>-<arch>, in GOOS and GOARCH terms,
//     for the archives that hold a binary named like that under a release
//     name spelled differently (cosign-linux-amd64).
//
// The archive extractor compares them with entry names case-insensitively.
func ExecutableNames(app, assetName, goos string) []string {
	assetName = path.Base(assetName)
	a, parsed := Parse(assetName, app)
	if goos == "" && parsed {
		goos = a.OS
	}
	stem, _, _ := SplitFormat(assetName)
	stem, _ = TrimExe(stem)

	var names []string
	add := func(n string) {
		if n == "" || n == "." {
			return
		}
		for _, v := range []string{ExeName(n, goos), n} {
			if !containsFold(names, v) {
				names = append(names, v)
			}
		}
	}
	add(app)
	add(stem)
	if parsed && app != "" && !a.Universal {
		add(app + "_" + goos + "_" + a.Arch)
		add(app + "-" + goos + "-" + a.Arch)
	}
	return names
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
