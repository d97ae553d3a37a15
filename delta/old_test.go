package delta

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
)

// countingReaderAt counts the ReadAt calls that reach the file.
type countingReaderAt struct {
	*bytes.Reader
	calls int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	return c.Reader.ReadAt(p, off)
}

// fetchCase is a block's records for fetch, each given as where its add
// bytes start in old, how many, and how many extra bytes follow them.
type fetchCase []recordLens

// want is what fetch must make of c: each record's add bytes copied from
// old, and its extra bytes left as they were (fill).
func (c fetchCase) want(old []byte, fill byte) []byte {
	var out []byte
	for _, l := range c {
		out = append(out, old[l.oldPos:l.oldPos+int64(l.add)]...)
		out = append(out, bytes.Repeat([]byte{fill}, int(l.extra))...)
	}
	return out
}

// TestFetch reads blocks of records from old at positions that are near
// and far, forward and back, longer than a span, ending exactly at the
// file's end, and without add bytes at any position, and checks that each
// record's bytes land in place and the extra bytes between are untouched.
func TestFetch(t *testing.T) {
	for _, size := range []int{1, 100, oldSpan - 1, oldSpan, oldSpan + 1, 3*oldSpan + 17} {
		file := syntheticBinary(size, uint64(size))
		r := &countingReaderAt{Reader: bytes.NewReader(file)}
		w := oldWindow{r: r, size: int64(size)}
		rng := rand.New(rand.NewPCG(uint64(size), 1))
		check := func(c fetchCase) {
			t.Helper()
			want := c.want(file, 0xEE)
			out := bytes.Repeat([]byte{0xEE}, len(want))
			if err := w.fetch(out, c); err != nil {
				t.Fatalf("size %d: fetch(%v): %v", size, c, err)
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("size %d: fetch(%v) made other bytes than the records'", size, c)
			}
		}
		// The tail of the file, ending exactly at its end, alone and after
		// a record the span would join.
		for _, n := range []int{1, min(size, 2), min(size, 122), size} {
			check(fetchCase{{add: uint32(n), oldPos: int64(size - n)}})
			check(fetchCase{{add: 1, extra: 3, oldPos: int64(size - n)}, {add: uint32(n), oldPos: int64(size - n)}})
		}
		for range 500 {
			var c fetchCase
			pos := rng.IntN(size)
			for range rng.IntN(40) + 1 {
				switch rng.IntN(8) {
				case 0: // anywhere
					pos = rng.IntN(size)
				case 1: // a little back
					pos = max(0, pos-rng.IntN(100))
				case 2: // a little on
					pos = min(size-1, pos+rng.IntN(2*oldGap))
				}
				n := min(rng.IntN(64)+1, size-pos)
				switch rng.IntN(10) {
				case 0:
					n = size - pos // long, to the end
				case 1:
					n = 0 // extra bytes only; its position means nothing
				}
				extra := rng.IntN(20)
				if n == 0 {
					extra++
				}
				c = append(c, recordLens{add: uint32(n), extra: uint32(extra), oldPos: int64(pos)})
				pos += n
				if pos == size {
					pos = 0
				}
			}
			check(c)
		}
		// Forward-moving short records, the common case, cost one read of
		// the file per span's worth.
		r.calls = 0
		w.n = 0
		var c fetchCase
		for off := 0; off+8 <= size; off += 16 {
			c = append(c, recordLens{add: 8, extra: 2, oldPos: int64(off)})
		}
		check(c)
		if want := size/(oldSpan-16) + 1; r.calls > want {
			t.Errorf("size %d: records of 8 bytes every 16 made %d reads of the file, want at most %d", size, r.calls, want)
		}
	}
}

// TestFetchShortFile is a file shorter than the header says: a read past
// its end is ErrOldMismatch, in a span or alone.
func TestFetchShortFile(t *testing.T) {
	file := syntheticBinary(1000, 7)
	for _, c := range []fetchCase{
		{{add: 10, oldPos: 995}},                        // alone
		{{add: 2, oldPos: 900}, {add: 10, oldPos: 995}}, // in a span
		{{add: 2000, oldPos: 995}},                      // longer than the file
	} {
		w := oldWindow{r: bytes.NewReader(file), size: 3000}
		err := w.fetch(make([]byte, 3000), c)
		if !errors.Is(err, ErrOldMismatch) {
			t.Errorf("fetch(%v) past the end of a short old file: %v, want ErrOldMismatch", c, err)
		}
	}
}

// farthestReaderAt remembers the farthest byte of old that Apply read.
type farthestReaderAt struct {
	*bytes.Reader
	end int64
}

func (f *farthestReaderAt) ReadAt(p []byte, off int64) (int, error) {
	f.end = max(f.end, off+int64(len(p)))
	return f.Reader.ReadAt(p, off)
}

// TestFarShortMatches: a few dozen bytes of new that match far away in old
// are written as extra bytes, so the applier never reads there (farAdd);
// a match of farAdd bytes or more there is still copied from old.
func TestFarShortMatches(t *testing.T) {
	old := syntheticBinary(2<<20, 9)
	const far = 3 << 19 // 1.5 MiB: far past the applier's window
	for _, c := range []struct {
		n        int
		readsFar bool
	}{{40, false}, {farAdd - 1, false}, {4 * farAdd, true}} {
		snippet := old[far : far+c.n]
		new := append(append(bytes.Clone(old[:100<<10]), snippet...), old[100<<10:200<<10]...)
		patch := diffOf(t, old, new)
		r := &farthestReaderAt{Reader: bytes.NewReader(old)}
		var out bytes.Buffer
		if _, err := Apply(context.Background(), r, bytes.NewReader(patch), &out, &ApplyOptions{TrustOld: true}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), new) {
			t.Fatalf("%d far bytes: Apply made other bytes than new", c.n)
		}
		// The applier reads only spans that records need.
		if readsFar := r.end > far; readsFar != c.readsFar {
			t.Errorf("a match of %d bytes 1.3 MiB from the applier's position: Apply read old up to byte %d; reading there is %v, want %v",
				c.n, r.end, readsFar, c.readsFar)
		}
		t.Logf("%d far bytes: patch %d bytes, old read up to %d", c.n, len(patch), r.end)
	}
}
