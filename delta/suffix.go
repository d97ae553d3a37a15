package delta

// This file builds suffix arrays with SA-IS (Nong, Zhang and Chan, "Two
// Efficient Algorithms for Linear Time Suffix Array Construction", 2009):
// linear time, so a 60 MB binary sorts in seconds where the qsufsort of the
// original bsdiff takes minutes. Indexes are int32, which halves the memory
// of int and limits the text to 2 GiB (DefaultMaxNewSize is the same).
//
// The text has a virtual sentinel after its end, smaller than every symbol,
// so no copy of the text with a sentinel appended is needed.

// maxSuffixText is the longest text suffixArray takes: every index and the
// length must fit an int32.
const maxSuffixText = 1<<31 - 1

// suffixArray returns the suffix array of text: sa[r] is where the suffix of
// rank r starts. len(text) must be at most maxSuffixText.
func suffixArray(text []byte) []int32 {
	sa := make([]int32, len(text))
	sais(text, sa, 256)
	return sa
}

// symbol is a letter of the text: bytes at the top level, int32 names of
// LMS substrings in the recursion.
type symbol interface{ ~byte | ~int32 }

// sais writes the suffix array of t, whose symbols are all below k, into sa.
func sais[T symbol](t []T, sa []int32, k int) {
	n := len(t)
	switch n {
	case 0:
		return
	case 1:
		sa[0] = 0
		return
	}
	// Suffix i is S-type if it is smaller than suffix i+1, L-type if larger.
	// The last suffix is L-type: the sentinel after it is smaller.
	stype := newTypeBits(n)
	for i := n - 2; i >= 0; i-- {
		if t[i] < t[i+1] || (t[i] == t[i+1] && stype.get(i+1)) {
			stype.set(i)
		}
	}
	counts := make([]int32, k)
	for _, c := range t {
		counts[c]++
	}
	bkt := make([]int32, k)

	// 1. Sort the LMS substrings: drop every LMS suffix at the tail of its
	// bucket, in any order, and induce.
	for i := range sa {
		sa[i] = -1
	}
	bucketTails(counts, bkt)
	for i := n - 1; i >= 1; i-- {
		if stype.lms(i) {
			c := t[i]
			bkt[c]--
			sa[bkt[c]] = int32(i)
		}
	}
	induce(t, sa, counts, bkt)

	// 2. Name them: equal LMS substrings get equal names, in sorted order.
	// The sorted LMS positions go to sa[:m]; the name of position p to
	// sa[m+p/2] (no two LMS positions are adjacent, and m <= n/2).
	m := 0
	for i := 0; i < n; i++ {
		if p := int(sa[i]); stype.lms(p) {
			sa[m] = int32(p)
			m++
		}
	}
	for i := m; i < n; i++ {
		sa[i] = -1
	}
	names := 0
	prev := -1
	for i := 0; i < m; i++ {
		p := int(sa[i])
		if prev < 0 || !equalLMS(t, stype, prev, p) {
			names++
		}
		prev = p
		sa[m+p/2] = int32(names - 1)
	}

	// 3. Sort the LMS suffixes: directly if every name is distinct, else by
	// sorting the string of names, one symbol per LMS substring.
	reduced := make([]int32, 0, m)
	for i := m; i < n; i++ {
		if sa[i] >= 0 {
			reduced = append(reduced, sa[i])
		}
	}
	sorted := sa[:m]
	if names < m {
		sais(reduced, sorted, names)
	} else {
		for i, name := range reduced {
			sorted[name] = int32(i)
		}
	}
	lms := reduced // reuse: the LMS positions in text order
	j := 0
	for i := 1; i < n; i++ {
		if stype.lms(i) {
			lms[j] = int32(i)
			j++
		}
	}
	for i := range sorted {
		sorted[i] = lms[sorted[i]]
	}

	// 4. Induce the whole array from the sorted LMS suffixes, dropped at
	// their bucket tails from the largest down. Each lands at or after its
	// own slot in sorted, so moving them in that order overwrites nothing
	// still to be read.
	for i := m; i < n; i++ {
		sa[i] = -1
	}
	bucketTails(counts, bkt)
	for i := m - 1; i >= 0; i-- {
		p := sa[i]
		sa[i] = -1
		c := t[p]
		bkt[c]--
		sa[bkt[c]] = p
	}
	induce(t, sa, counts, bkt)
}

// induce sorts the L-type suffixes from the LMS suffixes in sa, left to
// right, then the S-type suffixes from the L-type ones, right to left.
//
// It reads no type bits: whether j = p-1 is L or S follows from t[j]
// against t[p] (adjacent, so one cache line) and, where they are equal,
// from p's own type, which is where p sits against its bucket's moving
// pointer: in the left-to-right pass the slots before the pointer hold
// the L-type suffixes placed so far, and in the right-to-left pass the
// slots from the pointer on hold the S-type ones. That saves a cache miss
// per suffix, most of the time a text of tens of MB takes here.
func induce[T symbol](t []T, sa []int32, counts, bkt []int32) {
	n := len(t)
	bucketHeads(counts, bkt)
	// The suffix before the sentinel comes first: the sentinel is the
	// smallest suffix, at a virtual sa[-1].
	c := t[n-1]
	sa[bkt[c]] = int32(n - 1)
	bkt[c]++
	for i := 0; i < n; i++ {
		p := sa[i]
		if p <= 0 {
			continue
		}
		cj, cp := t[p-1], t[p]
		if cj > cp || (cj == cp && int32(i) < bkt[cp]) {
			sa[bkt[cj]] = p - 1
			bkt[cj]++
		}
	}
	bucketTails(counts, bkt)
	for i := n - 1; i >= 0; i-- {
		p := sa[i]
		if p <= 0 {
			continue
		}
		cj, cp := t[p-1], t[p]
		if cj < cp || (cj == cp && int32(i) >= bkt[cp]) {
			bkt[cj]--
			sa[bkt[cj]] = p - 1
		}
	}
}

// equalLMS tells whether the LMS substrings at a and b are equal: the same
// symbols and types up to and including the next LMS position. The one that
// runs into the sentinel equals nothing.
func equalLMS[T symbol](t []T, stype typeBits, a, b int) bool {
	n := len(t)
	for d := 0; ; d++ {
		i, j := a+d, b+d
		if i >= n || j >= n || t[i] != t[j] || stype.get(i) != stype.get(j) {
			return false
		}
		if d > 0 && stype.lms(i) {
			return true // and j is LMS too: same types at d-1 and d
		}
	}
}

func bucketHeads(counts, bkt []int32) {
	var sum int32
	for c, n := range counts {
		bkt[c] = sum
		sum += n
	}
}

func bucketTails(counts, bkt []int32) {
	var sum int32
	for c, n := range counts {
		sum += n
		bkt[c] = sum
	}
}

// typeBits is the S/L type of every suffix, one bit each.
type typeBits []uint64

func newTypeBits(n int) typeBits  { return make(typeBits, (n+63)/64) }
func (b typeBits) set(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b typeBits) get(i int) bool { return b[i>>6]&(1<<(i&63)) != 0 }
func (b typeBits) lms(i int) bool { return i > 0 && b.get(i) && !b.get(i-1) }
