package atomicfile

// SyncDir does nothing on windows and returns nil: directories cannot be
// opened for fsync there, and NTFS journals its metadata (renames included)
// itself.
func SyncDir(dir string) error { return nil }
