package delta

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// Magic opens every patch. It is not a version: Version is the field after it.
const Magic = "MOLTDIFF"

// Version is the format version this package writes. It reads this one
// and versions 1 and 2, which differ only in how difference bytes are
// added (see the package doc): clients built before version 3 refuse its
// patches with ErrVersion and take the full download.
const Version = 3

// minVersion is the oldest format version this package reads.
const minVersion = 1

// HeaderSize is the length of the fixed header that starts a patch.
const HeaderSize = 96

// Window is the zstd window the body is compressed with, and the largest
// window Apply accepts. The decoder keeps one window of history, so this is
// a large part of Apply's memory. On versitygw 1.7 -> 1.8 (61 MB) each
// doubling past 1 MiB bought under 0.2% of patch size: the records follow
// the new file in order, so what zstd can still reuse is mostly near, and
// the old file's far matches are taken by the seeks already.
const Window = 1 << 20

// BlockSize is the most output one block of records may make. Apply holds
// a few blocks of output and of their differences in flight, so these are
// its other large buffers. Diff cuts its blocks smaller (diffBlockSize);
// patches it made with blocks of BlockSize still apply, in the same
// memory. On versitygw 1.7 -> 1.8, 64 KiB blocks made 3% larger patches
// than 1 MiB, and 4 MiB blocks 1% smaller ones for three times the memory.
const BlockSize = 1 << 20

// MaxBlockRecords is the most records one block may hold. Apply keeps the
// two lengths and the old position of each record of a block (16 bytes),
// so this bounds that table at 256 KiB. Go binaries average about 5000 records per MiB; dense
// regions go higher and then just get shorter blocks.
const MaxBlockRecords = 1 << 14

// DefaultMaxNewSize is the largest new file Apply makes unless
// ApplyOptions.MaxNewSize says otherwise. The largest Go binaries in the
// wild are a few hundred MiB; 2 GiB leaves room for those and stops a
// hostile header from filling the disk. It is also the limit of Diff's
// int32 suffix array.
const DefaultMaxNewSize = 2 << 30

// castagnoli is the CRC-32C table for the header checksum. The checksum
// tells a flipped bit in the header (ErrCorrupt) from a patch made for
// another old file (ErrOldMismatch).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is the fixed start of a patch: which old file it applies to and
// which new file it makes.
type Header struct {
	Version int      // format version; Version for what this package writes
	OldSize int64    // size of the old file the patch starts from
	OldHash [32]byte // sha256 of that old file
	NewSize int64    // size of the file the patch makes
	NewHash [32]byte // sha256 of that file
}

// String gives the header in one line, digests shortened, for logs.
func (h Header) String() string {
	return fmt.Sprintf("molt delta v%d: %d bytes (%x…) -> %d bytes (%x…)", h.Version, h.OldSize, h.OldHash[:6], h.NewSize, h.NewHash[:6])
}

// MarshalBinary encodes h as the HeaderSize bytes that start a patch.
func (h Header) MarshalBinary() ([]byte, error) {
	if h.OldSize < 0 || h.NewSize < 0 {
		return nil, fmt.Errorf("delta: negative size in header %v", h)
	}
	b := make([]byte, 0, HeaderSize)
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint16(b, uint16(h.Version))
	b = binary.BigEndian.AppendUint16(b, 0) // flags: none defined in versions 1 to 3
	b = binary.BigEndian.AppendUint64(b, uint64(h.OldSize))
	b = append(b, h.OldHash[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.NewSize))
	b = append(b, h.NewHash[:]...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return b, nil
}

// ReadHeader reads and checks the HeaderSize bytes that start a patch,
// leaving r at the start of the compressed body. It fails with ErrCorrupt
// for a short read, a wrong magic, a bad checksum or an impossible size,
// and with ErrVersion for a version or flag it does not know.
func ReadHeader(r io.Reader) (Header, error) {
	var b [HeaderSize]byte
	if n, err := io.ReadFull(r, b[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Header{}, fmt.Errorf("%w: header is %d bytes, want %d", ErrCorrupt, n, HeaderSize)
		}
		return Header{}, fmt.Errorf("delta: reading header: %w", err)
	}
	if !bytes.Equal(b[:8], []byte(Magic)) {
		return Header{}, fmt.Errorf("%w: magic %q, want %q: not a molt delta", ErrCorrupt, b[:8], Magic)
	}
	// The version is read before the checksum: a later version may lay out
	// (and checksum) its header differently, and should get ErrVersion.
	v := binary.BigEndian.Uint16(b[8:])
	if v < minVersion || v > Version {
		return Header{}, fmt.Errorf("%w: version %d, this package reads %d to %d", ErrVersion, v, minVersion, Version)
	}
	if got, want := crc32.Checksum(b[:92], castagnoli), binary.BigEndian.Uint32(b[92:]); got != want {
		return Header{}, fmt.Errorf("%w: header checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	if f := binary.BigEndian.Uint16(b[10:]); f != 0 {
		return Header{}, fmt.Errorf("%w: flags %#04x, version %d defines none", ErrVersion, f, v)
	}
	h := Header{Version: int(v)}
	oldSize, newSize := binary.BigEndian.Uint64(b[12:]), binary.BigEndian.Uint64(b[52:])
	// 2^62 leaves every size and offset sum room in an int64; no file
	// comes near it, and a header that says so is broken, not just large
	// (ApplyOptions.MaxNewSize is the limit for large).
	if oldSize > 1<<62 || newSize > 1<<62 {
		return Header{}, fmt.Errorf("%w: impossible sizes %d -> %d", ErrCorrupt, oldSize, newSize)
	}
	h.OldSize, h.NewSize = int64(oldSize), int64(newSize)
	copy(h.OldHash[:], b[20:52])
	copy(h.NewHash[:], b[60:92])
	return h, nil
}
