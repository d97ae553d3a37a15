package archive_test

// The opt-in decoders, registered for every test of this package: tests in
// package archive cannot import them, since they import archive, but an
// external test file can, and its init runs in the same test binary.
import (
	_ "github.com/molt-go/update/compress/xz"
	_ "github.com/molt-go/update/compress/zstd"
)
