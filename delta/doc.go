// Package delta makes and applies binary patches between two versions of a
// file, made for Go executables: a release ships as kilobytes instead of
// megabytes, and the client applies it in constant memory.
//
// The publisher calls [Diff] (or [DiffFiles]) with both versions in memory.
// The client calls [Apply] with the installed file as an io.ReaderAt, the
// patch as a stream and a sequential writer for the new file, and keeps
// the result only if Apply returns nil: Apply checks the old file against
// the header first, and the output's size and sha256 at the end.
//
// # Format, version 1
//
// A patch is a fixed header of HeaderSize (96) bytes, then a body.
// Integers in the header are big-endian:
//
//	offset  size  field
//	 0       8    magic "MOLTDIFF"
//	 8       2    format version: 1
//	10       2    flags: 0 (version 1 defines none)
//	12       8    old size
//	20      32    sha256 of the old file
//	52       8    new size
//	60      32    sha256 of the new file
//	92       4    CRC-32C (Castagnoli) of bytes 0 to 91
//
// The body is one zstd stream (frames with content checksums, window at
// most [Window]) that decodes to blocks, back to back. Varints are those
// of encoding/binary: uvarint for counts and lengths, zigzag varint for
// seeks.
//
//	block   = uvarint(n) control×n diff extra
//	control = varint(seek) uvarint(add) uvarint(extra)
//	diff    = run… : the add bytes' differences, all the block's records
//	          one after another, as runs
//	run     = uvarint(zeros) uvarint(k) k literal bytes
//	extra   = the extra bytes of the block's records, one after another
//
// The applier keeps a position in the old file, starting at 0. For each
// record in turn, the position moves by seek; the next add output bytes
// are the old bytes from the position on, each plus (mod 256) its
// difference, and the position moves past them; the next extra output
// bytes are the record's bytes of extra, as they are. A block's output is
// thus its records' add and extra runs in order. In diff, a run stands for
// zeros differences of 0 followed by k differences given literally.
//
// Every rule is checked, and a patch that breaks one is refused with
// [ErrCorrupt]: 1 <= n <= [MaxBlockRecords]; no record is empty (add+extra
// >= 1) and no run either (zeros+k >= 1); the position stays within the
// old file and every add run inside it; the runs cover the block's add
// bytes exactly; a block makes at most [BlockSize] bytes and never more
// than are left of the header's new size; the stream ends right after the
// block that completes it, and nothing follows.
//
// # Why this shape
//
// The records are bsdiff's (Colin Percival, 2003): executables change by
// shifting code, which changes the offsets embedded in it. A match that
// tolerates those changes leaves difference bytes that are mostly zero and
// compress to almost nothing. bsdiff stores controls, differences and extra
// bytes as three separately compressed streams, so its applier must read
// three places of the patch at once. Here each block holds its own three
// sections, all in one stream: the applier reads the patch once, front to
// back, writes the output once, front to back, and holds one block
// (BlockSize) and one zstd window (Window) whatever the file sizes. Grouping
// the sections per block keeps most of what separate streams buy: on Go
// binaries, about 5% smaller than records interleaved one by one. Writing
// the differences as runs of zeros and literals saves another 3% on
// versitygw 1.7 -> 1.8 and 28% on a pkgserver build whose code moved
// little: the pure-Go zstd encoder spends much more on a sparse stream of
// changed bytes than on the same changes counted out.
//
// zstd replaces bzip2 because it decodes fast in pure Go with a bounded
// window. The old file is hashed in the header, not trusted by name: a
// patch applied to any other file is refused with [ErrOldMismatch] before
// a byte is written.
package delta
