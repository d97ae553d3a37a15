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
// # Format, version 3
//
// A patch is a fixed header of HeaderSize (96) bytes, then a body.
// Integers in the header are big-endian:
//
//	offset  size  field
//	 0       8    magic "MOLTDIFF"
//	 8       2    format version: 3 (1 and 2 are still read, see below)
//	10       2    flags: 0 (versions 1 to 3 define none)
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
//	block   = uvarint(4n+mode) control×n diff extra
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
// binaries, about 5% smaller than records interleaved one by one, and
// within 0.5% of three whole streams compressed apart (measured on
// pkgserver at adjacent commits: 722.8 kB against 726.6 kB). Writing
// the differences as runs of zeros and literals saves another 3% on
// versitygw 1.7 -> 1.8 and 28% on a pkgserver build whose code moved
// little: the pure-Go zstd encoder spends much more on a sparse stream of
// changed bytes than on the same changes counted out.
//
// Words are version 2's one change. What differs between two builds of a
// Go program that match well is mostly pointers and offsets in tables,
// many of which moved by the same amount. As bytes, a
// carry from the low byte into the next makes their differences vary from
// one pointer to the next; as words they repeat exactly, and zstd takes
// repeats for almost nothing. On pkgserver at adjacent commits (28.5 MB)
// words alone make the difference runs compress 24% smaller, and the patch
// 23% smaller than version 1's (1.96% of the new file, where bsdiff makes
// 2.01%). 64-bit words did slightly better than 32-bit ones (508 against
// 513 kB of runs); 16-bit ones were worse (549 kB). But where code changed
// byte by byte a word's borrow spreads one changed byte over those above
// it: on versitygw 1.7 -> 1.8 words everywhere made the patch 1.2% larger.
// So each block says which it holds, and Diff picks by compressing the
// block's runs both ways: against version 1, pkgserver's patch is 22%
// smaller (2.55% -> 1.98% of the new file) and versitygw's 1.3% (12.22%
// -> 12.06%).
//
// Guesses are version 3's change. Most of what still differed were the
// rel32 fields of code (calls, and addresses of data relative to the
// instruction) and Go's tables of 32-bit offsets: on pkgserver at adjacent
// commits, 573,000 changed bytes in .text, 713,000 in .gopclntab and
// 374,000 in .rodata. A function that moved takes all calls to it along;
// a string that grew moves every offset past it. Once one field has shown
// how far its stretch of targets moved, the next fields into that stretch
// are guessed right and cost a difference of zero. Code's differences
// went from 272 kB (as words) to 11 kB, and the whole patch from 565 kB
// (1.98%) to 240 kB (0.84%). The guess works on the old bytes and the two
// offsets alone, which Apply has, so it adds two 256 KiB tables to its
// memory, and Apply holds a block's differences apart (one more BlockSize)
// instead of adding them in place. Any bytes may be taken for an
// instruction; a wrong take only costs a bad guess, and Diff keeps the
// mode that compresses smallest, block by block. The code mode knows
// x86-64 only (in ELF, PE or Mach-O alike); arm64's branch and address
// fields are bit fields inside 32-bit instructions, not guessed yet: on
// arm64 Diff chooses among the other three modes (not measured here).
//
// Diff writes a short match far from the applier's place in the old file
// as extra bytes (under 128 bytes, more than 16 KiB away): such matches
// of a few bytes, found anywhere in old, were three quarters of the
// records on versitygw 1.7 -> 1.8 and each cost the applier a read of old
// of its own, yet as extra bytes they compress as well (the patch got 7%
// smaller). That is a choice of Diff's; the format is the same.
//
// Apply works in four goroutines, each on its own block: one decodes
// the patch's body (zstd, the controls, the difference runs, the extra
// bytes); one reads the records' old bytes, a span of nearby records at a
// time (up to 64 KiB, records under 16 KiB apart), and adds the
// differences in the block's mode; one writes while the last hashes.
// Decoding and finishing in one goroutine left the writer idle: on two
// cores the stages apply versitygw 1.7 -> 1.8 about 1.5 times as fast.
// Diff ends its blocks at 256 KiB, so that four are in flight in the
// memory two blocks of BlockSize took. That is a choice of Diff's; the
// format is the same, and patches of larger blocks still apply.
//
// zstd replaces bzip2 because it decodes fast in pure Go with a bounded
// window. The old file is hashed in the header, not trusted by name: a
// patch applied to any other file is refused with [ErrOldMismatch] before
// a byte is written.
package delta
