package delta

import "errors"

// Errors returned by Apply, ReadHeader and CheckOld. Test for them with
// errors.Is: every error that one of these causes wraps exactly one of them,
// with a message saying what was wrong and where.
var (
	// ErrCorrupt means the patch is malformed: a bad magic or header
	// checksum, a length or seek outside what the header promised, a
	// truncated or undecodable stream, or bytes after its end. A hostile
	// patch gets this error, never a panic or an output longer than the
	// header's new size.
	ErrCorrupt = errors.New("delta: corrupt patch")
	// ErrVersion means the patch is of a format version (or uses a flag)
	// this package does not know: it was made by a newer publisher. The
	// caller should fall back to downloading the full file.
	ErrVersion = errors.New("delta: unknown patch format version")
	// ErrOldMismatch means the old file is not the one the patch starts
	// from: its size or sha256 differs from the header's. The caller should
	// fall back to downloading the full file.
	ErrOldMismatch = errors.New("delta: old file is not the one the patch starts from")
	// ErrResultMismatch means every record applied but the output's size or
	// sha256 differs from the header's. The output must be thrown away.
	ErrResultMismatch = errors.New("delta: result does not match the patch header")
	// ErrTooLarge means the header promises a new file larger than the
	// caller allows (ApplyOptions.MaxNewSize), or Diff was given an old
	// file too large for its int32 suffix array.
	ErrTooLarge = errors.New("delta: file too large")
)
