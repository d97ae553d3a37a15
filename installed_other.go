//go:build !linux && !darwin

package update

import "io/fs"

// fileStampSys adds nothing here: size and modification time alone stamp
// the file (see installedFile for why a stale stamp is safe).
func fileStampSys(fs.FileInfo) string { return "" }
