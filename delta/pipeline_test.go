package delta

import (
	"math/rand/v2"
	"testing"
)

// TestPool lends buffers for blocks of random sizes, as Apply's decoder
// does, while another goroutine gives them back in order, as the stages
// after it do. Every buffer must be large enough, and the pool must never
// hold more than inFlight buffers or poolBudget bytes.
func TestPool(t *testing.T) {
	for _, most := range []int{100, diffBlockSize, BlockSize} {
		p := newPool(most, func(b []byte) int { return cap(b) }, func(n int) []byte { return make([]byte, n) })
		rng := rand.New(rand.NewPCG(1, uint64(most)))
		lent := make(chan []byte, inFlight)
		go func() {
			for b := range lent {
				p.put(b)
			}
		}()
		sizes := map[int]bool{}
		for range 2000 {
			n := rng.IntN(most + 1)
			if rng.IntN(2) == 0 {
				n = min(diffBlockSize, most) // most blocks are cut at diffBlockSize
			}
			b := p.get(n)
			if cap(b) < n || len(b) < n {
				t.Fatalf("get(%d) gave a buffer of %d (cap %d)", n, len(b), cap(b))
			}
			if cap(b) > most {
				t.Fatalf("get(%d) made a buffer of %d, past the most a block makes (%d)", n, cap(b), most)
			}
			if p.made > inFlight || p.bytes > poolBudget {
				t.Fatalf("the pool holds %d buffers of %d bytes, the limits are %d and %d", p.made, p.bytes, inFlight, poolBudget)
			}
			sizes[cap(b)] = true
			lent <- b
		}
		close(lent)
		t.Logf("blocks of at most %d bytes: buffers of %d sizes", most, len(sizes))
	}
}

// TestPoolRounds checks that a pool given blocks of diffBlockSize keeps
// inFlight buffers of that size and no more, and one given blocks of
// BlockSize keeps two: what poolBudget is for.
func TestPoolRounds(t *testing.T) {
	for _, c := range []struct{ block, want int }{{diffBlockSize, inFlight}, {diffBlockSize - 1000, inFlight}, {BlockSize, poolBudget / BlockSize}} {
		p := newPool(BlockSize, func(b []byte) int { return cap(b) }, func(n int) []byte { return make([]byte, n) })
		var lent [][]byte
		for range 20 {
			// Take while a new one may be made; then give back the oldest.
			if p.made == c.want && len(lent) == c.want {
				p.put(lent[0])
				lent = lent[1:]
			}
			lent = append(lent, p.get(c.block))
		}
		if p.made != c.want {
			t.Errorf("blocks of %d bytes: the pool made %d buffers, want %d", c.block, p.made, c.want)
		}
	}
}
