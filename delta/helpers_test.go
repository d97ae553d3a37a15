package delta

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"testing"
)

// syntheticBinary makes n bytes that look like an executable to a
// compressor and to bsdiff: instructions drawn from a small vocabulary with
// 32-bit offsets in them, runs of text, zero padding, some noise.
func syntheticBinary(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	vocab := make([][]byte, 512)
	for i := range vocab {
		vocab[i] = make([]byte, 1+rng.IntN(7))
		for j := range vocab[i] {
			vocab[i][j] = byte(rng.Uint32())
		}
	}
	words := []string{"runtime.", "main.", "error", "update", "delta", "http", "func", "type", ".go", "sync", "Mutex", "reflect"}
	b := make([]byte, 0, n+64)
	for len(b) < n {
		switch k := rng.IntN(100); {
		case k < 80:
			for i := 0; i < 16; i++ {
				b = append(b, vocab[int(rng.ExpFloat64()*40)%len(vocab)]...)
				if rng.IntN(4) == 0 {
					b = binary.LittleEndian.AppendUint32(b, uint32(rng.IntN(1<<20)))
				}
			}
		case k < 92:
			for i := 0; i < 8; i++ {
				b = append(b, words[rng.IntN(len(words))]...)
			}
		case k < 97:
			b = append(b, make([]byte, rng.IntN(256))...)
		default:
			for i := 0; i < 32; i++ {
				b = append(b, byte(rng.Uint32()))
			}
		}
	}
	return b[:n]
}

// edit returns a copy of old with the changes a new version of a binary
// has: some bytes changed in place (offsets that moved), some ranges
// inserted or deleted (code added and removed) so that what follows shifts.
// The edits go in one pass from front to back, so 64 MiB takes no longer
// than copying it.
func edit(old []byte, edits int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	at := make([]int, edits)
	for i := range at {
		at[i] = rng.IntN(len(old) + 1)
	}
	slices.Sort(at)
	b := make([]byte, 0, len(old)+edits*100)
	next := 0 // old[:next] is done
	for _, p := range at {
		if p < next {
			continue // inside the range the last edit deleted
		}
		b = append(b, old[next:p]...)
		next = p
		switch rng.IntN(3) {
		case 0: // change a few bytes in place
			for range min(1+rng.IntN(8), len(old)-next) {
				b = append(b, old[next]^byte(1+rng.IntN(255)))
				next++
			}
		case 1: // insert
			for range 1 + rng.IntN(200) {
				b = append(b, byte(rng.Uint32()))
			}
		default: // delete
			next = min(next+1+rng.IntN(200), len(old))
		}
	}
	return append(b, old[next:]...)
}

// roundTrip diffs old against new, applies the patch to old, checks the
// result is new and returns the patch. It does the same with a version 1
// patch, which clients must still apply.
func roundTrip(t *testing.T, old, new []byte) []byte {
	t.Helper()
	var v1 bytes.Buffer
	if err := diff(context.Background(), old, new, &v1, nil, layout{1, BlockSize}); err != nil {
		t.Fatalf("diff, version 1: %v", err)
	}
	roundTripPatch(t, old, new, v1.Bytes())
	patch := diffOf(t, old, new)
	roundTripPatch(t, old, new, patch)
	return patch
}

// roundTripPatch applies patch to old and checks the result is new.
func roundTripPatch(t *testing.T, old, new, patch []byte) {
	t.Helper()
	var out bytes.Buffer
	st, err := Apply(context.Background(), bytes.NewReader(old), bytes.NewReader(patch), &out, nil)
	if err != nil {
		t.Fatalf("Apply of a version %d patch: %v", patch[9], err)
	}
	if !bytes.Equal(out.Bytes(), new) {
		t.Fatalf("Apply made %d bytes that differ from the %d bytes of new", out.Len(), len(new))
	}
	if st.Copied+st.Extra != int64(len(new)) || st.Header.NewSize != int64(len(new)) {
		t.Fatalf("stats %+v do not add up to %d bytes", st, len(new))
	}
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// diffOf is Diff's patch from old to new.
func diffOf(t *testing.T, old, new []byte) []byte {
	t.Helper()
	var patch bytes.Buffer
	if err := Diff(old, new, &patch, nil); err != nil {
		t.Fatalf("Diff: %v", err)
	}
	return patch.Bytes()
}
