package delta

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	bin := syntheticBinary(1<<20, 1)
	r := random(200 << 10)
	cases := []struct {
		name     string
		old, new []byte
		maxPatch int // the patch must not be larger: it shows matching works
	}{
		{"both empty", nil, nil, HeaderSize + 64},
		{"empty old", nil, r[:5000], HeaderSize + 5200},
		{"empty new", r[:5000], nil, HeaderSize + 64},
		{"one byte", []byte{1}, []byte{2}, HeaderSize + 64},
		{"identical", bin, bin, HeaderSize + 200},
		{"random unrelated", random(100 << 10), r[:100<<10], HeaderSize + 101<<10},
		{"random edited", r, edit(r, 50, 2), 20 << 10},
		{"binary edited", bin, edit(bin, 200, 3), 40 << 10},
		{"shifted", bin, append(append(bytes.Clone(bin[:300<<10]), r[:4096]...), bin[300<<10:]...), 5 << 10},
		{"cut from the middle", bin, append(bytes.Clone(bin[:300<<10]), bin[310<<10:]...), 1 << 10},
		{"grown", bin[:512<<10], bin, 600 << 10},
		{"shrunk", bin, bin[256<<10 : 768<<10], 1 << 10},
		{"zeros to zeros", make([]byte, 1<<20), make([]byte, 1<<20+777), 1 << 10},
		{"zeros shifted", append(make([]byte, 3), bytes.Repeat([]byte{0, 1}, 1<<19)...), bytes.Repeat([]byte{0, 1}, 1<<19+5), 1 << 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			patch := roundTrip(t, c.old, c.new)
			t.Logf("%d -> %d bytes: patch %d bytes", len(c.old), len(c.new), len(patch))
			if len(patch) > c.maxPatch {
				t.Errorf("patch is %d bytes, want at most %d", len(patch), c.maxPatch)
			}
		})
	}
}

// TestDifferencesReused makes each block's changed bytes reach a different
// way into it, and some blocks hold fewer add bytes than others (new bytes
// inserted), so that Apply's difference buffers, going round, come back
// with literals where the next block has zeros: readRuns must clear
// those, and only those are left to clear.
func TestDifferencesReused(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const blocks = 3 * inFlight
	old := make([]byte, blocks*diffBlockSize)
	for i := range old {
		old[i] = byte(rng.Uint32())
	}
	var new []byte
	for b := range blocks {
		part := bytes.Clone(old[b*diffBlockSize : (b+1)*diffBlockSize])
		// Changed bytes every 64 on average over a random share of the
		// block, sparse enough to stay one matched record.
		reach := rng.IntN(len(part))
		for i := rng.IntN(64); i < reach; i += 1 + rng.IntN(127) {
			part[i]++
		}
		if b%3 == 1 {
			ins := make([]byte, 1+rng.IntN(diffBlockSize/2))
			for i := range ins {
				ins[i] = byte(rng.Uint32())
			}
			part = append(part[:len(part)/2], append(ins, part[len(part)/2:]...)...)
		}
		new = append(new, part...)
	}
	roundTrip(t, old, new)
}
