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

// TestOldWindowReads reads the old file through the window at offsets and
// lengths that hit, miss, straddle its edge, end exactly at the file's end
// and exceed the buffer, and checks each against the file.
func TestOldWindowReads(t *testing.T) {
	for _, size := range []int{1, 100, oldBuf - 1, oldBuf, oldBuf + 1, 3*oldBuf + 17} {
		file := syntheticBinary(size, uint64(size))
		r := &countingReaderAt{Reader: bytes.NewReader(file)}
		w := oldWindow{r: r, size: int64(size)}
		rng := rand.New(rand.NewPCG(uint64(size), 1))
		check := func(off, n int) {
			t.Helper()
			p := make([]byte, n)
			if err := w.readAt(p, int64(off)); err != nil {
				t.Fatalf("size %d: readAt(%d bytes at %d): %v", size, n, off, err)
			}
			if !bytes.Equal(p, file[off:off+n]) {
				t.Fatalf("size %d: readAt(%d bytes at %d) read other bytes than the file's", size, n, off)
			}
		}
		// The tail of the file, ending exactly at its end, from a
		// position where the buffer would reach past it.
		for _, n := range []int{1, min(size, 2), min(size, 122), size} {
			check(size-n, n)
		}
		for range 2000 {
			off := rng.IntN(size)
			n := rng.IntN(size-off) + 1
			if rng.IntN(4) > 0 { // mostly short reads, as records are
				n = min(n, rng.IntN(64)+1)
			}
			check(off, n)
		}
		// Forward-moving short reads, the common case, cost one call per
		// buffer's worth.
		r.calls = 0
		w.n = 0
		for off := 0; off+8 <= size; off += 16 {
			check(off, 8)
		}
		if want := size/oldBuf + 1; r.calls > want {
			t.Errorf("size %d: forward reads of 8 bytes every 16 made %d reads of the file, want at most %d", size, r.calls, want)
		}
	}
}

// TestOldWindowShortFile is a file shorter than the header says: a read
// past its end is ErrOldMismatch, through the buffer or not.
func TestOldWindowShortFile(t *testing.T) {
	file := syntheticBinary(1000, 7)
	// 10 bytes fill the buffer; 2000 are more than it holds and go
	// straight to the file.
	for _, n := range []int{10, 2000} {
		w := oldWindow{r: bytes.NewReader(file), size: 3000, buf: make([]byte, 100)}
		err := w.readAt(make([]byte, n), 995)
		if !errors.Is(err, ErrOldMismatch) {
			t.Errorf("reading %d bytes past the end of a short old file: %v, want ErrOldMismatch", n, err)
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
		// The applier's window may read up to oldBuf past what it needs.
		if readsFar := r.end > far; readsFar != c.readsFar {
			t.Errorf("a match of %d bytes 1.3 MiB from the applier's position: Apply read old up to byte %d; reading there is %v, want %v",
				c.n, r.end, readsFar, c.readsFar)
		}
		t.Logf("%d far bytes: patch %d bytes, old read up to %d", c.n, len(patch), r.end)
	}
}
