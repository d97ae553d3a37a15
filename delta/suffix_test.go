package delta

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveSuffixArray sorts the suffixes by comparing them: slow, obviously right.
func naiveSuffixArray(text []byte) []int32 {
	sa := make([]int32, len(text))
	for i := range sa {
		sa[i] = int32(i)
	}
	slices.SortFunc(sa, func(a, b int32) int { return bytes.Compare(text[a:], text[b:]) })
	return sa
}

func TestSuffixArrayMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	texts := [][]byte{
		nil, []byte("a"), []byte("aa"), []byte("ab"), []byte("ba"),
		[]byte("banana"), []byte("mississippi"), []byte("abracadabra"),
		bytes.Repeat([]byte("a"), 1000), bytes.Repeat([]byte("ab"), 500),
		bytes.Repeat([]byte("abcab"), 300), bytes.Repeat([]byte{0}, 77),
		[]byte{255, 0, 255, 0, 255}, []byte{0, 255, 255, 0, 0, 255},
	}
	for i := 0; i < 300; i++ {
		n := rng.IntN(600)
		alpha := 1 + rng.IntN(4)
		if i%10 == 0 {
			alpha = 256
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.IntN(alpha))
		}
		texts = append(texts, b)
	}
	for _, text := range texts {
		got, want := suffixArray(text), naiveSuffixArray(text)
		if !slices.Equal(got, want) {
			t.Fatalf("suffixArray(%q) = %v, want %v", text, got, want)
		}
	}
}

// TestSuffixArrayLarge checks the whole array of a binary-like text big
// enough to recurse several levels.
func TestSuffixArrayLarge(t *testing.T) {
	text := syntheticBinary(4<<20, 7)
	if testing.Short() {
		text = text[:256<<10]
	}
	sa := suffixArray(text)
	seen := make([]bool, len(text))
	for r, p := range sa {
		if seen[p] {
			t.Fatalf("suffix %d appears twice", p)
		}
		seen[p] = true
		if r > 0 && bytes.Compare(text[sa[r-1]:], text[p:]) >= 0 {
			t.Fatalf("ranks %d and %d out of order", r-1, r)
		}
	}
}
