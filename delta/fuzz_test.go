package delta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// fuzzOld and fuzzNew are the pair every FuzzApply input is applied to:
// small, so that the fuzzer spends its time in the decoder and the checks.
var (
	fuzzOld = syntheticBinary(8<<10, 21)
	fuzzNew = edit(fuzzOld, 12, 22)
)

// FuzzApply feeds Apply arbitrary patches for fuzzOld. It must never panic,
// never write more than the header's new size, fail only with the
// package's errors, and succeed only with an output whose size and digest
// are the header's, and which is fuzzNew whenever the header promises it.
func FuzzApply(f *testing.F) {
	for _, p := range [][2][]byte{{fuzzOld, fuzzNew}, {fuzzOld, fuzzOld}, {fuzzOld, nil}, {fuzzOld, fuzzNew[:100]}} {
		var patch bytes.Buffer
		if err := Diff(p[0], p[1], &patch, nil); err != nil {
			f.Fatal(err)
		}
		f.Add(patch.Bytes(), false)
		f.Add(patch.Bytes(), true)
	}
	h := headerFor(fuzzOld, fuzzNew)
	f.Add(makePatch(f, h, rawBlock(1, []ctl{{-1, 10, 0}}, make([]byte, 10))), true)
	f.Add(makePatch(f, h, rawBlock(2, []ctl{{8000, 200, 0}, {0, 0, 5}}, append(appendRuns(nil, make([]byte, 200)), 1, 2, 3, 4, 5))), true)
	f.Add(makePatch(f, h, rawBlock(1, []ctl{{0, 1 << 40, 0}}, nil)), false)
	wantHash := sha256.Sum256(fuzzNew)
	f.Fuzz(func(t *testing.T, patch []byte, trustOld bool) {
		out, err := apply(t, fuzzOld, patch, &ApplyOptions{MaxNewSize: 1 << 20, TrustOld: trustOld})
		if err != nil {
			if !typed(err) {
				t.Fatalf("Apply: %v: not one of the package's errors", err)
			}
			return
		}
		h, herr := ReadHeader(bytes.NewReader(patch))
		if herr != nil {
			t.Fatalf("Apply succeeded on a patch whose header ReadHeader refuses: %v", herr)
		}
		if int64(len(out)) != h.NewSize || sha256.Sum256(out) != h.NewHash {
			t.Fatalf("Apply succeeded with %d bytes that are not the header's %d bytes %x", len(out), h.NewSize, h.NewHash)
		}
		if h.NewHash == wantHash && !bytes.Equal(out, fuzzNew) {
			t.Fatal("Apply succeeded with an output that is not fuzzNew, under fuzzNew's digest")
		}
	})
}

// FuzzApplyBody is FuzzApply past the header's checksum and zstd's: the
// fuzzer writes the decoded body, the blocks and records themselves, and
// the size the header promises (its top two bits pick the format version,
// 1 to Version).
// The same rules hold.
func FuzzApplyBody(f *testing.F) {
	for _, p := range [][2][]byte{{fuzzOld, fuzzNew}, {fuzzOld, fuzzNew[:3000]}, {nil, fuzzNew[:50]}} {
		var patch bytes.Buffer
		if err := Diff(p[0], p[1], &patch, nil); err != nil {
			f.Fatal(err)
		}
		dec, err := zstd.NewReader(bytes.NewReader(patch.Bytes()[HeaderSize:]))
		if err != nil {
			f.Fatal(err)
		}
		body, err := io.ReadAll(dec)
		dec.Close()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, uint32(len(p[1]))|(Version-1)<<30, false)
	}
	v3 := uint32(Version-1) << 30
	f.Add(rawBlock(2, []ctl{{7000, 200, 0}, {0, 0, 5}}, append(appendRuns(nil, make([]byte, 200)), 1, 2, 3, 4, 5)), 205|v3, true)
	f.Add(rawBlock(1, []ctl{{-5, 1, 1}}, make([]byte, 2)), 2|v3, true)
	// Blocks in each mode, over old bytes full of the opcodes the code
	// mode looks for, with differences that are not zero.
	for m := range modes {
		runs := appendRuns(nil, bytes.Repeat([]byte{1, 0, 0, 0, 0, 2, 0xE8}, 40))
		f.Add(rawBlockIn(m, 1, []ctl{{100, 280, 0}}, runs), 280|v3, false)
	}
	wantHash := sha256.Sum256(fuzzNew)
	f.Fuzz(func(t *testing.T, body []byte, newSize uint32, trustOld bool) {
		h := headerFor(fuzzOld, fuzzNew)
		h.Version = 1 + int(newSize>>30)%Version // every version's difference rules
		h.NewSize = int64(newSize % (4 * BlockSize))
		if h.NewSize != int64(len(fuzzNew)) {
			h.NewHash = sha256.Sum256(nil)
		}
		out, err := apply(t, fuzzOld, rawFrame(t, h, body), &ApplyOptions{TrustOld: trustOld})
		if err != nil {
			if !typed(err) {
				t.Fatalf("Apply: %v: not one of the package's errors", err)
			}
			return
		}
		if int64(len(out)) != h.NewSize || sha256.Sum256(out) != h.NewHash {
			t.Fatalf("Apply succeeded with %d bytes that are not the header's %d bytes %x", len(out), h.NewSize, h.NewHash)
		}
		if h.NewHash == wantHash && !bytes.Equal(out, fuzzNew) {
			t.Fatal("Apply succeeded with an output that is not fuzzNew, under fuzzNew's digest")
		}
	})
}

// rawFrame puts body after the header in a zstd frame of raw (stored)
// blocks and no checksum: no compressing at every run, and no checksum for
// the fuzzer to get past.
func rawFrame(t testing.TB, h Header, body []byte) []byte {
	b, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Magic, then a descriptor byte with no flags and a 1 MiB window.
	b = append(b, 0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x50)
	for {
		n := min(len(body), 128<<10)
		last := 0
		if n == len(body) {
			last = 1
		}
		hdr := uint32(n)<<3 | uint32(last) // block type 0: raw
		b = append(b, byte(hdr), byte(hdr>>8), byte(hdr>>16))
		b = append(b, body[:n]...)
		body = body[n:]
		if last == 1 {
			return b
		}
	}
}

// FuzzReadHeader feeds ReadHeader arbitrary bytes. It must never panic,
// fail only with the package's errors, and accept only a header that
// encodes back to the same bytes.
func FuzzReadHeader(f *testing.F) {
	hb, _ := headerFor(fuzzOld, fuzzNew).MarshalBinary()
	f.Add(hb)
	f.Add(hb[:10])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHeader(bytes.NewReader(b))
		if err != nil {
			if !typed(err) {
				t.Fatalf("ReadHeader: %v: not one of the package's errors", err)
			}
			return
		}
		again, err := h.MarshalBinary()
		if err != nil || !bytes.Equal(again, b[:HeaderSize]) {
			t.Fatalf("header %v encodes back to %x, read from %x (%v)", h, again, b[:HeaderSize], err)
		}
		if _, err := Apply(context.Background(), bytes.NewReader(nil), bytes.NewReader(b), &boundedWriter{t: t, max: h.NewSize}, &ApplyOptions{MaxNewSize: 1 << 20}); err != nil && !typed(err) {
			t.Fatalf("Apply on that header: %v: not one of the package's errors", err)
		}
	})
}
